// kubectl drain refused by a PodDisruptionBudget: every eviction answers 429, which kubectl
// retries every 5 s until its --timeout; the node stays cordoned and every pod stays.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDrainCluster } from './drain-fixture.js';
import { kubectl, kubectlOk, type TestStandin } from './helpers.js';

let t: TestStandin;
beforeAll(async () => {
  t = await startDrainCluster(2);
});
afterAll(async () => {
  await t.stop();
});

it('drain --ignore-daemonsets is refused while the PDB allows no disruption', async () => {
  expect(await kubectlOk(t, ['get', 'pdb', 'web'])).toMatch(/web\s+2\s+N\/A\s+0\s/);
  const refused = await kubectl(t, ['drain', 'homelab', '--ignore-daemonsets', '--timeout=3s'], { timeoutMs: 20_000 });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain('node/homelab cordoned');
  expect(refused.stderr).toContain('Warning: ignoring DaemonSet-managed Pods: default/node-exporter-homelab');
  expect(refused.stderr).toContain(`error when evicting pods/"web-1" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`);
  expect(refused.stderr).toContain('global timeout reached: 3s');
  const evictions = t.standin.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/eviction'));
  expect(evictions.length).toBeGreaterThanOrEqual(2);
  expect(evictions.every((r) => r.status === 429)).toBe(true);
  expect(await kubectlOk(t, ['get', 'node', 'homelab'])).toMatch(/Ready,SchedulingDisabled/);
  expect((await kubectlOk(t, ['get', 'pods', '-o', 'name'])).trim().split('\n').sort()).toEqual(['pod/node-exporter-homelab', 'pod/web-1', 'pod/web-2']);
  expect((await kubectlOk(t, ['uncordon', 'homelab'])).trim()).toBe('node/homelab uncordoned');
});
