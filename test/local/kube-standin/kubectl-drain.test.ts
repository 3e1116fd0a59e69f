// kubectl drain that completes: DaemonSet pods ignored, the other pods evicted through the
// Eviction API (no PDB in the way), then uncordon; and a bare pod refused without --force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrainCluster } from './drain-fixture.js';
import { kubectl, kubectlOk, type TestStandin } from './helpers.js';

let t: TestStandin;

beforeAll(async () => {
  t = await startDrainCluster(1);
  await kubectlOk(t, ['delete', 'pdb', 'web']);
});
afterAll(async () => {
  await t.stop();
});

describe('kubectl drain', () => {
  it('evicts every pod but DaemonSet ones and reports the node drained', async () => {
    const drained = await kubectl(t, ['drain', 'homelab', '--ignore-daemonsets', '--timeout=20s'], { timeoutMs: 30_000 });
    expect(drained.code).toBe(0);
    expect(drained.stdout).toContain('node/homelab cordoned');
    expect(drained.stdout).toContain('evicting pod default/web-1');
    expect(drained.stdout).toContain('pod/web-2 evicted');
    expect(drained.stdout).toContain('node/homelab drained');
    const evictions = t.standin.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/eviction'));
    expect(evictions.map((r) => r.status)).toEqual([201, 201]);
    expect(t.standin.requests().some((r) => r.method === 'DELETE' && r.path.includes('/pods/'))).toBe(false);
    expect((await kubectlOk(t, ['get', 'pods', '-o', 'name'])).trim()).toBe('pod/node-exporter-homelab');
    expect((await kubectlOk(t, ['uncordon', 'homelab'])).trim()).toBe('node/homelab uncordoned');
    expect(await kubectlOk(t, ['get', 'node', 'homelab'])).toMatch(/homelab\s+Ready\s+worker/);
  });

  it('refuses a bare pod without --force, as a real cluster does', async () => {
    await kubectlOk(t, ['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' }, spec: { nodeName: 'homelab', containers: [{ name: 'c', image: 'x' }] } }) });
    const r = await kubectl(t, ['drain', 'homelab', '--ignore-daemonsets', '--timeout=5s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare');
    await kubectlOk(t, ['uncordon', 'homelab']);
  });
});
