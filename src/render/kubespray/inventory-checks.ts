// Kubespray v2.31.0's inventory checks (kubernetes-sigs/kubespray@v2.31.0:
// roles/validate_inventory/tasks/main.yml), reproduced on what we render, so a bad inventory fails
// in seconds at render/plan time instead of minutes into cluster.yml. Each check evaluates the
// task's own `when:` and `assert:` on the rendered variables laid over Kubespray's defaults: a
// task whose `when:` is false is `skipped`, exactly as ansible-playbook would print it.
import { KUBESPRAY_KUBE_VERSIONS } from '../../config/data/kubespray-versions.js';
import { ipToInt } from '../../config/model.js';
import type { GroupVars, KubesprayInventory, KubesprayValue } from './vars.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skipped';

export interface InventoryCheckResult {
  /** The task name in Kubespray, verbatim. */
  name: string;
  status: CheckStatus;
  detail: string;
}

/**
 * The defaults these checks read, where we do not render the variable. Sources (v2.31.0):
 * roles/kubespray_defaults/defaults/main/main.yml (most), roles/kubernetes/node/defaults/main.yml
 * (kubelet_max_pods), roles/kubernetes/control-plane/defaults/main/main.yml
 * (auto_renew_certificates), roles/kubespray_defaults/vars/main/checksums.yml (containerd_version
 * is the first key of containerd_archive_checksums: 2.2.3).
 */
export const KUBESPRAY_CHECK_DEFAULTS: Readonly<Record<string, KubesprayValue>> = {
  ignore_assert_errors: false,
  etcd_deployment_type: 'host',
  kube_network_plugin: 'calico',
  kube_network_node_prefix: 24,
  kubelet_max_pods: 110,
  ipv4_stack: true,
  cloud_provider: '',
  external_cloud_provider: '',
  download_run_once: false,
  download_always_pull: false,
  download_localhost: false,
  helm_enabled: false,
  openstack_lbaas_enabled: false,
  kata_containers_enabled: false,
  gvisor_enabled: false,
  container_manager: 'containerd',
  containerd_version: '2.2.3',
  dns_mode: 'coredns',
  cert_management: 'script',
  resolvconf_mode: 'host_resolvconf',
  kube_proxy_mode: 'ipvs',
  kube_external_ca_mode: false,
  auto_renew_certificates: false,
};
/** `removed_vars` of the first task (variables removed in 2.31.0). */
const REMOVED_VARS = ['kubelet_static_pod_path'];
const CONTAINERD_MIN_VERSION = '1.3.7';
const OPTIONS: ReadonlyArray<[string, readonly string[]]> = [
  ['kube_network_plugin', ['calico', 'flannel', 'cloud', 'cilium', 'cni', 'kube-ovn', 'kube-router', 'macvlan', 'custom_cni', 'none']],
  ['dns_mode', ['coredns', 'coredns_dual', 'manual', 'none']],
  ['kube_proxy_mode', ['iptables', 'ipvs', 'nftables']],
  ['cert_management', ['script', 'none']],
  ['resolvconf_mode', ['docker_dns', 'host_resolvconf', 'none']],
  ['etcd_deployment_type', ['host', 'docker', 'kubeadm']],
  ['container_manager', ['docker', 'crio', 'containerd']],
];
const STRICT_BOOLEANS = ['download_run_once', 'download_always_pull', 'helm_enabled', 'openstack_lbaas_enabled'];

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

/** Ansible's `version(..., '>=')` for dotted numeric versions. */
function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** Jinja truthiness of a variable (an empty string is false). */
const truthy = (v: KubesprayValue | undefined): boolean => v !== undefined && v !== false && v !== '' && v !== 0;

interface Ctx {
  vars: Record<string, KubesprayValue>;
  inventory: KubesprayInventory;
  hostVarNames: Set<string>;
  /** Records one check: `when` false → skipped; else the assertion's outcome. */
  check(name: string, when: boolean, ok: boolean, detail: string): void;
  warn(name: string, when: boolean, detail: string): void;
}

function groupChecks({ vars, inventory, hostVarNames, check, warn }: Ctx): void {
  const asserting = !truthy(vars.ignore_assert_errors);
  const rendered = new Set([...Object.keys(vars), ...hostVarNames]);
  const removed = REMOVED_VARS.filter((v) => rendered.has(v));
  check('Fail if removed variables are used', true, removed.length === 0, removed.length === 0 ? `none of ${REMOVED_VARS.join(', ')} is set` : `removed variables present: ${removed.join(', ')}`);
  check('Stop if kube_control_plane group is empty', asserting, inventory.groups.kube_control_plane.length > 0, `kube_control_plane: ${inventory.groups.kube_control_plane.join(', ') || 'empty'}`);
  check('Stop if etcd group is empty in external etcd mode', asserting, inventory.groups.etcd.length > 0 || vars.etcd_deployment_type === 'kubeadm', `etcd: ${inventory.groups.etcd.join(', ') || 'empty'} (etcd_deployment_type ${String(vars.etcd_deployment_type)})`);
  warn('Warn if `kube_network_plugin` is `none`', vars.kube_network_plugin === 'none', 'kube_network_plugin is none: the network configuration will be skipped');
  const version = String(vars.kube_version);
  // kube_version_min_required: the oldest version Kubespray has kubelet checksums for.
  const minimum = KUBESPRAY_KUBE_VERSIONS.reduce((min, v) => (versionAtLeast(v, min) ? min : v));
  check('Stop if unsupported version of Kubernetes', asserting, versionAtLeast(version, minimum), `kube_version ${version}, kube_version_min_required ${minimum}`);
  const stringBools = STRICT_BOOLEANS.filter((k) => typeof vars[k] !== 'boolean');
  check(`Stop if known booleans are set as strings (Use JSON format on CLI: -e "{'key': true }")`, asserting, stringBools.length === 0, stringBools.length === 0 ? `${STRICT_BOOLEANS.join(', ')} are booleans` : `not booleans: ${stringBools.join(', ')}`);
  const etcdCount = (inventory.groups.etcd.length > 0 ? inventory.groups.etcd : inventory.groups.kube_control_plane).length;
  check('Stop if even number of etcd hosts', asserting, etcdCount % 2 === 1, `${etcdCount} etcd host(s)`);
}

function networkChecks({ vars, inventory, check }: Ctx): void {
  const asserting = !truthy(vars.ignore_assert_errors);
  const ipv4 = truthy(vars.ipv4_stack);
  const plugin = String(vars.kube_network_plugin);
  const prefix = Number(vars.kube_network_node_prefix);
  const maxPods = Number(vars.kubelet_max_pods);
  const k8sHosts = new Set([...inventory.groups.kube_control_plane, ...inventory.groups.kube_node]);
  check('Guarantee that enough network address space is available for all pods', asserting && k8sHosts.size > 0 && !['calico', 'none'].includes(plugin) && ipv4, maxPods <= 2 ** (32 - prefix) - 2, `kubelet_max_pods ${maxPods} in a /${prefix} per node (${2 ** (32 - prefix) - 2} addresses)`);
  check('Check cloud_provider value', truthy(vars.cloud_provider) && asserting, vars.cloud_provider === 'external', `cloud_provider: ${JSON.stringify(vars.cloud_provider)}`);
  check('Check external_cloud_provider value', vars.cloud_provider === 'external' && asserting, ['hcloud', 'huaweicloud', 'oci', 'openstack', 'vsphere', 'manual'].includes(String(vars.external_cloud_provider)), `external_cloud_provider: ${JSON.stringify(vars.external_cloud_provider)}`);
  const services = vars.kube_service_addresses;
  const pods = vars.kube_pods_subnet;
  check('Check that kube_service_addresses is a network range', ipv4, isNetwork(services), `kube_service_addresses: ${String(services)}`);
  check('Check that kube_pods_subnet is a network range', ipv4, isNetwork(pods), `kube_pods_subnet: ${String(pods)}`);
  const both = isNetwork(services) && isNetwork(pods);
  const collide = both && (([a0, a1], [b0, b1]) => a0 <= b1 && b0 <= a1)(range(services), range(pods));
  check('Check that kube_pods_subnet does not collide with kube_service_addresses', ipv4, both && !collide, both ? `${pods} and ${services} ${collide ? 'overlap' : 'do not overlap'}` : 'needs two valid network ranges');
  const podBits = isNetwork(pods) ? Number(pods.split('/')[1]) : NaN;
  const capacity = prefix >= podBits ? 2 ** (prefix - podBits) : 0;
  check('Check that ipv4 IP range is enough for the nodes', ipv4 && plugin !== 'calico', capacity >= k8sHosts.size, `${String(pods)} split into /${prefix} gives ${capacity} node range(s) for ${k8sHosts.size} node(s)`);
  // ipv6_stack defaults to enable_dual_stack_networks (false): we render IPv4 only.
  const ipv6 = truthy(vars.ipv6_stack ?? vars.enable_dual_stack_networks);
  for (const name of [
    'Check that kube_service_addresses_ipv6 is a network range',
    'Check that kube_pods_subnet_ipv6 is a network range',
    'Check that kube_pods_subnet_ipv6 does not collide with kube_service_addresses_ipv6',
    'Check that ipv6 IP range is enough for the nodes',
  ])
    check(name, ipv6, false, 'IPv6 ranges are not rendered: vmstation sets up IPv4 clusters only');
}

function optionChecks({ vars, check, warn }: Ctx): void {
  const asserting = !truthy(vars.ignore_assert_errors);
  const bad = OPTIONS.filter(([k, allowed]) => !allowed.includes(String(vars[k]))).map(([k]) => `${k}=${String(vars[k])}`);
  if (!['host', 'kubeadm'].includes(String(vars.etcd_deployment_type)) && vars.container_manager !== 'docker') bad.push(`etcd_deployment_type=${String(vars.etcd_deployment_type)} needs container_manager docker`);
  check('Stop if unsupported options selected', true, bad.length === 0, bad.length === 0 ? OPTIONS.map(([k]) => `${k}=${String(vars[k])}`).join(', ') : bad.join(', '));
  warn('Warn if `enable_dual_stack_networks` is set', vars.enable_dual_stack_networks !== undefined, 'enable_dual_stack_networks is deprecated: use ipv4_stack and ipv6_stack');
  check('Stop if download_localhost is enabled but download_run_once is not', truthy(vars.download_localhost), truthy(vars.download_run_once), `download_localhost ${String(vars.download_localhost)}, download_run_once ${String(vars.download_run_once)}`);
  check('Stop if kata_containers_enabled is enabled when container_manager is docker', truthy(vars.kata_containers_enabled), vars.container_manager !== 'docker', `container_manager ${String(vars.container_manager)}`);
  check('Stop if gvisor_enabled is enabled when container_manager is not containerd', truthy(vars.gvisor_enabled), vars.container_manager === 'containerd', `container_manager ${String(vars.container_manager)}`);
  const containerd = String(vars.containerd_version);
  check('Ensure minimum containerd version', !['latest', 'edge', 'stable'].includes(containerd) && vars.container_manager === 'containerd', versionAtLeast(containerd, CONTAINERD_MIN_VERSION), `containerd_version ${containerd} (minimum ${CONTAINERD_MIN_VERSION})`);
  check('Stop if auto_renew_certificates is enabled when certificates are managed externally (kube_external_ca_mode is true)', truthy(vars.kube_external_ca_mode) && asserting, !truthy(vars.auto_renew_certificates), `auto_renew_certificates ${String(vars.auto_renew_certificates)}`);
  const version = String(vars.kube_version);
  check('Download_file | Check if requested Kubernetes are supported', true, KUBESPRAY_KUBE_VERSIONS.includes(version), `kube_version ${version} ${KUBESPRAY_KUBE_VERSIONS.includes(version) ? 'has' : 'has no'} kubeadm/kubelet/kubectl checksums for amd64`);
}

export function runInventoryChecks(inventory: KubesprayInventory, groupVars: GroupVars): InventoryCheckResult[] {
  const rendered = Object.assign({}, ...Object.values(groupVars)) as Record<string, KubesprayValue>;
  const out: InventoryCheckResult[] = [];
  const ctx: Ctx = {
    vars: { ...KUBESPRAY_CHECK_DEFAULTS, ...rendered },
    inventory,
    hostVarNames: new Set(Object.values(inventory.hosts).flatMap((h) => Object.keys(h))),
    check: (name, when, ok, detail) => out.push({ name, status: !when ? 'skipped' : ok ? 'pass' : 'fail', detail }),
    warn: (name, when, detail) => out.push({ name, status: when ? 'warn' : 'skipped', detail }),
  };
  groupChecks(ctx);
  networkChecks(ctx);
  optionChecks(ctx);
  return out;
}
