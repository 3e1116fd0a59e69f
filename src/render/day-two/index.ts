// Day-two playbooks for the generated methods (Kubespray ships its own upgrade-cluster.yml):
// `kubeadm/upgrade.yml` and `rke2/upgrade.yml`. vmstation runs them one node at a time with
// --limit and --tags, draining before and uncordoning after through the Kubernetes API
// (src/deploy/changes/upgrade.ts), so the playbooks only change the node itself.
// - kubeadm, per kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade: the
//   pkgs.k8s.io repository of the new minor ("Changing the package repository"), kubeadm at the
//   version, then `kubeadm upgrade plan` and `kubeadm upgrade apply` on the first control plane
//   (tag upgrade-apply) or `kubeadm upgrade node` elsewhere (tag upgrade-node); kubelet and
//   kubectl at the version, then daemon-reload and a kubelet restart (tag upgrade-kubelet).
// - RKE2, per docs.rke2.io/upgrades/manual: the install script again with INSTALL_RKE2_VERSION,
//   then a restart of rke2-server or rke2-agent.
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { toYaml } from '../k8s/common.js';
import { KUBEADM_DIR, NETWORK, pkgsK8sAptRepositoryTask, pkgsK8sRpmRepositoryTask } from '../kubeadm/index.js';
import type { Renderer } from '../registry.js';
import { RKE2_DIR, rke2Release } from '../rke2/index.js';

const debian = "os_family_name == 'debian'";
const redhat = "os_family_name == 'redhat'";

function kubeadmPackageTasks(version: string, packages: readonly string[]): unknown[] {
  const minor = version.split('.').slice(0, 2).join('.');
  const deb = `${version}-1.1`;
  return [
    pkgsK8sAptRepositoryTask(minor, `pkgs.k8s.io repository of v${minor}`),
    {
      name: `${packages.join(', ')} ${version} (Debian/Ubuntu; held packages changed on purpose)`,
      'ansible.builtin.apt': { name: packages.map((p) => `${p}=${deb}`), state: 'present', update_cache: true, allow_change_held_packages: true },
      when: debian,
      tags: NETWORK,
    },
    { name: `Hold ${packages.join(', ')} at ${version}`, 'ansible.builtin.dpkg_selections': { name: '{{ item }}', selection: 'hold' }, loop: [...packages], when: debian },
    pkgsK8sRpmRepositoryTask(minor, `pkgs.k8s.io repository of v${minor} (RPM)`),
    { name: `${packages.join(', ')} ${version} (RHEL/Rocky)`, 'ansible.builtin.dnf': { name: packages.map((p) => `${p}-${version}`), state: 'present', disable_excludes: 'kubernetes' }, when: redhat, tags: NETWORK },
  ];
}

export function kubeadmUpgradePlaybook(cluster: Cluster): unknown[] {
  const version = cluster.spec.kubernetes.version;
  const v = `v${version}`;
  return [
    {
      name: `kubeadm upgrade apply ${v} on the first control plane`,
      hosts: 'control_plane_first',
      become: true,
      serial: 1,
      tags: ['upgrade-apply'],
      tasks: [
        ...kubeadmPackageTasks(version, ['kubeadm']),
        { name: 'kubeadm upgrade plan', 'ansible.builtin.command': `kubeadm upgrade plan ${v}`, changed_when: false },
        { name: `kubeadm upgrade apply ${v}`, 'ansible.builtin.command': `kubeadm upgrade apply --yes ${v}` },
      ],
    },
    {
      name: 'kubeadm upgrade node on the other nodes',
      hosts: 'all:!control_plane_first',
      become: true,
      serial: 1,
      tags: ['upgrade-node'],
      tasks: [...kubeadmPackageTasks(version, ['kubeadm']), { name: 'kubeadm upgrade node', 'ansible.builtin.command': 'kubeadm upgrade node' }],
    },
    {
      name: `kubelet and kubectl ${v} (the node is drained by vmstation before this)`,
      hosts: 'all',
      become: true,
      serial: 1,
      tags: ['upgrade-kubelet'],
      tasks: [
        ...kubeadmPackageTasks(version, ['kubelet', 'kubectl']),
        { name: 'Restart the kubelet', 'ansible.builtin.systemd_service': { name: 'kubelet', state: 'restarted', daemon_reload: true } },
      ],
    },
  ];
}

export function rke2UpgradePlaybook(cluster: Cluster): unknown[] {
  const release = rke2Release(cluster.spec.kubernetes.version);
  const type = "{{ 'server' if inventory_hostname in groups['rke2_servers'] else 'agent' }}";
  return [
    {
      name: `RKE2 ${release}, one node at a time (servers first: vmstation limits each run to one node)`,
      hosts: 'all',
      become: true,
      serial: 1,
      tasks: [
        { name: 'RKE2 install script', 'ansible.builtin.get_url': { url: 'https://get.rke2.io', dest: '/usr/local/sbin/rke2-install.sh', mode: '0755', force: true }, tags: NETWORK },
        { name: `Install RKE2 ${release}`, 'ansible.builtin.command': '/usr/local/sbin/rke2-install.sh', environment: { INSTALL_RKE2_VERSION: release, INSTALL_RKE2_TYPE: type }, tags: NETWORK },
        { name: `Restart rke2-${type}`, 'ansible.builtin.systemd_service': { name: `rke2-${type}`, state: 'restarted' } },
      ],
    },
  ];
}

const header = (cluster: Cluster, what: string) => `# Rendered by vmstation from cluster ${cluster.metadata.name}: ${what}. Run by \`vmstation deploy\` one node at a time. Do not edit.\n`;

export const dayTwoRenderer: Renderer = {
  name: 'day-two',
  render(cluster: Cluster): Artifact[] {
    const method = cluster.spec.kubernetes.method;
    if (method === 'kubeadm')
      return [{ path: `${KUBEADM_DIR}/upgrade.yml`, component: 'kubeadm', checker: 'ansible-syntax', content: header(cluster, `kubeadm upgrade to ${cluster.spec.kubernetes.version}`) + toYaml(kubeadmUpgradePlaybook(cluster)) }];
    if (method === 'rke2') return [{ path: `${RKE2_DIR}/upgrade.yml`, component: 'rke2', checker: 'ansible-syntax', content: header(cluster, `RKE2 upgrade to ${rke2Release(cluster.spec.kubernetes.version)}`) + toYaml(rke2UpgradePlaybook(cluster)) }];
    return [];
  },
};
