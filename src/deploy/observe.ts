// What `plan --observe` looks at before planning: whether each node answers on its SSH port
// (asleep or unreachable nodes get a wake step) and, when a kubeconfig exists, what the cluster
// reports (its version and Nodes, so an up-to-date cluster skips the Kubernetes phase).
import { access } from 'node:fs/promises';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { ObjectClient } from '../adapters/kube/apply.js';
import type { Cluster } from '../config/model.js';
import { tcpProbe } from '../power/drivers/probe.js';
import type { Observed, ObservedCluster } from './plan.js';

export async function observeCluster(kubeconfig: string): Promise<ObservedCluster | undefined> {
  if (!(await access(kubeconfig).then(() => true, () => false))) return undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const version = await kc.makeApiClient(VersionApi).getCode();
    const nodes = (await new ObjectClient(kc).list('v1', 'Node', '')) as Array<{ metadata?: { name?: string }; status?: { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string } } }>;
    return {
      version: version.gitVersion,
      nodes: nodes.map((n) => ({ name: n.metadata?.name ?? '', ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, version: n.status?.nodeInfo?.kubeletVersion ?? '' })),
    };
  } catch {
    return undefined; // no answer: plan as for a new cluster
  }
}

export async function observe(cluster: Cluster, kubeconfig: string, probe = tcpProbe): Promise<Observed> {
  const up = await Promise.all(cluster.spec.nodes.map(async (n) => [n.name, await probe(n.address, n.ssh.port, 1500)] as const));
  const observedCluster = await observeCluster(kubeconfig);
  return {
    nodes: Object.fromEntries(up.map(([name, ok]) => [name, { power: ok ? ('awake' as const) : cluster.spec.nodes.find((n) => n.name === name)?.power.autoSleep ? ('asleep' as const) : ('unreachable' as const) }])),
    ...(observedCluster ? { cluster: observedCluster } : {}),
  };
}
