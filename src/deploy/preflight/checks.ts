// Preflight decisions (pure): the facts read on a node in, one result per check out. Every
// failing check says why it matters and how to fix it.
import { METHOD_SUPPORT } from '../../config/methods.js';
import { etcdMembers, hasRole, type Cluster, type ClusterNode } from '../../config/model.js';
import type { OsName } from '../../config/schema.js';
import type { ProbeFacts } from './probe.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export const CHECK_IDS = ['os', 'cpu', 'memory', 'disk', 'swap', 'ports', 'clock', 'selinux', 'modules', 'runtimes', 'sudo', 'wol', 'suspend'] as const;
export type CheckId = (typeof CHECK_IDS)[number];

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** What was seen, in a few words. */
  observed: string;
  /** Why it matters (failures and warnings). */
  why?: string;
  /** How to fix it (failures and warnings). */
  fix?: string;
}

/** Minimums per role (kubeadm's documented minimums; Kubespray asks for less). */
export const MINIMUMS = {
  'control-plane': { cpus: 2, memMiB: 1700, diskGiB: 20, memLabel: '2 GiB' },
  worker: { cpus: 1, memMiB: 900, diskGiB: 10, memLabel: '1 GiB' },
} as const;

/** Largest clock offset against the NTP server node that passes (the alert threshold too). */
export const MAX_CLOCK_OFFSET_S = 0.5;

const OWN_LISTENERS = /^(kubelet|kube-apiserver|kube-controller|kube-scheduler|kube-proxy|etcd|rke2|containerd|calico-node|node_exporter|prometheus-node|flanneld|cilium-agent)/;

export interface RequiredPort {
  port: number;
  what: string;
}

export function requiredPorts(cluster: Cluster, node: ClusterNode): RequiredPort[] {
  const { method } = cluster.spec.kubernetes;
  const ports: RequiredPort[] = [];
  if (hasRole(node, 'control-plane')) {
    ports.push({ port: 6443, what: 'kube-apiserver' }, { port: 10257, what: 'kube-controller-manager' }, { port: 10259, what: 'kube-scheduler' });
    if (method === 'rke2') ports.push({ port: 9345, what: 'rke2 supervisor' });
  }
  if (etcdMembers(cluster.spec.nodes).some((n) => n.name === node.name)) ports.push({ port: 2379, what: 'etcd client' }, { port: 2380, what: 'etcd peer' });
  ports.push({ port: 10250, what: 'kubelet' }, { port: 10256, what: 'kube-proxy health' });
  if (cluster.spec.monitoring.enabled && cluster.spec.monitoring.exporters.node) ports.push({ port: 9100, what: 'node-exporter' });
  return ports.sort((a, b) => a.port - b.port);
}

export function requiredModules(cluster: Cluster): string[] {
  const base = ['overlay', 'br_netfilter', 'nf_conntrack'];
  return cluster.spec.kubernetes.kubeProxyMode === 'ipvs' ? [...base, 'ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh'] : base;
}

/** `debian` + `12` -> debian-12; `rocky` + `9.4` -> rocky-9; `ubuntu` + `24.04` -> ubuntu-24.04. */
export function osNameOf(id: string, versionId: string): string {
  const major = versionId.split('.')[0] ?? versionId;
  return id === 'ubuntu' ? `ubuntu-${versionId}` : `${id}-${major}`;
}

const gib = (kib: number) => kib / 1024 / 1024;

export interface NodeContext {
  cluster: Cluster;
  node: ClusterNode;
  facts: ProbeFacts;
  /** Offset of this node's clock against the NTP server node in seconds; undefined when not measured. */
  clockOffsetS?: number | undefined;
  /** Name of the node the offset was measured against. */
  clockReference?: string | undefined;
}

export function evaluateNode(ctx: NodeContext): CheckResult[] {
  return [checkOs, checkCpu, checkMemory, checkDisk, checkSwap, checkPorts, checkClock, checkSelinux, checkModules, checkRuntimes, checkSudo, checkWol, checkSuspend].map((f) => f(ctx));
}

function role(node: ClusterNode): keyof typeof MINIMUMS {
  return hasRole(node, 'control-plane') ? 'control-plane' : 'worker';
}

function checkOs({ cluster, node, facts }: NodeContext): CheckResult {
  const actual = osNameOf(facts.os.id, facts.os.versionId);
  const support = METHOD_SUPPORT[cluster.spec.kubernetes.method];
  if (actual !== node.os)
    return {
      id: 'os',
      status: 'fail',
      observed: `${facts.os.pretty} (${actual}); the cluster file says ${node.os}`,
      why: 'packages, repositories and the firewall tool are chosen by the OS the cluster file names',
      fix: `set os: ${actual} for ${node.name} in the cluster file, or reinstall the host with ${node.os}`,
    };
  if (!support.os.includes(actual as OsName))
    return { id: 'os', status: 'fail', observed: `${facts.os.pretty}`, why: `${support.title} does not support ${actual}`, fix: `use one of ${support.os.join(', ')}, or another method` };
  return { id: 'os', status: 'pass', observed: `${facts.os.pretty}, supported by ${support.title}` };
}

function checkCpu({ node, facts }: NodeContext): CheckResult {
  const min = MINIMUMS[role(node)];
  return facts.cpus >= min.cpus
    ? { id: 'cpu', status: 'pass', observed: `${facts.cpus} CPU(s) (minimum ${min.cpus})` }
    : { id: 'cpu', status: 'fail', observed: `${facts.cpus} CPU(s), minimum ${min.cpus} for a ${role(node)} node`, why: 'kubeadm refuses a control plane with fewer than 2 CPUs; pods stay Pending on a starved node', fix: 'give the host more CPUs or move the role to a bigger host' };
}

function checkMemory({ node, facts }: NodeContext): CheckResult {
  const min = MINIMUMS[role(node)];
  const mib = Math.round(facts.memTotalKiB / 1024);
  return mib >= min.memMiB
    ? { id: 'memory', status: 'pass', observed: `${mib} MiB (minimum ${min.memLabel})` }
    : { id: 'memory', status: 'fail', observed: `${mib} MiB, minimum ${min.memLabel} for a ${role(node)} node`, why: 'the kubelet evicts pods under memory pressure and etcd/apiserver get OOM-killed', fix: 'add memory or move the role to a bigger host' };
}

function checkDisk({ node, facts }: NodeContext): CheckResult {
  const min = MINIMUMS[role(node)];
  const free = gib(facts.diskAvailKiB);
  const shown = `${free.toFixed(1)} GiB free on ${facts.diskMount} (holds /var)`;
  return free >= min.diskGiB
    ? { id: 'disk', status: 'pass', observed: `${shown}, minimum ${min.diskGiB} GiB` }
    : { id: 'disk', status: 'fail', observed: `${shown}, minimum ${min.diskGiB} GiB`, why: 'images, etcd, Prometheus and Loki live under /var; the kubelet starts evicting pods at 85% disk use', fix: 'free space under /var or grow the file system' };
}

function checkSwap({ facts }: NodeContext): CheckResult {
  if (facts.activeSwap.length > 0 || facts.swapTotalKiB > 0)
    return {
      id: 'swap',
      status: 'fail',
      observed: `swap active: ${facts.activeSwap.join(', ') || `${facts.swapTotalKiB} KiB`}`,
      why: 'the kubelet refuses to start with swap on (failSwapOn) unless swap support is configured',
      fix: 'run `swapoff -a` and comment the swap lines in /etc/fstab (the deploy does this too)',
    };
  if (facts.fstabSwap.length > 0)
    return {
      id: 'swap',
      status: 'fail',
      observed: `swap configured in /etc/fstab (${facts.fstabSwap.join(', ')}), turned on at the next boot`,
      why: 'after a reboot swap comes back and the kubelet will not start',
      fix: 'comment the swap lines in /etc/fstab (the deploy does this too)',
    };
  return { id: 'swap', status: 'pass', observed: 'off, and none in /etc/fstab' };
}

function checkPorts({ cluster, node, facts }: NodeContext): CheckResult {
  const required = requiredPorts(cluster, node);
  const taken: string[] = [];
  const ours: string[] = [];
  for (const r of required) {
    const users = facts.listening.filter((l) => l.port === r.port);
    if (users.length === 0) continue;
    const procs = [...new Set(users.map((u) => u.process ?? 'unknown process'))];
    if (procs.every((p) => OWN_LISTENERS.test(p))) ours.push(`${r.port} (${procs.join(', ')})`);
    else taken.push(`${r.port} (${r.what}) is used by ${procs.join(', ')}`);
  }
  const list = required.map((r) => r.port).join(', ');
  if (taken.length > 0)
    return { id: 'ports', status: 'fail', observed: taken.join('; '), why: 'Kubernetes components cannot bind a port another program holds, and fail to start', fix: 'stop or reconfigure the program holding the port (`ss -tlnp` shows it)' };
  return { id: 'ports', status: 'pass', observed: ours.length > 0 ? `free: ${list}; already ours: ${ours.join(', ')}` : `free: ${list}` };
}

function checkClock({ node, clockOffsetS, clockReference }: NodeContext): CheckResult {
  if (clockReference === node.name) return { id: 'clock', status: 'pass', observed: 'this node is the NTP server (the reference)' };
  if (clockOffsetS === undefined) return { id: 'clock', status: 'skip', observed: `not measured: the NTP server node ${clockReference ?? ''} did not answer` };
  const shown = `${clockOffsetS >= 0 ? '+' : ''}${clockOffsetS.toFixed(3)} s against ${clockReference ?? 'the NTP server'}`;
  return Math.abs(clockOffsetS) < MAX_CLOCK_OFFSET_S
    ? { id: 'clock', status: 'pass', observed: shown }
    : { id: 'clock', status: 'fail', observed: shown, why: 'certificates look not-yet-valid, etcd elections flap and logs interleave wrongly when clocks disagree', fix: `start chrony pointing at ${clockReference ?? 'the NTP server'} (the host layer does) and wait for it to converge; \`chronyc tracking\` shows the offset` };
}

// Preflight agrees with the playbooks (src/render/selinux): kubeadm and Kubespray switch SELinux
// to permissive, as their upstreams do; RKE2 keeps it enforcing with its own policy.
function checkSelinux({ cluster, facts }: NodeContext): CheckResult {
  const { method, cni } = cluster.spec.kubernetes;
  if (facts.selinux !== 'enforcing') return { id: 'selinux', status: 'pass', observed: facts.selinux === 'absent' ? 'not present' : facts.selinux };
  if (method === 'rke2')
    return { id: 'selinux', status: 'pass', observed: `enforcing (RKE2 ships its SELinux policy${cni === 'calico' ? "; the deploy adds Tigera's calico-selinux for Calico" : ''})` };
  const who = method === 'kubespray' ? 'Kubespray (preinstall_selinux_state: permissive)' : "kubeadm's install page";
  return {
    id: 'selinux',
    status: 'warn',
    observed: 'enforcing',
    why: `${who} sets SELinux permissive so containers can use the host filesystem; the deploy does the same (setenforce 0 and SELINUX=permissive in /etc/selinux/config)`,
    fix: 'nothing to do, or set it permissive yourself first; choose method: rke2 to keep SELinux enforcing',
  };
}

function checkModules({ cluster, facts }: NodeContext): CheckResult {
  const want = requiredModules(cluster);
  const missing = want.filter((m) => (facts.modules[m] ?? 'missing') === 'missing');
  const loadable = want.filter((m) => facts.modules[m] === 'loadable');
  if (missing.length > 0)
    return {
      id: 'modules',
      status: 'fail',
      observed: `missing: ${missing.join(', ')}`,
      why: missing.some((m) => m.startsWith('ip_vs')) ? `kube-proxy in ${cluster.spec.kubernetes.kubeProxyMode} mode needs IPVS; pod networking needs overlay and br_netfilter` : 'containerd needs overlay; pod networking needs br_netfilter and conntrack',
      fix: missing.some((m) => m.startsWith('ip_vs')) ? 'install the kernel modules package for this kernel, or set kubernetes.kubeProxyMode: iptables' : 'install the kernel modules package for this kernel (`modprobe` must find them)',
    };
  return { id: 'modules', status: 'pass', observed: loadable.length > 0 ? `present; loadable (the deploy loads them): ${loadable.join(', ')}` : `present: ${want.join(', ')}` };
}

function checkRuntimes({ cluster, facts }: NodeContext): CheckResult {
  const { method } = cluster.spec.kubernetes;
  const found: string[] = [];
  const { bins, paths } = facts.runtimes;
  const rke2 = bins.rke2 !== undefined || paths.some((p) => p.includes('rke2'));
  const k3s = bins.k3s !== undefined || paths.some((p) => p.includes('k3s'));
  const kubelet = bins.kubelet !== undefined || paths.some((p) => p.startsWith('/var/lib/kubelet') || p.startsWith('/etc/kubernetes'));
  if (k3s) found.push('k3s');
  if (rke2 && method !== 'rke2') found.push('RKE2');
  if (kubelet && method === 'rke2' && bins.kubelet !== undefined) found.push(`kubelet${facts.runtimes.kubeletVersion ? ` ${facts.runtimes.kubeletVersion}` : ''}`);
  if (kubelet && method !== 'rke2' && facts.runtimes.kubeletVersion && !facts.runtimes.kubeletVersion.replace(/^v/, '').startsWith(cluster.spec.kubernetes.version.split('.').slice(0, 2).join('.')))
    found.push(`an old kubelet ${facts.runtimes.kubeletVersion}`);
  if (found.length > 0)
    return {
      id: 'runtimes',
      status: 'fail',
      observed: `leftovers: ${found.join(', ')}`,
      why: 'two Kubernetes distributions fight over ports, CNI files and iptables rules; an old kubelet joins with the wrong version',
      fix: found.includes('k3s') ? 'run /usr/local/bin/k3s-uninstall.sh (or k3s-agent-uninstall.sh)' : found.includes('RKE2') ? 'run rke2-uninstall.sh' : '`vmstation reset` with the method that installed it, or `kubeadm reset` and remove the packages',
    };
  return { id: 'runtimes', status: 'pass', observed: kubelet || rke2 ? `Kubernetes by ${method} already present (a re-deploy converges it)` : 'none' };
}

function checkSudo({ node, facts }: NodeContext): CheckResult {
  if (facts.sudo === 'root') return { id: 'sudo', status: 'pass', observed: 'connected as root' };
  if (facts.sudo === 'yes') return { id: 'sudo', status: 'pass', observed: `${node.ssh.user} has passwordless sudo` };
  return { id: 'sudo', status: 'fail', observed: `${node.ssh.user} cannot sudo without a password`, why: 'Ansible runs non-interactively and becomes root with sudo', fix: `add "${node.ssh.user} ALL=(ALL) NOPASSWD: ALL" in /etc/sudoers.d/${node.ssh.user} (visudo -f)` };
}

function checkWol({ node, facts }: NodeContext): CheckResult {
  if (!node.power.autoSleep || !node.power.wake.includes('wol')) return { id: 'wol', status: 'skip', observed: node.power.autoSleep ? 'wakes by IPMI only' : 'not a sleeper' };
  const fixText = `the host layer persists it (deploy --phase host); by hand: \`ethtool -s ${facts.iface || 'IFACE'} wol g\` and a systemd .link file with WakeOnLan=magic`;
  const why = 'a sleeping node with Wake-on-LAN disarmed can only be woken by pressing its power button';
  if (facts.wol.wakeOn !== undefined) {
    if (facts.wol.wakeOn.includes('g')) return { id: 'wol', status: 'pass', observed: `armed on ${facts.iface} (ethtool Wake-on: ${facts.wol.wakeOn})` };
    if (facts.wol.supports !== undefined && !facts.wol.supports.includes('g'))
      return { id: 'wol', status: 'fail', observed: `${facts.iface} does not support magic-packet wake (Supports Wake-on: ${facts.wol.supports})`, why, fix: node.power.bmc ? 'wake it by IPMI instead: power.wake: [ipmi]' : 'enable Wake-on-LAN in the firmware setup, or use another NIC' };
    return { id: 'wol', status: 'fail', observed: `not armed on ${facts.iface} (ethtool Wake-on: ${facts.wol.wakeOn})`, why, fix: fixText };
  }
  if (facts.wol.sysfs !== undefined && facts.wol.sysfs !== 'enabled')
    return { id: 'wol', status: 'fail', observed: `${facts.iface}: device wakeup ${facts.wol.sysfs} (/sys/class/net/${facts.iface}/device/power/wakeup)`, why, fix: fixText };
  // A NIC that reports nothing (virtual, or ethtool missing): judge by the persistent setting.
  const armed = facts.wol.persisted.filter((p) => /WakeOnLan\s*=\s*\S*magic/i.test(p) || /wol\s+\S*g/.test(p));
  if (armed.length > 0) return { id: 'wol', status: 'pass', observed: `${facts.iface || 'NIC'} does not report Wake-on; armed by ${armed[0]!.split(':')[0]}` };
  return { id: 'wol', status: 'fail', observed: `not armed: ${facts.iface || 'the NIC'} reports no Wake-on state and nothing arms it at boot`, why, fix: fixText };
}

function checkSuspend({ node, facts }: NodeContext): CheckResult {
  if (!node.power.autoSleep) return { id: 'suspend', status: 'skip', observed: 'not a sleeper' };
  if (node.power.suspendCommand !== 'systemctl suspend') return { id: 'suspend', status: 'skip', observed: `custom suspend command (${node.power.suspendCommand}); /sys/power/mem_sleep ${facts.memSleep ? `is "${facts.memSleep}"` : 'absent'}` };
  const modes = facts.memSleep ?? '';
  if (/\[deep\]/.test(modes)) return { id: 'suspend', status: 'pass', observed: `deep (S3) is the default: ${modes}` };
  if (/\bdeep\b/.test(modes))
    return { id: 'suspend', status: 'fail', observed: `deep is available but not chosen: ${modes}`, why: 's2idle draws several times what S3 does and many NICs cannot wake from it', fix: 'add mem_sleep_default=deep to the kernel command line (GRUB_CMDLINE_LINUX) or `echo deep > /sys/power/mem_sleep` at boot' };
  return {
    id: 'suspend',
    status: 'fail',
    observed: facts.memSleep ? `no deep (S3) suspend: ${modes}` : '/sys/power/mem_sleep is absent (no suspend-to-RAM)',
    why: 'without S3 the node saves little power asleep and may not wake by LAN',
    fix: 'enable S3 in the firmware setup; otherwise set power.autoSleep: false for this node',
  };
}
