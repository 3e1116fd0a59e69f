// The inventory a removal runs with (pure): the rendered one plus the nodes leaving, which the
// cluster file no longer lists. Kubespray's remove-node.yml needs the node "still in the
// inventory" (Kubespray v2.31.0 docs/operations/nodes.md), in its groups, appended after the
// nodes that stay (the first kube_control_plane node cannot be removed). kubeadm's and RKE2's
// reset playbooks run on `all` and need only its host entry.
import type { Method } from '../../config/schema.js';
import type { DeployedNode, LeavingNode } from '../plan-model.js';
import { etcdMembers, hasRole, type Cluster } from '../../config/model.js';

type Doc = { all?: { hosts?: Record<string, unknown>; children?: Record<string, { hosts?: Record<string, unknown> | null } | undefined> } };

function hostEntry(method: Method, n: LeavingNode): Record<string, unknown> {
  const base: Record<string, unknown> = {
    ansible_host: n.address,
    ansible_port: n.ssh.port,
    ansible_user: n.ssh.user,
    ansible_ssh_private_key_file: n.ssh.privateKey,
    ...(n.ssh.user === 'root' ? {} : { ansible_become: true }),
  };
  if (method === 'kubespray') base['access_ip'] = n.address;
  if (method === 'kubeadm') base['node_ip'] = n.address;
  return base;
}

/** Kubespray groups a leaving node belongs to, from its roles. */
function kubesprayGroups(n: LeavingNode): string[] {
  return [...(n.roles.includes('control-plane') ? ['kube_control_plane'] : []), ...(n.etcd ? ['etcd'] : []), ...(n.roles.includes('worker') || !n.roles.includes('control-plane') ? ['kube_node'] : [])];
}

export function inventoryWithLeaving(method: Method, rendered: unknown, leaving: readonly LeavingNode[]): unknown {
  const doc = structuredClone(rendered) as Doc;
  const all = (doc.all ??= {});
  const hosts = (all.hosts ??= {});
  const children = (all.children ??= {});
  for (const n of leaving) {
    hosts[n.name] = hostEntry(method, n);
    if (method !== 'kubespray') continue;
    for (const g of kubesprayGroups(n)) {
      const group = (children[g] ??= { hosts: {} });
      group.hosts = { ...(group.hosts ?? {}), [n.name]: {} };
    }
  }
  return doc;
}

/** What deploy records after the Kubernetes phase, so a later removal knows the node. */
export function deployedNodes(cluster: Cluster): DeployedNode[] {
  const method = cluster.spec.kubernetes.method;
  const etcd = new Set((method === 'kubespray' ? etcdMembers(cluster.spec.nodes) : cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane'))).map((n) => n.name));
  return cluster.spec.nodes.map((n) => ({ name: n.name, address: n.address, roles: [...n.roles], etcd: etcd.has(n.name), ssh: { user: n.ssh.user, port: n.ssh.port, privateKey: n.ssh.privateKey } }));
}
