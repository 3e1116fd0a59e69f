// NetworkManager must leave the CNI's interfaces alone: it manipulates the routes of interfaces in
// the host's namespace, where Calico, flannel and Cilium create theirs (RKE2 known issues,
// rancher/rke2-docs:docs/known_issues.md:12-20; Calico's "Configure NetworkManager";
// Kubespray does the same for Calico: kubespray@v2.31.0:roles/kubernetes/preinstall/tasks/
// 0062-networkmanager-unmanaged-devices.yml). Written only where NetworkManager is installed
// (RHEL/Rocky by default; Debian servers usually use ifupdown).

export const NETWORK_MANAGER_CONF = '/etc/NetworkManager/conf.d/vmstation-cni.conf';

/** The interface names RKE2's docs list (flannel, Calico), Cilium's, and kube-proxy's IPVS dummy. */
export const UNMANAGED_INTERFACES = ['flannel*', 'cali*', 'tunl*', 'vxlan.calico', 'vxlan-v6.calico', 'wireguard.cali', 'wg-v6.cali', 'cilium_*', 'lxc*', 'kube-ipvs0'] as const;

export function networkManagerConf(): string {
  return `[keyfile]\nunmanaged-devices=${UNMANAGED_INTERFACES.map((i) => `interface-name:${i}`).join(';')}\n`;
}

export function networkManagerTasks(tags: readonly string[] = []): unknown[] {
  const t = tags.length > 0 ? { tags: [...tags] } : {};
  return [
    { name: 'Is NetworkManager installed?', 'ansible.builtin.stat': { path: '/etc/NetworkManager' }, register: 'vmstation_nm', ...t },
    {
      name: 'NetworkManager leaves the CNI interfaces alone',
      'ansible.builtin.copy': { content: networkManagerConf(), dest: NETWORK_MANAGER_CONF, mode: '0644' },
      register: 'vmstation_nm_conf',
      when: 'vmstation_nm.stat.exists',
      ...t,
    },
    { name: 'Reload NetworkManager', 'ansible.builtin.command': 'systemctl try-reload-or-restart NetworkManager', when: 'vmstation_nm_conf is changed', ...t },
  ];
}
