// Names, ports and addresses the metrics stack agrees on (Services, Secrets, scrape jobs).
// Kept in one place so the Prometheus config, the manifests and the alert rules cannot drift.
import type { Cluster, ClusterNode } from '../../config/model.js';
import { intToIp, parseCidr } from '../../config/ipv4.js';

export const PORTS = {
  prometheus: 9090,
  alertmanager: 9093,
  blackbox: 9115,
  nodeExporter: 9100,
  kubeStateMetrics: 8080,
  kubeStateMetricsTelemetry: 8081,
  ipmiExporter: 9290,
  kubelet: 10250,
} as const;

export const NAMES = {
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
  blackbox: 'blackbox-exporter',
  nodeExporter: 'node-exporter',
  kubeStateMetrics: 'kube-state-metrics',
  ipmiExporter: 'ipmi-exporter',
  /** Secret created at apply time from the vault: receiver passwords and tokens, one file per secret name. */
  alertmanagerSecret: 'alertmanager-receiver-credentials',
  /** Secret created at apply time from the vault: BMC user names and passwords, one file per secret name. */
  ipmiSecret: 'ipmi-exporter-credentials',
  /** The storage class the local-path provisioner (rendered by the logging/storage renderer) serves. */
  storageClass: 'local-path',
} as const;

/** Where files from the receiver Secret are mounted in the Alertmanager container. */
export const ALERTMANAGER_SECRET_DIR = '/etc/alertmanager/secrets';
/** Where files from the BMC Secret are mounted in the IPMI exporter container. */
export const IPMI_SECRET_DIR = '/etc/ipmi-exporter/credentials';

/** Scrape job names: the alert rules select on these. */
export const JOBS = {
  apiserver: 'apiserver',
  kubelet: 'kubelet',
  cadvisor: 'cadvisor',
  kubeStateMetrics: 'kube-state-metrics',
  coredns: 'coredns',
  serviceEndpoints: 'kubernetes-service-endpoints',
  pods: 'kubernetes-pods',
  nodeExporter: 'node-exporter',
  prometheus: 'prometheus',
  alertmanager: 'alertmanager',
  blackboxExporter: 'blackbox-exporter',
  probeHttp: 'blackbox-http',
  probeIcmp: 'blackbox-icmp',
  probeDns: 'blackbox-dns',
  probeTcp: 'blackbox-tcp',
  ipmi: 'ipmi',
  powerManager: 'vmstation-power-manager',
} as const;

/** In-cluster DNS name of a Service. */
export function serviceHost(cluster: Cluster, name: string, namespace = cluster.spec.monitoring.namespace): string {
  return `${name}.${namespace}.svc.${cluster.spec.kubernetes.clusterDomain}`;
}

/** The cluster DNS Service address each method sets up (Kubespray: 3rd address of the service range; kubeadm and RKE2: 10th). */
export function clusterDnsAddress(cluster: Cluster): string {
  const net = parseCidr(cluster.spec.kubernetes.serviceSubnet);
  const offset = cluster.spec.kubernetes.method === 'kubespray' ? 3 : 10;
  return intToIp(net.base + offset);
}

export function monitoringNode(cluster: Cluster): ClusterNode {
  const node = cluster.spec.nodes.find((n) => n.name === cluster.spec.monitoring.node);
  if (!node) throw new Error(`monitoring node ${cluster.spec.monitoring.node} is not in spec.nodes`);
  return node;
}

/** Role label value for a node: its roles joined with `,` in the file's order. */
export function roleLabel(node: ClusterNode): string {
  return node.roles.join(',');
}

/** Secret keys (vault names) the Alertmanager receiver Secret must hold, sorted. */
export function alertmanagerSecretKeys(cluster: Cluster): string[] {
  const keys = new Set<string>();
  for (const r of cluster.spec.monitoring.alertmanager.receivers) {
    if (r.password) keys.add(r.password.secret);
    if (r.token) keys.add(r.token.secret);
  }
  return [...keys].sort();
}

/** Secret keys (vault names) the IPMI exporter Secret must hold, sorted. */
export function ipmiSecretKeys(cluster: Cluster): string[] {
  const keys = new Set<string>();
  for (const n of bmcNodes(cluster)) {
    keys.add(n.power.bmc.username.secret);
    keys.add(n.power.bmc.password.secret);
  }
  return [...keys].sort();
}

export type BmcNode = ClusterNode & { power: { bmc: NonNullable<ClusterNode['power']['bmc']> } };

export function bmcNodes(cluster: Cluster): BmcNode[] {
  return cluster.spec.nodes.filter((n): n is BmcNode => n.power.bmc !== undefined);
}
