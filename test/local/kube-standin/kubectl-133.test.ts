// With a server reporting v1.33 the kubectl dispatcher runs its bundled kubectl v1.33.1 instead of
// the default v1.32.4: the main commands behave the same against the stand-in.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kubectlOk, startTestStandin, type TestStandin } from './helpers.js';

let t: TestStandin;
beforeAll(async () => {
  t = await startTestStandin({ gitVersion: 'v1.33.2', nodes: [{ name: 'homelab', roles: ['worker'], probe: false }] });
});
afterAll(async () => {
  await t.stop();
});

it('kubectl v1.33.1: get nodes, cordon, apply --server-side, auth can-i', async () => {
  expect(await kubectlOk(t, ['get', 'nodes'])).toMatch(/homelab\s+Ready\s+worker\s+\S+\s+v1\.33\.2/);
  expect(new Set(t.standin.requests().map((r) => r.userAgent.split(' ')[0]))).toContain('kubectl/v1.33.1');
  expect((await kubectlOk(t, ['cordon', 'homelab'])).trim()).toBe('node/homelab cordoned');
  expect((await kubectlOk(t, ['uncordon', 'homelab'])).trim()).toBe('node/homelab uncordoned');
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\ndata: {a: "1"}\n';
  expect((await kubectlOk(t, ['apply', '--server-side', '-f', '-'], { input: cm })).trim()).toBe('configmap/c serverside-applied');
  expect((await kubectlOk(t, ['auth', 'can-i', 'patch', 'nodes'])).trim()).toBe('yes');
});
