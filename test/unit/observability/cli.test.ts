// `vmstation render --only observability` as a user runs it: the files land on disk with an
// index.json naming each file's checker, and the manifests on disk pass the schema check.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { validateKubeObjects } from '../../helpers/kube-schema.js';
import { ROOT } from './fixture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-observability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vmstation render --only observability', () => {
  it('writes the stack and an index with a checker per file', async () => {
    const out = path.join(dir, 'out');
    const r = await runCli(['render', '-f', path.join(ROOT, 'examples/vmstation.yaml'), '-o', out, '--only', 'observability'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')) as { artifacts: Array<{ path: string; checker: string; component: string }> };
    const paths = index.artifacts.map((a) => a.path);
    for (const p of ['manifests/grafana.yaml', 'manifests/loki.yaml', 'manifests/alloy.yaml', 'manifests/network-policies.yaml', 'configs/alloy/config.alloy', 'configs/loki/loki.yaml', 'configs/grafana/dashboards/cluster-overview.json']) {
      expect(paths).toContain(p);
    }
    for (const a of index.artifacts.filter((x) => x.checker === 'kubernetes-schema')) {
      expect({ path: a.path, problems: validateKubeObjects(readFileSync(path.join(out, a.path), 'utf8')) }).toEqual({ path: a.path, problems: [] });
    }
    for (const a of index.artifacts.filter((x) => x.checker === 'json')) expect(() => JSON.parse(readFileSync(path.join(out, a.path), 'utf8')) as unknown).not.toThrow();
  });
});
