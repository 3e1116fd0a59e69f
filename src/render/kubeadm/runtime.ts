// containerd for kubeadm, from the OS package, configured as the kubelet needs it whatever the
// package ships:
// - Debian's `containerd` ships /etc/containerd/config.toml (CNI bin_dir /usr/lib/cni, no
//   SystemdCgroup), so "write the default config unless the file exists" never writes it;
// - Docker's `containerd.io` (RHEL) ships `disabled_plugins = ["cri"]`: no CRI for the kubelet.
// So the config is always containerd's own default (`containerd config default`: CRI on, CNI
// binaries from /opt/cni/bin, where kubernetes-cni and the CNI manifests put them) with systemd
// cgroups and kubeadm's pause image, written only when it differs, and the running containerd is
// checked before kubeadm needs it. Same text every run: a second run changes nothing.

/** Tag of the runtime tasks (`--tags runtime` runs only them). */
export const RUNTIME_TAG = 'runtime';

/**
 * The pause image kubeadm uses per Kubernetes minor (kubernetes-sigs/kubespray@v2.31.0:
 * roles/kubespray_defaults/vars/main/main.yml pod_infra_supported_versions).
 */
export const PAUSE_VERSIONS: Readonly<Record<string, string>> = { '1.35': '3.10.1', '1.34': '3.10.1', '1.33': '3.10' };

export function pauseImage(kubernetesVersion: string): string {
  const minor = kubernetesVersion.split('.').slice(0, 2).join('.');
  const v = PAUSE_VERSIONS[minor];
  if (!v) throw new Error(`no pause image known for Kubernetes ${minor} (the validator should have refused it)`);
  return `registry.k8s.io/pause:${v}`;
}

/**
 * The edits to `containerd config default`: containerd 1.x (config version 2: `sandbox_image = "..."`)
 * and 2.x (version 3: `sandbox = '...'`) both print `SystemdCgroup = false` for runc.
 */
export function containerdConfigCommand(kubernetesVersion: string): string {
  const pause = pauseImage(kubernetesVersion);
  return [
    'containerd config default',
    `sed -E -e 's/SystemdCgroup = false/SystemdCgroup = true/' -e 's#^( *sandbox_image = )"[^"]*"#\\1"${pause}"#' -e "s#^( *sandbox = )'[^']*'#\\1'${pause}'#"`,
  ].join(' | ');
}

/** Reads the running containerd: the CRI plugin's status and the effective settings the kubelet depends on. */
export const CONTAINERD_CHECK = [
  'set -e',
  "cri=$(ctr plugins ls | awk '$2 == \"cri\" && $1 ~ /grpc/ {print $NF}')",
  'dump=$(containerd config dump)',
  'echo "cri=$cri"',
  'echo "$dump" | grep -q "SystemdCgroup = true" && echo systemd_cgroup=true || echo systemd_cgroup=false',
  "echo \"$dump\" | grep -Eq \"bin_dirs? = .*/opt/cni/bin\" && echo cni_bin_dir=/opt/cni/bin || echo cni_bin_dir=other",
].join('\n');

export function runtimeTasks(kubernetesVersion: string): unknown[] {
  const tags = [RUNTIME_TAG];
  return [
    { name: 'containerd configuration folder', 'ansible.builtin.file': { path: '/etc/containerd', state: 'directory', mode: '0755' }, tags },
    {
      name: "containerd's own default configuration, with systemd cgroups and kubeadm's pause image",
      'ansible.builtin.shell': containerdConfigCommand(kubernetesVersion),
      register: 'containerd_wanted',
      changed_when: false,
      check_mode: false,
      tags,
    },
    {
      name: 'containerd configuration (replaces what the OS package ships)',
      'ansible.builtin.copy': { content: '{{ containerd_wanted.stdout }}\n', dest: '/etc/containerd/config.toml', mode: '0644', backup: true },
      register: 'containerd_config',
      tags,
    },
    { name: 'containerd running', 'ansible.builtin.systemd_service': { name: 'containerd', state: "{{ 'restarted' if containerd_config is changed else 'started' }}", enabled: true }, tags },
    {
      name: 'The running containerd has its CRI plugin, systemd cgroups and CNI binaries in /opt/cni/bin',
      'ansible.builtin.shell': CONTAINERD_CHECK,
      register: 'containerd_running',
      changed_when: false,
      check_mode: false,
      until: "'cri=ok' in containerd_running.stdout_lines",
      retries: 10,
      delay: 2,
      failed_when: "containerd_running.rc != 0 or containerd_running.stdout_lines != ['cri=ok', 'systemd_cgroup=true', 'cni_bin_dir=/opt/cni/bin']",
      // In --check mode containerd was not (re)started with the new configuration: nothing to read yet.
      when: 'not ansible_check_mode',
      tags,
    },
  ];
}
