// What `plan --observe` and `deploy` look at before planning: whether each node answers on its
// SSH port (asleep or unreachable nodes get a wake step; `plan --observe` only) and, when a
// kubeconfig exists, what the cluster reports (its version and Nodes: kubelet versions, roles,
// addresses), compared with the file for day-two changes, plus the last deploy's record of its
// nodes (for removals of nodes the file no longer lists).
import { access } from 'node:fs/promises';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { ObjectClient } from '../adapters/kube/apply.js';
import type { Cluster } from '../config/model.js';
import { tcpProbe } from '../power/drivers/probe.js';
import { readDeployedNodes } from './changes/execute.js';
import type { Observed, ObservedCluster, ObservedKubeNode } from './plan-model.js';

interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string }; addresses?: Array<{ type: string; address: string }> };
}

const ROLE_LABEL = 'node-role.kubernetes.io/';

/** A Node object as the planner sees it (pure). */
export function observedKubeNode(n: NodeObject): ObservedKubeNode {
  return {
    name: n.metadata?.name ?? '',
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    version: n.status?.nodeInfo?.kubeletVersion ?? '',
    roles: Object.keys(n.metadata?.labels ?? {})
      .filter((k) => k.startsWith(ROLE_LABEL))
      .map((k) => k.slice(ROLE_LABEL.length))
      .sort(),
    address: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address,
    unschedulable: n.spec?.unschedulable === true,
  };
}

export async function observeCluster(kubeconfig: string): Promise<ObservedCluster | undefined> {
  if (!(await access(kubeconfig).then(() => true, () => false))) return undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const version = await kc.makeApiClient(VersionApi).getCode();
    const nodes = (await new ObjectClient(kc).list('v1', 'Node', '')) as NodeObject[];
    return { version: version.gitVersion, nodes: nodes.map(observedKubeNode) };
  } catch {
    return undefined; // no answer: plan as for a new cluster
  }
}

export async function observe(cluster: Cluster, kubeconfig: string, probe = tcpProbe, deployedNodesFile?: string): Promise<Observed> {
  const up = await Promise.all(cluster.spec.nodes.map(async (n) => [n.name, await probe(n.address, n.ssh.port, 1500)] as const));
  const observedCluster = await observeCluster(kubeconfig);
  const deployed = deployedNodesFile ? await readDeployedNodes(deployedNodesFile, cluster.metadata.name) : undefined;
  return {
    nodes: Object.fromEntries(up.map(([name, ok]) => [name, { power: ok ? ('awake' as const) : cluster.spec.nodes.find((n) => n.name === name)?.power.autoSleep ? ('asleep' as const) : ('unreachable' as const) }])),
    ...(observedCluster ? { cluster: observedCluster } : {}),
    ...(deployed ? { deployed } : {}),
  };
}

/** What `deploy` observes: the cluster and the last deploy's record (it wakes nodes as it goes, so no SSH probes). */
export async function observeForDeploy(cluster: Cluster, kubeconfig: string, deployedNodesFile: string): Promise<Observed> {
  const observedCluster = await observeCluster(kubeconfig);
  const deployed = await readDeployedNodes(deployedNodesFile, cluster.metadata.name);
  return { nodes: {}, ...(observedCluster ? { cluster: observedCluster } : {}), ...(deployed ? { deployed } : {}) };
}
