// The difference between the cluster file and what the cluster reports (pure): nodes to add,
// nodes leaving (with what their removal needs: address, roles, etcd membership), renames,
// nodes that are there but not Ready. Versions are compared in versions.ts / upgrade.ts.
import { etcdMembers, hasRole, type Cluster, type ClusterNode } from '../../config/model.js';
import type { Role } from '../../config/schema.js';
import type { DeployedNode, LeavingNode, ObservedCluster, ObservedKubeNode } from '../plan-model.js';

export interface Leaving extends LeavingNode {
  /** The Node is Ready: it can be drained and reset; otherwise it is removed without reset. */
  ready: boolean;
  /** Where its address and roles come from. */
  source: 'last deploy' | 'Node object';
}

export interface Rename {
  from: string;
  to: string;
  address: string;
}

export interface NodeDiff {
  /** In the file, no Node yet (file order). */
  added: ClusterNode[];
  /** Nodes the cluster has and the file no longer lists (cluster order). */
  leaving: Leaving[];
  /** A leaving and an added node at the same address: the same machine under a new name. */
  renamed: Rename[];
  /** In the file and in the cluster, but not Ready (asleep, or down). */
  notReady: string[];
  /** In both, with the control-plane role in one and not the other. */
  roleChanges: Array<{ node: string; file: 'control-plane' | 'worker'; cluster: 'control-plane' | 'worker' }>;
  /** Leaving nodes whose address nothing records. */
  unknownAddress: string[];
}

const CONTROL_PLANE_LABEL_ROLES = ['control-plane', 'master'];

function isControlPlaneNode(n: ObservedKubeNode): boolean {
  return (n.roles ?? []).some((r) => CONTROL_PLANE_LABEL_ROLES.includes(r));
}

/** What the removal of a node needs, from the last deploy's record or else from its Node object. */
function leavingNode(cluster: Cluster, n: ObservedKubeNode, deployed: readonly DeployedNode[] | undefined): Leaving | undefined {
  const rec = deployed?.find((d) => d.name === n.name);
  if (rec) return { name: n.name, address: rec.address, roles: rec.roles, etcd: rec.etcd, ssh: rec.ssh, ready: n.ready, source: 'last deploy' };
  if (!n.address) return undefined;
  const cp = isControlPlaneNode(n);
  const roles: Role[] = cp ? ['control-plane'] : ['worker'];
  const { user, port, privateKey } = cluster.spec.ssh;
  // Without a record: control-plane nodes are etcd members (stacked etcd, and Kubespray's default).
  return { name: n.name, address: n.address, roles, etcd: cp, ssh: { user, port, privateKey }, ready: n.ready, source: 'Node object' };
}

export function diffNodes(cluster: Cluster, observed: ObservedCluster, deployed?: readonly DeployedNode[]): NodeDiff {
  const fileNodes = cluster.spec.nodes;
  const inCluster = new Map(observed.nodes.map((n) => [n.name, n]));
  const inFile = new Set(fileNodes.map((n) => n.name));
  const added = fileNodes.filter((n) => !inCluster.has(n.name));
  const leaving: Leaving[] = [];
  const unknownAddress: string[] = [];
  for (const n of observed.nodes) {
    if (inFile.has(n.name)) continue;
    const l = leavingNode(cluster, n, deployed);
    if (l) leaving.push(l);
    else unknownAddress.push(n.name);
  }
  const renamed: Rename[] = [];
  for (const a of added) {
    const l = leaving.find((x) => x.address === a.address);
    if (l) renamed.push({ from: l.name, to: a.name, address: a.address });
  }
  const notReady = fileNodes.filter((n) => inCluster.get(n.name)?.ready === false).map((n) => n.name);
  const roleChanges: NodeDiff['roleChanges'] = [];
  for (const n of fileNodes) {
    const o = inCluster.get(n.name);
    if (!o || o.roles === undefined) continue;
    const file = hasRole(n, 'control-plane') ? 'control-plane' : 'worker';
    const has = isControlPlaneNode(o) ? 'control-plane' : 'worker';
    if (file !== has) roleChanges.push({ node: n.name, file, cluster: has });
  }
  return { added, leaving, renamed, notReady, roleChanges, unknownAddress };
}

/** The etcd members among the nodes that stay (in the file and in the cluster). */
export function keptEtcdMembers(cluster: Cluster, observed: ObservedCluster, deployed?: readonly DeployedNode[]): string[] {
  const inCluster = new Set(observed.nodes.map((n) => n.name));
  const fileMembers = new Set(etcdMembers(cluster.spec.nodes).map((n) => n.name));
  return cluster.spec.nodes
    .filter((n) => inCluster.has(n.name))
    .filter((n) => deployed?.find((d) => d.name === n.name)?.etcd ?? fileMembers.has(n.name))
    .map((n) => n.name);
}

/** The control-plane nodes among the nodes that stay. */
export function keptControlPlanes(cluster: Cluster, observed: ObservedCluster): string[] {
  const inCluster = new Set(observed.nodes.map((n) => n.name));
  return cluster.spec.nodes.filter((n) => inCluster.has(n.name) && hasRole(n, 'control-plane')).map((n) => n.name);
}
