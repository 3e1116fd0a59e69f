// A cluster for the kubectl drain tests: masternode and homelab, a DaemonSet pod and two
// ReplicaSet pods (made as controllers make them, with ownerReferences) running on homelab, and a
// PodDisruptionBudget over the ReplicaSet's pods.
import { kubectlOk, startTestStandin, waitFor, type TestStandin } from './helpers.js';

const OWNERS = (minAvailable: number): string => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: default}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template:
    metadata: {labels: {app: node-exporter}}
    spec: {containers: [{name: node-exporter, image: prom/node-exporter}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  minAvailable: ${minAvailable}
  selector: {matchLabels: {app: web}}
`;

function ownedPod(name: string, app: string, owner: { kind: string; name: string; uid: string }, bindByScheduler: boolean): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app }, ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: owner.uid, controller: true }] },
    spec: { ...(bindByScheduler ? { nodeSelector: { 'kubernetes.io/hostname': 'homelab' } } : { nodeName: 'homelab' }), containers: [{ name: app, image: 'x' }] },
  });
}

export async function startDrainCluster(minAvailable: number): Promise<TestStandin> {
  const t = await startTestStandin({
    nodes: [
      { name: 'masternode', roles: ['control-plane'], probe: false },
      { name: 'homelab', roles: ['worker'], probe: false },
    ],
  });
  await kubectlOk(t, ['apply', '--server-side', '-f', '-'], { input: OWNERS(minAvailable) });
  const uid = async (kind: string, name: string): Promise<string> => kubectlOk(t, ['get', kind, name, '-o', 'jsonpath={.metadata.uid}']);
  const ds = { kind: 'DaemonSet', name: 'node-exporter', uid: await uid('daemonset', 'node-exporter') };
  const rs = { kind: 'ReplicaSet', name: 'web', uid: await uid('replicaset', 'web') };
  const pods = [ownedPod('node-exporter-homelab', 'node-exporter', ds, false), ownedPod('web-1', 'web', rs, true), ownedPod('web-2', 'web', rs, true)];
  await kubectlOk(t, ['create', '-f', '-'], { input: pods.join('\n') });
  await waitFor('three Running pods on homelab', async () => {
    const out = await kubectlOk(t, ['get', 'pods', '--field-selector', 'spec.nodeName=homelab,status.phase=Running', '-o', 'name']);
    return out.trim().split('\n').length === 3;
  });
  await waitFor('PDB status', async () => (await kubectlOk(t, ['get', 'pdb', 'web', '-o', 'jsonpath={.status.currentHealthy}'])) === '2');
  return t;
}
