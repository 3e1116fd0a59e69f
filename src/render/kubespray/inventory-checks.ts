// Kubespray v2.31.0's inventory checks (roles/validate_inventory/tasks/main.yml), reproduced on
// what we render, so a bad inventory fails in seconds at render/plan time instead of minutes
// into cluster.yml. Checks that concern options we never set say so (`not-applicable`).
import { KUBESPRAY_KUBE_VERSIONS } from '../../config/data/kubespray-versions.js';
import { ipToInt } from '../../config/model.js';
import type { GroupVars, KubesprayInventory, KubesprayValue } from './vars.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'not-applicable';

export interface InventoryCheckResult {
  /** The task name in Kubespray, verbatim. */
  name: string;
  status: CheckStatus;
  detail: string;
}

const KNOWN_BOOLEANS = ['kubeconfig_localhost', 'kubectl_localhost', 'ntp_enabled', 'local_path_provisioner_enabled', 'metrics_server_enabled', 'download_run_once', 'download_localhost', 'kube_encrypt_secret_data', 'enable_dual_stack_networks', 'ansible_become'];
const OPTIONS: Record<string, readonly string[]> = {
  kube_network_plugin: ['calico', 'flannel', 'cloud', 'cilium', 'cni', 'kube-ovn', 'kube-router', 'macvlan', 'custom_cni', 'none'],
  kube_proxy_mode: ['iptables', 'ipvs', 'nftables'],
  container_manager: ['docker', 'crio', 'containerd'],
};

function isNetwork(cidr: unknown): cidr is string {
  if (typeof cidr !== 'string') return false;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return false;
  if (m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return false;
  const [addr, bits] = cidr.split('/') as [string, string];
  const hostBits = 32 - Number(bits);
  // ipaddr('net') rejects an address with host bits set (10.0.0.1/24 is a host, not a network).
  return hostBits === 32 || ipToInt(addr) % 2 ** hostBits === 0;
}

function range(cidr: string): [number, number] {
  const [addr, bits] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(addr) / size) * size;
  return [start, start + size - 1];
}

export function runInventoryChecks(inventory: KubesprayInventory, groupVars: GroupVars): InventoryCheckResult[] {
  const vars: Record<string, KubesprayValue> = Object.assign({}, ...Object.values(groupVars)) as Record<string, KubesprayValue>;
  const out: InventoryCheckResult[] = [];
  const add = (name: string, status: CheckStatus, detail: string) => out.push({ name, status, detail });
  const na = (name: string, detail: string) => add(name, 'not-applicable', detail);
  const k8sHosts = [...new Set([...inventory.groups.kube_control_plane, ...inventory.groups.kube_node])];

  na('Fail if removed variables are used', 'every rendered name is in the v2.31.0 variable list (checked by a test), so no removed one');
  add('Stop if kube_control_plane group is empty', inventory.groups.kube_control_plane.length > 0 ? 'pass' : 'fail', `kube_control_plane: ${inventory.groups.kube_control_plane.join(', ') || 'empty'}`);
  add('Stop if etcd group is empty in external etcd mode', inventory.groups.etcd.length > 0 ? 'pass' : 'fail', `etcd: ${inventory.groups.etcd.join(', ') || 'empty'}`);
  add('Warn if `kube_network_plugin` is `none`', vars.kube_network_plugin === 'none' ? 'warn' : 'pass', `kube_network_plugin: ${String(vars.kube_network_plugin)}`);
  const version = String(vars.kube_version);
  const supported = KUBESPRAY_KUBE_VERSIONS.includes(version);
  add('Stop if unsupported version of Kubernetes', supported ? 'pass' : 'fail', `kube_version ${version} ${supported ? 'is' : 'is not'} one Kubespray v2.31.0 installs`);
  const stringBools = KNOWN_BOOLEANS.filter((k) => typeof vars[k] === 'string' || Object.values(inventory.hosts).some((h) => typeof h[k] === 'string'));
  add(`Stop if known booleans are set as strings (Use JSON format on CLI: -e "{'key': true }")`, stringBools.length === 0 ? 'pass' : 'fail', stringBools.length === 0 ? 'every boolean is a YAML boolean' : `strings where booleans belong: ${stringBools.join(', ')}`);
  const etcdCount = inventory.groups.etcd.length;
  add('Stop if even number of etcd hosts', etcdCount % 2 === 1 ? 'pass' : 'fail', `${etcdCount} etcd host(s)`);
  const prefix = Number(vars.kube_network_node_prefix ?? 24);
  const maxPods = Number(vars.kubelet_max_pods ?? 110);
  add('Guarantee that enough network address space is available for all pods', maxPods <= 2 ** (32 - prefix) - 2 ? 'pass' : 'fail', `kubelet_max_pods ${maxPods} in a /${prefix} per node (${2 ** (32 - prefix) - 2} addresses)`);
  na('Check cloud_provider value', 'cloud_provider is not set (bare metal)');
  na('Check external_cloud_provider value', 'external_cloud_provider is not set (bare metal)');
  const services = vars.kube_service_addresses;
  const pods = vars.kube_pods_subnet;
  add('Check that kube_service_addresses is a network range', isNetwork(services) ? 'pass' : 'fail', `kube_service_addresses: ${String(services)}`);
  add('Check that kube_pods_subnet is a network range', isNetwork(pods) ? 'pass' : 'fail', `kube_pods_subnet: ${String(pods)}`);
  if (isNetwork(services) && isNetwork(pods)) {
    const [a0, a1] = range(services);
    const [b0, b1] = range(pods);
    const collide = a0 <= b1 && b0 <= a1;
    add('Check that kube_pods_subnet does not collide with kube_service_addresses', collide ? 'fail' : 'pass', `${pods} and ${services} ${collide ? 'overlap' : 'do not overlap'}`);
    const podBits = Number(pods.split('/')[1]);
    const capacity = prefix >= podBits ? 2 ** (prefix - podBits) : 0;
    add('Check that ipv4 IP range is enough for the nodes', capacity >= k8sHosts.length ? 'pass' : 'fail', `${pods} split into /${prefix} gives ${capacity} node range(s) for ${k8sHosts.length} node(s)`);
  } else {
    add('Check that kube_pods_subnet does not collide with kube_service_addresses', 'fail', 'needs two valid network ranges');
    add('Check that ipv4 IP range is enough for the nodes', 'fail', 'needs a valid kube_pods_subnet');
  }
  for (const name of [
    'Check that kube_service_addresses_ipv6 is a network range',
    'Check that kube_pods_subnet_ipv6 is a network range',
    'Check that kube_pods_subnet_ipv6 does not collide with kube_service_addresses_ipv6',
    'Check that ipv6 IP range is enough for the nodes',
  ])
    na(name, 'IPv6 is not enabled');
  const bad = Object.entries(OPTIONS).filter(([k, allowed]) => vars[k] !== undefined && !allowed.includes(String(vars[k])));
  add('Stop if unsupported options selected', bad.length === 0 ? 'pass' : 'fail', bad.length === 0 ? Object.keys(OPTIONS).map((k) => `${k}=${String(vars[k])}`).join(', ') : bad.map(([k]) => `${k}=${String(vars[k])}`).join(', '));
  na('Warn if `enable_dual_stack_networks` is set', 'enable_dual_stack_networks is not set');
  na('Stop if download_localhost is enabled but download_run_once is not', 'download_localhost is not set');
  na('Stop if kata_containers_enabled is enabled when container_manager is docker', 'container_manager is containerd and Kata is not enabled');
  na('Stop if gvisor_enabled is enabled when container_manager is not containerd', 'gVisor is not enabled');
  na('Ensure minimum containerd version', 'containerd_version is left at the Kubespray default');
  na('Stop if auto_renew_certificates is enabled when certificates are managed externally (kube_external_ca_mode is true)', 'neither is set');
  add('Download_file | Check if requested Kubernetes are supported', supported ? 'pass' : 'fail', `kube_version ${version}`);
  return out;
}
