// The stand-in's kubelet control (/_standin/kubelets, /_standin/version), driven with the real
// kubectl's raw requests as the Kubespray stand-in's scale, remove-node and upgrade plays drive
// it: a host joins (its kubelet registers the Node), its kubelet is upgraded (nodeInfo versions
// change, as after a kubelet restart on the new version), the API server is upgraded (/version),
// and a reset host's kubelet stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlOk, startTestStandin, waitFor, type TestStandin } from './helpers.js';

let t: TestStandin;
beforeAll(async () => {
  t = await startTestStandin({ nodes: [{ name: 'masternode', roles: ['control-plane'], probe: false }] });
});
afterAll(async () => {
  await t.stop();
});

const nodeVersions = async () => JSON.parse(await kubectlOk(t, ['get', 'nodes', '-o', 'json'])) as { items: Array<{ metadata: { name: string }; status: { nodeInfo: { kubeletVersion: string }; conditions: Array<{ type: string; status: string }> } }> };

describe('kubelet control', () => {
  it('joins a host, upgrades its kubelet and the API server, stops its kubelet', async () => {
    await kubectlOk(t, ['create', '--raw', '/_standin/kubelets', '-f', '-'], { input: JSON.stringify({ name: 'node4', roles: ['worker'], probe: false, kubeletVersion: 'v1.34.3' }) });
    const joined = await waitFor('node4 Ready', async () => (await nodeVersions()).items.find((n) => n.metadata.name === 'node4' && n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')));
    expect(joined.status.nodeInfo.kubeletVersion).toBe('v1.34.3');

    await kubectlOk(t, ['create', '--raw', '/_standin/kubelets/node4/version', '-f', '-'], { input: JSON.stringify({ kubeletVersion: 'v1.35.4' }) });
    expect((await nodeVersions()).items.find((n) => n.metadata.name === 'node4')!.status.nodeInfo.kubeletVersion).toBe('v1.35.4');

    await kubectlOk(t, ['replace', '--raw', '/_standin/version', '-f', '-'], { input: JSON.stringify({ gitVersion: 'v1.35.3' }) });
    expect(JSON.parse(await kubectlOk(t, ['get', '--raw', '/version'])) as { gitVersion: string }).toMatchObject({ gitVersion: 'v1.35.3', minor: '35' });

    await kubectlOk(t, ['delete', '--raw', '/_standin/kubelets/node4']);
    expect(t.standin.kubelet.nodeNames()).toEqual(['masternode']);
    // The Node object stays until it is deleted (kubectl delete node), as on a real cluster.
    expect((await nodeVersions()).items.map((n) => n.metadata.name).sort()).toEqual(['masternode', 'node4']);
    const unknown = await kubectl(t, ['create', '--raw', '/_standin/kubelets/ghost/version', '-f', '-'], { input: JSON.stringify({ kubeletVersion: 'v1.35.4' }) });
    expect(unknown.code).not.toBe(0);
  });
});
