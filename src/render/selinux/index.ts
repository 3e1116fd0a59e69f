// SELinux on RHEL/Rocky, per deploy path, as each upstream wants it:
// - kubeadm: permissive. kubeadm's install page (Red Hat-based tab) runs `setenforce 0` and sets
//   SELINUX=permissive in /etc/selinux/config: "required to allow containers to access the host
//   filesystem". containerd's own default config (what the kubeadm path writes) has
//   enable_selinux = false, and container-selinux has no label for kubeadm's /var/lib/etcd.
// - Kubespray: permissive too, its own default (preinstall_selinux_state: permissive), which the
//   Kubespray renderer states explicitly.
// - RKE2: enforcing, with its policy. The RPM install (what get.rke2.io does on RHEL/Rocky) brings
//   rke2-selinux and turns SELinux on in containerd (RKE2_SELINUX=true), so pods run as
//   container_t. What vmstation adds must fit that: Calico needs Tigera's calico-selinux policy
//   (RKE2's SELinux page), the monitoring storage folder is labelled container_file_t as
//   rke2-selinux labels /opt/local-path-provisioner, and the two DaemonSets that read the host
//   (log shipper, node-exporter) run as spc_t (SPC_T below).
// The tasks run where `getenforce` exists and says something other than Disabled.
import type { Cluster } from '../../config/model.js';
import { COMPONENT_PINS } from '../versions.js';

export const SELINUX_CONFIG = '/etc/selinux/config';
/** kubeadm's install page: `sed -i 's/^SELINUX=enforcing$/SELINUX=permissive/' /etc/selinux/config`. */
export const PERMISSIVE_REGEXP = '^SELINUX=enforcing$';
export const PERMISSIVE_LINE = 'SELINUX=permissive';

/** The SELinux type that lets a pod read the host's logs and /proc of other processes (container-selinux's super privileged container). */
export const SPC_T = { type: 'spc_t' } as const;

/** The type rke2-selinux gives /opt/local-path-provisioner (rancher/rke2-selinux policy/*\/rke2.fc): writable by container_t pods. */
export const CONTAINER_FILE_T = 'container_file_t';

const READ_MODE = 'vmstation_getenforce';
/** True where SELinux is on (enforcing or permissive): `getenforce` exists and does not say Disabled. */
const SELINUX_ON = `${READ_MODE}.rc == 0 and ${READ_MODE}.stdout | trim != 'Disabled'`;

function readMode(when: string): Record<string, unknown> {
  return { name: 'SELinux mode', 'ansible.builtin.command': 'getenforce', register: READ_MODE, changed_when: false, failed_when: false, check_mode: false, when };
}

/** kubeadm on RHEL/Rocky: SELinux permissive now and after a reboot, as kubeadm's install page does it. */
export function kubeadmSelinuxTasks(): unknown[] {
  const redhat = "os_family_name == 'redhat'";
  return [
    readMode(redhat),
    { name: 'SELinux permissive now (kubeadm: containers need the host filesystem)', 'ansible.builtin.command': 'setenforce 0', when: `${redhat} and ${READ_MODE}.rc == 0 and ${READ_MODE}.stdout | trim == 'Enforcing'` },
    { name: 'SELinux permissive after a reboot', 'ansible.builtin.replace': { path: SELINUX_CONFIG, regexp: PERMISSIVE_REGEXP, replace: PERMISSIVE_LINE }, when: `${redhat} and ${SELINUX_ON}` },
  ];
}

/** Where the RPM of Tigera's SELinux policy for Calico is (the URL RKE2's SELinux page gives). */
export const CALICO_SELINUX_RPM = COMPONENT_PINS.calicoSelinux.ref;

/** The shell that labels a folder `container_file_t` (a local file-context rule, then restorecon), printing `changed=1` when it changed something. */
export function labelContainerFiles(path: string): string {
  const spec = `${path}(/.*)?`;
  return [
    'set -e',
    `mkdir -p '${path}'`,
    'changed=0',
    `semanage fcontext -l -C | grep -qF '${spec}' || { semanage fcontext -a -t ${CONTAINER_FILE_T} '${spec}'; changed=1; }`,
    `[ -z "$(restorecon -R -v '${path}')" ] || changed=1`,
    'echo "changed=$changed"',
  ].join('\n');
}

/** RKE2 on RHEL/Rocky: what runs on top of RKE2's SELinux policy needs (see the header). */
export function rke2SelinuxTasks(cluster: Cluster): unknown[] {
  const redhat = "ansible_facts['os_family'] == 'RedHat'";
  const { monitoring, kubernetes } = cluster.spec;
  return [
    readMode(redhat),
    // rke2-selinux (which the RKE2 RPM brings later) requires it; the label below needs its types now.
    { name: 'container-selinux (the policy rke2-selinux builds on)', 'ansible.builtin.dnf': { name: 'container-selinux', state: 'present' }, when: redhat, tags: ['network'] },
    ...(kubernetes.cni === 'calico'
      ? [{ name: "Calico's SELinux policy (RKE2's SELinux page: Calico with SELinux needs Tigera's calico-selinux)", 'ansible.builtin.dnf': { name: CALICO_SELINUX_RPM, state: 'present' }, when: `${redhat} and ${SELINUX_ON}`, tags: ['network'] }]
      : []),
    ...(monitoring.enabled
      ? [
          {
            name: `The monitoring storage folder ${monitoring.storage.path} is writable by pods (${CONTAINER_FILE_T})`,
            'ansible.builtin.shell': labelContainerFiles(monitoring.storage.path),
            register: 'vmstation_storage_label',
            changed_when: "'changed=1' in vmstation_storage_label.stdout",
            when: `${redhat} and ${SELINUX_ON} and inventory_hostname == '${monitoring.node}'`,
          },
        ]
      : []),
  ];
}
