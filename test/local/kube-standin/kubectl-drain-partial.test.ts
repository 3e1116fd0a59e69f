// kubectl drain with a PDB that allows one disruption: one pod is evicted, the other eviction is
// refused (429) until --timeout, exactly as on a real cluster without a ReplicaSet controller.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDrainCluster } from './drain-fixture.js';
import { kubectl, kubectlOk, type TestStandin } from './helpers.js';

let t: TestStandin;
beforeAll(async () => {
  t = await startDrainCluster(1);
});
afterAll(async () => {
  await t.stop();
});

it('evicts one pod and is refused the second', async () => {
  expect(await kubectlOk(t, ['get', 'pdb', 'web'])).toMatch(/web\s+1\s+N\/A\s+1\s/);
  const partial = await kubectl(t, ['drain', 'homelab', '--ignore-daemonsets', '--timeout=3s'], { timeoutMs: 20_000 });
  expect(partial.code).toBe(1);
  expect(partial.stdout).toMatch(/pod\/web-[12] evicted/);
  expect(partial.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
  const statuses = t.standin.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/eviction')).map((r) => r.status);
  expect(statuses).toContain(201);
  expect(statuses).toContain(429);
  expect((await kubectlOk(t, ['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim().split('\n')).toHaveLength(1);
  expect(await kubectlOk(t, ['get', 'pdb', 'web', '-o', 'jsonpath={.status.disruptionsAllowed}'])).toBe('0');
});
