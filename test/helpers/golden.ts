// Golden files: the real renderer's output compared byte for byte with files under test/golden.
// Regenerate with UPDATE_GOLDEN=1 after an intended change, then review the diff.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/render/artifact.js';

const update = process.env.UPDATE_GOLDEN === '1';

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? listFiles(p, `${prefix}${f}/`) : [`${prefix}${f}`];
  });
}

/** One `describe` per case: the golden folder holds exactly the rendered files, each identical. */
export function describeGoldenFiles(goldenRoot: string, cases: ReadonlyArray<readonly [name: string, render: () => Artifact[]]>): void {
  describe.each(cases.map(([name, render]) => [name, render] as const))('golden files: %s', (name, render) => {
    const artifacts = render();
    const dir = path.join(goldenRoot, name);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const a of artifacts) {
        mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
        writeFileSync(path.join(dir, a.path), a.content);
      }
    }

    it('has exactly the rendered files', () => {
      expect(listFiles(dir).sort()).toEqual(artifacts.map((a) => a.path).sort());
    });

    it.each(artifacts.map((a) => [a.path, a] as const))('%s matches', (_p, a) => {
      expect(a.content).toBe(readFileSync(path.join(dir, a.path), 'utf8'));
    });
  });
}
