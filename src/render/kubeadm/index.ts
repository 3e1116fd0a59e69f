// The kubeadm renderer: an inventory, the kubeadm configuration (ClusterConfiguration and
// friends) and a generated playbook using only ansible.builtin modules:
//   prepare (every node): swap off, kernel modules, sysctls, containerd with systemd cgroups,
//                         pkgs.k8s.io packages held at the version
//   init (first control plane): kubeadm init --config (controller-manager, scheduler and etcd
//                         metrics bound to 0.0.0.0 so Prometheus can scrape them)
//   join (the rest): control-plane nodes with the uploaded certificate key, then workers
//   cni, wait: Calico (or flannel), then every node Ready
// Rendered only when spec.kubernetes.method is kubeadm.
import { hasRole, osFamily, type Cluster, type ClusterNode } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { ansibleYaml } from '../../util/ansible-yaml.js';
import { toYaml } from '../k8s/common.js';
import type { Renderer } from '../registry.js';
import { runtimeTasks } from './runtime.js';
import { cniTasks } from './cni.js';
import { networkManagerTasks } from '../network/network-manager.js';
import { kubeadmSelinuxTasks } from '../selinux/index.js';

export const KUBEADM_DIR = 'kubeadm';
/** Where the rendered kubeadm configuration is copied on the first control-plane node. */
export const KUBEADM_CONFIG_REMOTE = '/etc/kubernetes/vmstation-kubeadm.yaml';

/** CNI manifests, pinned in the one table of upstream versions. Cilium needs its own installer and is refused by validate. */
export { CNI_MANIFESTS } from '../versions.js';

/** Tasks that download from the internet (package repositories, CNI manifests); `--skip-tags network` leaves them out (offline --check runs). */
export const NETWORK = ['network'];

/** Tag of the kernel modules and sysctl tasks. */
export const KERNEL_TAG = 'kernel';
export const KERNEL_MODULES_FILE = '/etc/modules-load.d/vmstation-kubernetes.conf';
export const SYSCTL_FILE = '/etc/sysctl.d/90-vmstation-kubernetes.conf';

/**
 * The pkgs.k8s.io apt repository of a Kubernetes minor, signed by the key in
 * /etc/apt/keyrings ("Installing kubeadm" and, on upgrade, "Changing the package repository":
 * kubernetes.io/docs/tasks/administer-cluster/kubeadm/change-package-repository). Install and
 * upgrade share it, so both point at the same repository file.
 */
export function pkgsK8sAptRepositoryTask(minor: string, name: string): Record<string, unknown> {
  return {
    name,
    'ansible.builtin.apt_repository': { repo: `deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/v${minor}/deb/ /`, filename: 'kubernetes', state: 'present' },
    when: "os_family_name == 'debian'",
    // It installs python3-apt from the network when missing.
    tags: NETWORK,
  };
}

/** The pkgs.k8s.io RPM repository of a minor; its packages are excluded from upgrades (held) unless asked by name. */
export function pkgsK8sRpmRepositoryTask(minor: string, name: string): Record<string, unknown> {
  return {
    name,
    'ansible.builtin.yum_repository': {
      name: 'kubernetes',
      description: `Kubernetes v${minor}`,
      baseurl: `https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/`,
      gpgkey: `https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/repodata/repomd.xml.key`,
      gpgcheck: true,
      exclude: ['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni'],
    },
    when: "os_family_name == 'redhat'",
  };
}

const IPVS_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'];

export function controlPlaneEndpoint(cluster: Cluster): string {
  const ep = cluster.spec.kubernetes.controlPlaneEndpoint;
  if (ep) return ep.includes(':') ? ep : `${ep}:6443`;
  const cp = cluster.spec.nodes.find((n) => hasRole(n, 'control-plane'));
  return `${cp?.address ?? '127.0.0.1'}:6443`;
}

/** The control plane keeps its NoSchedule taint unless it is also a worker or there is no other node to run pods. */
function keepControlPlaneTaint(cluster: Cluster, cp: ClusterNode | undefined): boolean {
  if (!cp || hasRole(cp, 'worker')) return false;
  return cluster.spec.nodes.some((n) => !hasRole(n, 'control-plane'));
}

/** kubeadm's configuration for `kubeadm init --config` (kubeadm.k8s.io/v1beta4, Kubernetes >= 1.31). */
export function kubeadmConfig(cluster: Cluster): unknown[] {
  const k = cluster.spec.kubernetes;
  const cp = cluster.spec.nodes.find((n) => hasRole(n, 'control-plane'));
  const arg = (name: string, value: string) => ({ name, value });
  return [
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      localAPIEndpoint: { advertiseAddress: cp?.address ?? '', bindPort: 6443 },
      nodeRegistration: { name: cp?.name ?? '', criSocket: 'unix:///run/containerd/containerd.sock', taints: keepControlPlaneTaint(cluster, cp) ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : [] },
    },
    {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      clusterName: cluster.metadata.name,
      kubernetesVersion: `v${k.version}`,
      controlPlaneEndpoint: controlPlaneEndpoint(cluster),
      networking: { podSubnet: k.podSubnet, serviceSubnet: k.serviceSubnet, dnsDomain: k.clusterDomain },
      apiServer: { certSANs: [...new Set([cp?.address ?? '', controlPlaneEndpoint(cluster).split(':')[0] ?? ''])].filter(Boolean) },
      // kubeadm binds these to 127.0.0.1 by default: Prometheus on another node could not scrape them.
      // node-cidr-mask-size: the per-node pod range (flannel routes each node's podCIDR); kube-controller-manager's default is 24.
      controllerManager: { extraArgs: [arg('bind-address', '0.0.0.0'), arg('node-cidr-mask-size', String(k.nodePrefix))] },
      scheduler: { extraArgs: [arg('bind-address', '0.0.0.0')] },
      etcd: { local: { extraArgs: [arg('listen-metrics-urls', 'http://0.0.0.0:2381')] } },
    },
    { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd', clusterDomain: k.clusterDomain },
    { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: k.kubeProxyMode, metricsBindAddress: '0.0.0.0:10249' },
  ];
}

function hostVars(n: ClusterNode): Record<string, unknown> {
  return {
    ansible_host: n.address,
    ansible_port: n.ssh.port,
    ansible_user: n.ssh.user,
    ansible_ssh_private_key_file: n.ssh.privateKey,
    ...(n.ssh.user === 'root' ? {} : { ansible_become: true }),
    node_ip: n.address,
    os_family_name: osFamily(n.os),
  };
}

export function kubeadmInventory(cluster: Cluster): unknown {
  const nodes = cluster.spec.nodes;
  const cps = nodes.filter((n) => hasRole(n, 'control-plane'));
  const others = nodes.filter((n) => !hasRole(n, 'control-plane'));
  const members = (ns: ClusterNode[]) => ({ hosts: Object.fromEntries(ns.map((n) => [n.name, {}])) });
  return {
    all: {
      hosts: Object.fromEntries(nodes.map((n) => [n.name, hostVars(n)])),
      children: {
        control_plane_first: members(cps.slice(0, 1)),
        control_plane_other: members(cps.slice(1)),
        control_plane: members(cps),
        workers: members(others),
      },
    },
  };
}

function prepareTasks(cluster: Cluster): unknown[] {
  const k = cluster.spec.kubernetes;
  const minor = k.version.split('.').slice(0, 2).join('.');
  const modules = ['overlay', 'br_netfilter', ...(k.kubeProxyMode === 'ipvs' ? IPVS_MODULES : [])];
  const pkgVersionDeb = `${k.version}-1.1`;
  return [
    { name: 'Turn swap off now', 'ansible.builtin.command': 'swapoff -a', changed_when: false },
    { name: 'Keep swap off after reboot', 'ansible.builtin.replace': { path: '/etc/fstab', regexp: '^([^#].*\\sswap\\s.*)$', replace: '# \\1 (disabled by vmstation: the kubelet needs swap off)' } },
    // kubeadm's install page sets SELinux permissive on Red Hat-based distributions (../selinux/index.ts).
    ...kubeadmSelinuxTasks(),
    { name: 'Load kernel modules at boot', 'ansible.builtin.copy': { dest: KERNEL_MODULES_FILE, content: `${modules.join('\n')}\n`, mode: '0644' }, tags: [KERNEL_TAG] },
    // A container (the lab) can load no module: it shares its host's kernel. --skip-tags modprobe leaves this out there.
    { name: 'Load kernel modules now', 'ansible.builtin.command': `modprobe -a ${modules.join(' ')}`, changed_when: false, tags: [KERNEL_TAG, 'modprobe'] },
    {
      name: 'Kernel settings Kubernetes networking needs',
      'ansible.builtin.copy': { dest: SYSCTL_FILE, content: 'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n', mode: '0644' },
      register: 'sysctl_file',
      tags: [KERNEL_TAG],
    },
    // Only this file: `sysctl --system` also re-applies every other file, and fails where one key is not writable.
    { name: 'Apply kernel settings', 'ansible.builtin.command': `sysctl -p ${SYSCTL_FILE}`, when: 'sysctl_file is changed', tags: [KERNEL_TAG] },
    { name: 'Keyrings folder', 'ansible.builtin.file': { path: '/etc/apt/keyrings', state: 'directory', mode: '0755' }, when: "os_family_name == 'debian'" },
    {
      name: `pkgs.k8s.io signing key (v${minor})`,
      'ansible.builtin.get_url': { url: `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/Release.key`, dest: '/etc/apt/keyrings/kubernetes-apt-keyring.asc', mode: '0644' },
      when: "os_family_name == 'debian'",
      tags: NETWORK,
    },
    pkgsK8sAptRepositoryTask(minor, `pkgs.k8s.io repository (v${minor})`),
    {
      name: 'containerd and Kubernetes packages (Debian/Ubuntu), at the version',
      'ansible.builtin.apt': { name: ['containerd', `kubelet=${pkgVersionDeb}`, `kubeadm=${pkgVersionDeb}`, `kubectl=${pkgVersionDeb}`], state: 'present', update_cache: true, allow_change_held_packages: true },
      when: "os_family_name == 'debian'",
      tags: NETWORK,
    },
    { name: 'Hold the Kubernetes packages at the version', 'ansible.builtin.dpkg_selections': { name: '{{ item }}', selection: 'hold' }, loop: ['kubelet', 'kubeadm', 'kubectl'], when: "os_family_name == 'debian'" },
    pkgsK8sRpmRepositoryTask(minor, `pkgs.k8s.io repository (v${minor}, RPM; excluded from upgrades = held)`),
    {
      name: 'containerd repository (RHEL/Rocky ship none)',
      'ansible.builtin.yum_repository': { name: 'docker-ce-stable', description: 'Docker CE (containerd.io)', baseurl: 'https://download.docker.com/linux/rhel/$releasever/$basearch/stable', gpgkey: 'https://download.docker.com/linux/rhel/gpg', gpgcheck: true },
      when: "os_family_name == 'redhat'",
    },
    {
      name: 'containerd and Kubernetes packages (RHEL/Rocky), at the version',
      'ansible.builtin.dnf': { name: ['containerd.io', `kubelet-${k.version}`, `kubeadm-${k.version}`, `kubectl-${k.version}`], state: 'present', disable_excludes: 'kubernetes' },
      when: "os_family_name == 'redhat'",
      tags: NETWORK,
    },
    ...runtimeTasks(k.version),
    ...networkManagerTasks(),
    { name: 'kubelet enabled', 'ansible.builtin.systemd_service': { name: 'kubelet', enabled: true } },
  ];
}

export function kubeadmPlaybook(cluster: Cluster): unknown[] {
  const k = cluster.spec.kubernetes;
  const expectedNodes = cluster.spec.nodes.length;
  const admin = { KUBECONFIG: '/etc/kubernetes/admin.conf' };
  return [
    { name: 'Prepare every node for kubeadm', hosts: 'all', become: true, tags: ['prepare'], tasks: prepareTasks(cluster) },
    {
      name: 'Initialise the first control-plane node',
      hosts: 'control_plane_first',
      become: true,
      tags: ['init'],
      tasks: [
        { name: 'kubeadm configuration', 'ansible.builtin.copy': { src: '{{ playbook_dir }}/kubeadm-config.yaml', dest: KUBEADM_CONFIG_REMOTE, mode: '0600' } },
        { name: 'kubeadm init', 'ansible.builtin.command': `kubeadm init --config ${KUBEADM_CONFIG_REMOTE} --upload-certs`, args: { creates: '/etc/kubernetes/admin.conf' } },
      ],
    },
    {
      name: 'Join the other nodes',
      hosts: 'control_plane_other:workers',
      become: true,
      serial: 1,
      tags: ['join'],
      tasks: [
        { name: 'Already joined?', 'ansible.builtin.stat': { path: '/etc/kubernetes/kubelet.conf' }, register: 'kubelet_conf' },
        {
          name: 'Join command from the first control-plane node',
          'ansible.builtin.command': 'kubeadm token create --print-join-command',
          delegate_to: "{{ groups['control_plane_first'][0] }}",
          register: 'join_command',
          changed_when: false,
          when: 'not kubelet_conf.stat.exists',
        },
        {
          name: 'Certificate key for another control-plane node',
          'ansible.builtin.shell': 'kubeadm init phase upload-certs --upload-certs | tail -1',
          delegate_to: "{{ groups['control_plane_first'][0] }}",
          register: 'certificate_key',
          changed_when: false,
          no_log: true,
          when: "not kubelet_conf.stat.exists and inventory_hostname in groups['control_plane_other']",
        },
        {
          name: 'kubeadm join',
          'ansible.builtin.command':
            "{{ join_command.stdout }} --node-name {{ inventory_hostname }}{% if inventory_hostname in groups['control_plane_other'] %} --control-plane --apiserver-advertise-address {{ node_ip }} --certificate-key {{ certificate_key.stdout }}{% endif %}",
          no_log: true,
          when: 'not kubelet_conf.stat.exists',
        },
      ],
    },
    {
      name: `Install the CNI (${k.cni})`,
      hosts: 'control_plane_first',
      become: true,
      tags: ['cni'],
      environment: admin,
      tasks: cniTasks(cluster),
    },
    {
      name: 'Wait for every node Ready',
      hosts: 'control_plane_first',
      become: true,
      tags: ['wait'],
      environment: admin,
      tasks: [
        { name: `All ${expectedNodes} nodes registered`, 'ansible.builtin.shell': 'kubectl get nodes -o name | wc -l', register: 'node_count', until: `node_count.stdout | int >= ${expectedNodes}`, retries: 60, delay: 10, changed_when: false },
        { name: 'Every node Ready', 'ansible.builtin.command': 'kubectl wait --for=condition=Ready nodes --all --timeout=600s', changed_when: false },
      ],
    },
  ];
}

export function kubeadmResetPlaybook(): unknown[] {
  return [
    {
      name: 'Reset kubeadm and clean CNI state',
      hosts: 'all',
      become: true,
      tasks: [
        { name: 'kubeadm reset', 'ansible.builtin.command': 'kubeadm reset --force --cri-socket unix:///run/containerd/containerd.sock', args: { removes: '/etc/kubernetes/kubelet.conf' } },
        { name: 'CNI configuration and state', 'ansible.builtin.file': { path: '{{ item }}', state: 'absent' }, loop: ['/etc/cni/net.d', '/var/lib/cni', '/var/lib/calico', '/run/flannel', '/etc/kubernetes', '/var/lib/kubelet', '/var/lib/etcd', '/root/.kube'] },
        { name: 'CNI interfaces', 'ansible.builtin.shell': "for i in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^(cali|tunl|vxlan\\.calico|flannel\\.|cni0|kube-ipvs0)'); do ip link delete \"$i\" || true; done", changed_when: false },
        { name: 'IPVS tables', 'ansible.builtin.shell': 'command -v ipvsadm >/dev/null && ipvsadm --clear || true', changed_when: false },
      ],
    },
  ];
}

const header = (cluster: Cluster) => `# Rendered by vmstation from cluster ${cluster.metadata.name} (kubeadm ${cluster.spec.kubernetes.version}). Do not edit.\n`;

export const kubeadmRenderer: Renderer = {
  name: 'kubeadm',
  render(cluster: Cluster): Artifact[] {
    if (cluster.spec.kubernetes.method !== 'kubeadm') return [];
    const h = header(cluster);
    return [
      { path: `${KUBEADM_DIR}/inventory.yaml`, component: 'kubeadm', checker: 'ansible-inventory', content: h + ansibleYaml(kubeadmInventory(cluster)) },
      { path: `${KUBEADM_DIR}/kubeadm-config.yaml`, component: 'kubeadm', checker: 'yaml', content: h + kubeadmConfig(cluster).map((d) => toYaml(d)).join('---\n') },
      { path: `${KUBEADM_DIR}/cluster.yml`, component: 'kubeadm', checker: 'ansible-syntax', content: h + toYaml(kubeadmPlaybook(cluster)) },
      { path: `${KUBEADM_DIR}/reset.yml`, component: 'kubeadm', checker: 'ansible-syntax', content: h + toYaml(kubeadmResetPlaybook()) },
    ];
  },
};
