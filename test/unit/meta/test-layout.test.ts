// Every test file runs in exactly one vitest project, chosen by its folder (vitest.config.ts):
// a test file anywhere else (an old test/integration/ path after a merge, a typo) would never
// run, and nothing else would say so.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import config from '../../../vitest.config.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SKIP = new Set(['node_modules', 'dist', 'coverage', '.git', '.lab', 'out', 'test-artifacts']);

function testFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : testFiles(path.join(dir, e.name));
    return e.name.endsWith('.test.ts') ? [path.relative(ROOT, path.join(dir, e.name))] : [];
  });
}

/** Each project's folders: its include globs are all `FOLDER/**\/*.test.ts`. */
function projectFolders(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of (config.test?.projects ?? []) as Array<{ test: { name: string; include: string[] } }>) {
    out.set(p.test.name, p.test.include.map((g) => {
      expect(g, `${p.test.name}: include ${g}`).toMatch(/^[\w./-]+\/\*\*\/\*\.test\.ts$/);
      return g.replace(/\/\*\*\/\*\.test\.ts$/, '/');
    }));
  }
  return out;
}

describe('test layout', () => {
  it('the projects are unit, local and lab', () => {
    expect([...projectFolders().keys()]).toEqual(['unit', 'local', 'lab']);
  });

  it('every test file is in the folder of exactly one project', () => {
    const folders = projectFolders();
    const files = testFiles();
    expect(files.length).toBeGreaterThan(100);
    const homes = files.map((f) => [f, [...folders].filter(([, dirs]) => dirs.some((d) => f.startsWith(d))).map(([name]) => name)] as const);
    expect(homes.filter(([, projects]) => projects.length !== 1)).toEqual([]);
  });
});
