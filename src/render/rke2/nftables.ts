// RKE2 with kube-proxy in nftables mode (rancher/rke2-docs@9477b7b:docs/networking/basic_network_options.md,
// "Nftables support", lines 325-420): experimental, available from v1.34.10+rke2r1, v1.35.7+rke2r1 and
// v1.36.3+rke2r1, and each bundled CNI must follow through its HelmChartConfig in the servers'
// manifests folder: Calico switches its data plane (installation.calicoNetwork.linuxDataplane:
// Nftables), flannel sets flannel.enableNFTables, Cilium needs nothing (eBPF). Calico's hostPorts
// (the log shipper's syslog receiver) go through the portmap plugin, which always calls iptables:
// the page says to install iptables on the nodes. Older releases are refused by validate
// (rke2-nftables-too-old, src/config/method-rules.ts).
import type { Cluster } from '../../config/model.js';
export { RKE2_NFTABLES_SINCE, rke2SupportsNftables } from '../../config/methods.js';
import type { Cni } from '../network/requirements.js';
import { toYaml } from '../k8s/common.js';

/** Where RKE2 servers pick up manifests (and HelmChartConfigs for the bundled charts). */
export const RKE2_SERVER_MANIFESTS = '/var/lib/rancher/rke2/server/manifests';

/** The chart values each bundled CNI needs under nftables (none for Cilium). */
const NFTABLES_VALUES: Record<Cni, Record<string, unknown> | undefined> = {
  calico: { installation: { calicoNetwork: { linuxDataplane: 'Nftables' } } },
  flannel: { flannel: { enableNFTables: true } },
  cilium: undefined,
};

export interface ChartConfigFile {
  /** File name under RKE2_SERVER_MANIFESTS and under rke2/manifests in the render tree. */
  name: string;
  content: string;
}

/** The HelmChartConfig the CNI needs when kube-proxy runs in nftables mode, or none. */
export function rke2NftablesChartConfig(cluster: Cluster): ChartConfigFile | undefined {
  const k = cluster.spec.kubernetes;
  const values = NFTABLES_VALUES[k.cni];
  if (k.method !== 'rke2' || k.kubeProxyMode !== 'nftables' || values === undefined) return undefined;
  const chart = `rke2-${k.cni}`;
  const doc = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: chart, namespace: 'kube-system' }, spec: { valuesContent: toYaml(values) } };
  return { name: `${chart}-config.yaml`, content: toYaml(doc) };
}

/** Tasks: iptables for Calico's portmap (every node), the HelmChartConfig before rke2-server starts (servers). */
export function rke2NftablesTasks(cluster: Cluster, type: 'server' | 'agent'): unknown[] {
  const k = cluster.spec.kubernetes;
  if (k.method !== 'rke2' || k.kubeProxyMode !== 'nftables') return [];
  const iptables =
    k.cni === 'calico'
      ? [
          {
            name: "iptables (Calico's hostPorts go through portmap, which calls iptables even under nftables)",
            'ansible.builtin.package': { name: "{{ 'iptables-nft' if ansible_facts['os_family'] == 'RedHat' else 'iptables' }}", state: 'present' },
            tags: ['network'],
          },
        ]
      : [];
  const config = rke2NftablesChartConfig(cluster);
  const chartConfig =
    type === 'server' && config
      ? [
          { name: 'RKE2 server manifests folder', 'ansible.builtin.file': { path: RKE2_SERVER_MANIFESTS, state: 'directory', mode: '0700' } },
          { name: `${config.name}: the CNI follows kube-proxy into nftables`, 'ansible.builtin.copy': { src: `{{ playbook_dir }}/manifests/${config.name}`, dest: `${RKE2_SERVER_MANIFESTS}/${config.name}`, mode: '0600' } },
        ]
      : [];
  return [...iptables, ...chartConfig];
}
