// `render -o DIR` replaces only a tree it rendered, and never deletes a file it did not write.
// Regression for issue 16 §1: a folder with some other index.json and the user's files was wiped
// with exit 0; and issue 17 §5: `--only <typo>` rendered nothing and replaced the full tree.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const EXAMPLE = path.resolve('examples/vmstation.yaml');

function workdir(): string {
  return mkdtempSync(path.join(tmpdir(), 'render-target-'));
}

async function render(dir: string, out: string, ...extra: string[]) {
  return runCli(['render', '-f', EXAMPLE, '-o', out, ...extra], { cwd: dir });
}

function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split(path.sep).join('/')).sort();
}

describe('render -o DIR: what it may replace', () => {
  it('refuses a folder whose index.json is not a vmstation render index, and leaves every file as it was', async () => {
    const dir = workdir();
    const out = path.join(dir, 'site');
    mkdirSync(out);
    writeFileSync(path.join(out, 'index.json'), '{"name":"my-web-site","pages":["a.html"]}\n');
    writeFileSync(path.join(out, 'a.html'), '<p>mine</p>\n');
    const r = await render(dir, 'site');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[render-target-not-ours]');
    expect(r.stderr).toContain('its index.json is not a vmstation render index');
    expect(tree(out)).toEqual(['a.html', 'index.json']);
    expect(readFileSync(path.join(out, 'a.html'), 'utf8')).toBe('<p>mine</p>\n');
    expect(readdirSync(dir)).toEqual(['site']); // no temporary folder left behind
  });

  it('refuses a non-empty folder without index.json', async () => {
    const dir = workdir();
    mkdirSync(path.join(dir, 'out'));
    writeFileSync(path.join(out(dir), 'notes.txt'), 'keep\n');
    const r = await render(dir, 'out');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no index.json');
    expect(tree(out(dir))).toEqual(['notes.txt']);
  });

  it('refuses an index.json that claims a path outside the tree', async () => {
    const dir = workdir();
    mkdirSync(out(dir));
    writeFileSync(path.join(out(dir), 'index.json'), JSON.stringify({ apiVersion: 'vmstation.io/v1alpha1', kind: 'RenderIndex', cluster: 'x', artifacts: [{ path: '../../etc/passwd' }] }));
    const r = await render(dir, 'out');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[render-target-not-ours]');
  });

  it('re-renders its own tree: replaces its files, deletes the ones it no longer renders, keeps the files it did not write', async () => {
    const dir = workdir();
    expect((await render(dir, 'out')).code).toBe(0);
    const full = tree(out(dir));
    expect(full).toContain('manifests/power-manager.yaml');
    // The user's files, and what Kubespray writes next to its inventory during a deploy.
    writeFileSync(path.join(out(dir), 'NOTES.md'), 'my notes\n');
    mkdirSync(path.join(out(dir), 'kubespray', 'artifacts'), { recursive: true });
    writeFileSync(path.join(out(dir), 'kubespray', 'artifacts', 'admin.conf'), 'apiVersion: v1\n');
    mkdirSync(path.join(out(dir), 'scratch'));
    writeFileSync(path.join(out(dir), 'manifests', 'power-manager.yaml'), 'edited by hand\n');

    const r = await render(dir, 'out', '--only', 'metrics');
    expect(r.code).toBe(0);
    const after = tree(out(dir));
    expect(readFileSync(path.join(out(dir), 'NOTES.md'), 'utf8')).toBe('my notes\n');
    expect(readFileSync(path.join(out(dir), 'kubespray', 'artifacts', 'admin.conf'), 'utf8')).toBe('apiVersion: v1\n');
    expect(after).toContain('scratch');
    // Ours from the first render and not rendered now: gone (power-manager.yaml is not the metrics renderer's).
    expect(after).not.toContain('manifests/power-manager.yaml');
    expect(after).toContain('configs/prometheus/prometheus.yml');
    expect(readdirSync(dir)).toEqual(['out']);
  });

  it('refuses when a file it did not write stands where the new render puts one of its own', async () => {
    const dir = workdir();
    expect((await render(dir, 'out', '--only', 'power')).code).toBe(0);
    const mine = path.join(out(dir), 'configs', 'prometheus', 'prometheus.yml');
    mkdirSync(path.dirname(mine), { recursive: true });
    writeFileSync(mine, '# my own prometheus config\n');
    const before = tree(out(dir));
    const r = await render(dir, 'out');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[render-target-clash]');
    expect(r.stderr).toContain('configs/prometheus/prometheus.yml');
    expect(tree(out(dir))).toEqual(before);
    expect(readFileSync(mine, 'utf8')).toBe('# my own prometheus config\n');
  });

  it('--only with a name no renderer has is a usage error that changes nothing', async () => {
    const dir = workdir();
    expect((await render(dir, 'out')).code).toBe(0);
    const before = tree(out(dir));
    const r = await render(dir, 'out', '--only', 'metrcs');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[unknown-renderer]: --only: no renderer named "metrcs"');
    expect(r.stderr).toContain('metrics');
    expect(tree(out(dir))).toEqual(before);
  });

  it('writes into an empty folder and into one that does not exist yet', async () => {
    const dir = workdir();
    mkdirSync(path.join(dir, 'empty'));
    expect((await render(dir, 'empty', '--only', 'power')).code).toBe(0);
    expect((await render(dir, 'new/deeper', '--only', 'power')).code).toBe(0);
    expect(existsSync(path.join(dir, 'empty', 'index.json'))).toBe(true);
    expect(existsSync(path.join(dir, 'new', 'deeper', 'index.json'))).toBe(true);
  });
});

function out(dir: string): string {
  return path.join(dir, 'out');
}
