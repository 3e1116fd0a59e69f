// The labels and taints each method puts on nodes, and where the pods we render land on them.
// Placement is decided by the Kubernetes API stand-in's scheduler predicates (nodeSelector,
// required node affinity, taints and tolerations), whose fidelity its own tests check.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { effectiveTaints, nodeMatchesPod, toleratesAll } from '../../../lab/kube-apiserver-standin/scheduling.js';
import type { JsonObject } from '../../../lab/kube-apiserver-standin/json.js';
import { kubeadmConfig } from '../../../src/render/kubeadm/index.js';
import { powerRenderer } from '../../../src/render/power/index.js';
import { rke2NodeConfig } from '../../../src/render/rke2/index.js';
import { exampleWith } from './helpers.js';

type Method = 'kubespray' | 'kubeadm' | 'rke2';

/**
 * How each method labels a server (control plane) and what taint it carries in our render:
 * - kubeadm, and Kubespray which runs kubeadm: `node-role.kubernetes.io/control-plane: ""` and the
 *   NoSchedule taint (https://kubernetes.io/docs/reference/setup-tools/kubeadm/implementation-details/
 *   "Mark the node as control-plane": label node-role.kubernetes.io/control-plane="" and taint);
 * - RKE2: `node-role.kubernetes.io/control-plane: "true"`, `.../etcd: "true"`, `.../master: "true"`
 *   (k3s-io/k3s:pkg/server/server.go setNodeLabelsAndAnnotations, embedded by RKE2), no taint of its
 *   own; we render `node-taint: node-role.kubernetes.io/control-plane:NoSchedule` (rke2NodeConfig).
 */
function serverNode(method: Method): JsonObject {
  const labels = method === 'rke2' ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/etcd': 'true', 'node-role.kubernetes.io/master': 'true' } : { 'node-role.kubernetes.io/control-plane': '' };
  return node('masternode', labels, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
}

function node(name: string, labels: Record<string, string>, taints: Array<{ key: string; effect: string }>): JsonObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: { taints },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  } as unknown as JsonObject;
}

function powerManagerPod(method: Method): JsonObject {
  const cluster = exampleWith((t) => t.replace('method: kubespray', `method: ${method}`).replace(/os: debian-1[23]/g, method === 'rke2' ? 'os: ubuntu-24.04' : '$&'));
  const text = powerRenderer.render(cluster).find((a) => a.path.endsWith('.yaml') && a.content.includes('kind: Deployment'))!.content;
  const dep = parseAllDocuments(text).map((d) => d.toJSON() as JsonObject).find((o) => o['kind'] === 'Deployment')!;
  return (dep['spec'] as JsonObject)['template'] as JsonObject;
}

const schedulable = (pod: JsonObject, n: JsonObject) => nodeMatchesPod(pod, n) && toleratesAll(((pod['spec'] as JsonObject)['tolerations'] ?? []) as JsonObject[], effectiveTaints(n));

describe('the power manager lands on a control-plane node on every path', () => {
  it.each(['kubespray', 'kubeadm', 'rke2'] as const)('%s', (method) => {
    const pod = powerManagerPod(method);
    expect(schedulable(pod, serverNode(method))).toBe(true);
    expect(schedulable(pod, node('storagenodet3500', {}, []))).toBe(false);
  });

  it('the old nodeSelector (control-plane: "") would never match an RKE2 server', () => {
    const old = { spec: { nodeSelector: { 'node-role.kubernetes.io/control-plane': '' }, tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] } } as unknown as JsonObject;
    expect(schedulable(old, serverNode('kubeadm'))).toBe(true);
    expect(schedulable(old, serverNode('rke2'))).toBe(false);
  });
});

describe('the control-plane taint our renders put on servers is the one our pods tolerate', () => {
  it('kubeadm taints the control plane only when workers exist; RKE2 servers get the same taint by node-taint', () => {
    const kubeadm = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm'));
    const init = kubeadmConfig(kubeadm)[0] as { nodeRegistration: { taints: unknown[] } };
    expect(init.nodeRegistration.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
    const rke2 = exampleWith((t) => t.replace('method: kubespray', 'method: rke2').replace(/os: debian-1[23]/g, 'os: ubuntu-24.04'));
    const server = rke2NodeConfig(rke2, rke2.spec.nodes.find((n) => n.name === 'masternode')!);
    expect(server['node-taint']).toContain('node-role.kubernetes.io/control-plane:NoSchedule');
  });
});
