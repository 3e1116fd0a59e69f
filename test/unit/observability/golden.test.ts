// Golden files of the observability render: the example (Alloy, local-path), Promtail and
// static storage. Grafana, Loki and Alloy cannot run here, so for their configs these files
// are the check (see docs/observability.md). Regenerate with UPDATE_GOLDEN=1 after an intended
// change and review the diff.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderObservability } from '../../../src/render/observability/index.js';
import { ROOT, VARIANTS } from './fixture.js';

const GOLDEN = path.join(ROOT, 'test/golden/observability');
const update = process.env.UPDATE_GOLDEN === '1';

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? listFiles(p, `${prefix}${f}/`) : [`${prefix}${f}`];
  });
}

describe.each([
  ['example', VARIANTS.example!],
  ['promtail', VARIANTS.promtail!],
  ['static-storage', VARIANTS['static storage']!],
])('golden files: %s', (name, load) => {
  const artifacts = renderObservability(load());
  const dir = path.join(GOLDEN, name);
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
