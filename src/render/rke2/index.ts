// The RKE2 renderer: one config.yaml per node (never the token: it comes from the vault at run
// time and is written on the node as a 0600 drop-in), an inventory, and a playbook that installs
// and starts rke2-server on the first server, then the other servers, then rke2-agent on the
// workers. Rendered only when spec.kubernetes.method is rke2.
import { hasRole, type Cluster, type ClusterNode } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { ansibleYaml } from '../../util/ansible-yaml.js';
import { toYaml } from '../k8s/common.js';
import type { Renderer } from '../registry.js';
import { networkManagerTasks } from '../network/network-manager.js';
import { rke2SelinuxTasks } from '../selinux/index.js';
import { rke2NftablesChartConfig, rke2NftablesTasks } from './nftables.js';

export const RKE2_DIR = 'rke2';
/** Name of the vault secret holding the cluster token (`vmstation secrets set rke2-token`). */
export const RKE2_TOKEN_SECRET = 'rke2-token';
/** The Ansible variable the token is passed in (through a temporary 0600 vars file, never argv). */
export const RKE2_TOKEN_VAR = 'rke2_token';

/** RKE2's release name for a Kubernetes version (its first build of that patch). */
export function rke2Release(version: string): string {
  return `v${version}+rke2r1`;
}

const RKE2_CNI: Record<Cluster['spec']['kubernetes']['cni'], string> = { calico: 'calico', cilium: 'cilium', flannel: 'flannel' };

export function rke2NodeConfig(cluster: Cluster, node: ClusterNode): Record<string, unknown> {
  const k = cluster.spec.kubernetes;
  const servers = cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane'));
  const first = servers[0];
  const isServer = hasRole(node, 'control-plane');
  const joinServer = node.name === first?.name ? undefined : `https://${first?.address ?? ''}:9345`;
  const labels = Object.entries(node.labels).map(([key, v]) => `${key}=${v}`).sort();
  const taints = node.taints.map((t) => `${t.key}${t.value === undefined ? '' : `=${t.value}`}:${t.effect}`);
  const common = {
    'node-name': node.name,
    'node-ip': node.address,
    ...(joinServer ? { server: joinServer } : {}),
    ...(labels.length > 0 ? { 'node-label': labels } : {}),
    ...(taints.length > 0 ? { 'node-taint': taints } : {}),
  };
  if (!isServer) return common;
  const endpointHost = k.controlPlaneEndpoint?.split(':')[0];
  const taintServers = cluster.spec.nodes.some((n) => !hasRole(n, 'control-plane')) && !hasRole(node, 'worker');
  return {
    ...common,
    'write-kubeconfig-mode': '0600',
    cni: RKE2_CNI[k.cni],
    'cluster-cidr': k.podSubnet,
    'service-cidr': k.serviceSubnet,
    'cluster-domain': k.clusterDomain,
    'tls-san': [...new Set([node.address, ...(endpointHost ? [endpointHost] : [])])],
    'kube-proxy-arg': [`proxy-mode=${k.kubeProxyMode}`, 'metrics-bind-address=0.0.0.0:10249'],
    // Scrapable by Prometheus from another node (RKE2 binds them to 127.0.0.1 by default).
    // node-cidr-mask-size: the per-node pod range flannel and Cilium route (kube-controller-manager's default is 24).
    'kube-controller-manager-arg': ['bind-address=0.0.0.0', `node-cidr-mask-size=${k.nodePrefix}`],
    'kube-scheduler-arg': ['bind-address=0.0.0.0'],
    'etcd-expose-metrics': true,
    'secrets-encryption': true,
    // spec.kubernetes.etcd.snapshots (RKE2's own schedule; docs.rke2.io/datastore/backup_restore).
    ...(k.etcd.snapshots.enabled ? { 'etcd-snapshot-schedule-cron': k.etcd.snapshots.schedule, 'etcd-snapshot-retention': k.etcd.snapshots.keep } : { 'etcd-disable-snapshots': true }),
    ...(taintServers ? { 'node-taint': [...taints, 'node-role.kubernetes.io/control-plane:NoSchedule'] } : {}),
  };
}

export function rke2Inventory(cluster: Cluster): unknown {
  const nodes = cluster.spec.nodes;
  const members = (ns: ClusterNode[]) => ({ hosts: Object.fromEntries(ns.map((n) => [n.name, {}])) });
  const servers = nodes.filter((n) => hasRole(n, 'control-plane'));
  return {
    all: {
      hosts: Object.fromEntries(
        nodes.map((n) => [
          n.name,
          { ansible_host: n.address, ansible_port: n.ssh.port, ansible_user: n.ssh.user, ansible_ssh_private_key_file: n.ssh.privateKey, ...(n.ssh.user === 'root' ? {} : { ansible_become: true }) },
        ]),
      ),
      children: {
        rke2_server_first: members(servers.slice(0, 1)),
        rke2_server_other: members(servers.slice(1)),
        rke2_servers: members(servers),
        rke2_agents: members(nodes.filter((n) => !hasRole(n, 'control-plane'))),
      },
    },
  };
}

function installTasks(cluster: Cluster, type: 'server' | 'agent'): unknown[] {
  const release = rke2Release(cluster.spec.kubernetes.version);
  return [
    { name: 'The token was given (from the vault)', 'ansible.builtin.assert': { that: [`${RKE2_TOKEN_VAR} is defined`, `${RKE2_TOKEN_VAR} | length > 0`], fail_msg: `run through vmstation deploy, which reads ${RKE2_TOKEN_SECRET} from the vault`, quiet: true }, no_log: true },
    { name: 'RKE2 configuration folders', 'ansible.builtin.file': { path: '/etc/rancher/rke2/config.yaml.d', state: 'directory', mode: '0700' } },
    { name: 'config.yaml for this node', 'ansible.builtin.copy': { src: '{{ playbook_dir }}/config/{{ inventory_hostname }}.yaml', dest: '/etc/rancher/rke2/config.yaml', mode: '0600' }, register: 'rke2_config' },
    { name: 'The cluster token (drop-in, 0600, never in the render tree)', 'ansible.builtin.copy': { content: `token: "{{ ${RKE2_TOKEN_VAR} }}"\n`, dest: '/etc/rancher/rke2/config.yaml.d/10-token.yaml', mode: '0600' }, no_log: true, register: 'rke2_token_file' },
    { name: 'RKE2 installed from the RPM?', 'ansible.builtin.stat': { path: '/usr/bin/rke2' }, register: 'rke2_binary_rpm' },
    { name: 'RKE2 installed from the tarball?', 'ansible.builtin.stat': { path: '/usr/local/bin/rke2' }, register: 'rke2_binary_tar' },
    // kube-proxy in nftables mode: the CNI follows before RKE2 first starts (./nftables.ts).
    ...rke2NftablesTasks(cluster, type),
    { name: 'RKE2 install script', 'ansible.builtin.get_url': { url: 'https://get.rke2.io', dest: '/usr/local/sbin/rke2-install.sh', mode: '0755' }, tags: ['network'] },
    {
      name: `Install RKE2 ${release} (${type})`,
      'ansible.builtin.command': '/usr/local/sbin/rke2-install.sh',
      environment: { INSTALL_RKE2_VERSION: release, INSTALL_RKE2_TYPE: type },
      // get.rke2.io installs the RPM on RHEL/Rocky (/usr/bin/rke2) and the tarball elsewhere (/usr/local/bin/rke2).
      when: 'not (rke2_binary_rpm.stat.exists or rke2_binary_tar.stat.exists)',
      tags: ['network'],
    },
    {
      name: `rke2-${type} running`,
      'ansible.builtin.systemd_service': { name: `rke2-${type}`, enabled: true, state: "{{ 'restarted' if (rke2_config is changed or rke2_token_file is changed) else 'started' }}" },
    },
  ];
}

export function rke2Playbook(cluster: Cluster): unknown[] {
  const prepare = [
    { name: 'Turn swap off now', 'ansible.builtin.command': 'swapoff -a', changed_when: false },
    { name: 'Keep swap off after reboot', 'ansible.builtin.replace': { path: '/etc/fstab', regexp: '^([^#].*\\sswap\\s.*)$', replace: '# \\1 (disabled by vmstation: the kubelet needs swap off)' } },
    // kernel-modules-extra (RHEL/Rocky 10) comes with the host layer, for every method (src/render/ansible/project.ts).
    ...networkManagerTasks(),
    // RKE2 keeps SELinux enforcing with its own policy: what vmstation adds must fit it (../selinux/index.ts).
    ...rke2SelinuxTasks(cluster),
  ];
  const waitReady = {
    name: 'rke2-server answers (port 9345)',
    'ansible.builtin.wait_for': { host: '{{ ansible_host }}', port: 9345, timeout: 600 },
  };
  return [
    { name: 'Prepare every node for RKE2', hosts: 'all', become: true, tags: ['prepare'], tasks: prepare },
    { name: 'First RKE2 server', hosts: 'rke2_server_first', become: true, tags: ['server'], tasks: [...installTasks(cluster, 'server'), waitReady] },
    { name: 'Other RKE2 servers, one at a time', hosts: 'rke2_server_other', become: true, serial: 1, tags: ['server'], tasks: [...installTasks(cluster, 'server'), waitReady] },
    { name: 'RKE2 agents', hosts: 'rke2_agents', become: true, tags: ['agent'], tasks: installTasks(cluster, 'agent') },
  ];
}

export function rke2ResetPlaybook(): unknown[] {
  return [
    {
      name: 'Uninstall RKE2',
      hosts: 'all',
      become: true,
      tasks: [
        { name: 'rke2-uninstall.sh (tarball install)', 'ansible.builtin.command': '/usr/local/bin/rke2-uninstall.sh', args: { removes: '/usr/local/bin/rke2-uninstall.sh' } },
        { name: 'rke2-uninstall.sh (RPM install)', 'ansible.builtin.command': '/usr/bin/rke2-uninstall.sh', args: { removes: '/usr/bin/rke2-uninstall.sh' } },
        { name: 'vmstation files', 'ansible.builtin.file': { path: '{{ item }}', state: 'absent' }, loop: ['/etc/rancher/rke2', '/usr/local/sbin/rke2-install.sh'] },
      ],
    },
  ];
}

const header = (cluster: Cluster) => `# Rendered by vmstation from cluster ${cluster.metadata.name} (RKE2 ${rke2Release(cluster.spec.kubernetes.version)}). Do not edit.\n`;

/** The server address in RKE2's kubeconfig is 127.0.0.1; users reach the first server instead. */
export function rewriteKubeconfigServer(kubeconfig: string, server: string): string {
  return kubeconfig.replace(/(server:\s*)https:\/\/(127\.0\.0\.1|localhost|\[::1\]):(\d+)/g, `$1${server}`);
}

function chartConfigArtifacts(cluster: Cluster, header: string): Artifact[] {
  const config = rke2NftablesChartConfig(cluster);
  return config ? [{ path: `${RKE2_DIR}/manifests/${config.name}`, component: 'rke2', checker: 'yaml', content: header + config.content }] : [];
}

export const rke2Renderer: Renderer = {
  name: 'rke2',
  render(cluster: Cluster): Artifact[] {
    if (cluster.spec.kubernetes.method !== 'rke2') return [];
    const h = header(cluster);
    return [
      { path: `${RKE2_DIR}/inventory.yaml`, component: 'rke2', checker: 'ansible-inventory', content: h + ansibleYaml(rke2Inventory(cluster)) },
      { path: `${RKE2_DIR}/cluster.yml`, component: 'rke2', checker: 'ansible-syntax', content: h + toYaml(rke2Playbook(cluster)) },
      { path: `${RKE2_DIR}/reset.yml`, component: 'rke2', checker: 'ansible-syntax', content: h + toYaml(rke2ResetPlaybook()) },
      ...chartConfigArtifacts(cluster, h),
      ...cluster.spec.nodes.map((n) => ({ path: `${RKE2_DIR}/config/${n.name}.yaml`, component: 'rke2', checker: 'yaml' as const, content: h + toYaml(rke2NodeConfig(cluster, n)) })),
    ];
  },
};
