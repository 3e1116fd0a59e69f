// What preflight reads on a node: one POSIX shell script, sent over the persistent SSH
// connection, printing sections (`@@name` then lines). Read-only: it changes nothing on the host.
// `parseProbe` turns the output into typed facts (pure, tested on recorded output).
import { shellQuote } from '../../util/shell-quote.js';

/** Kernel features, probed by what they create (works for built-in and loaded modules alike). */
export const MODULE_PROBES: Record<string, string> = {
  overlay: "grep -qw overlay /proc/filesystems",
  br_netfilter: 'test -e /proc/sys/net/bridge/bridge-nf-call-iptables',
  nf_conntrack: 'test -e /proc/sys/net/netfilter/nf_conntrack_max',
  ip_vs: 'test -e /proc/net/ip_vs',
  ip_vs_rr: 'test -e /proc/net/ip_vs',
  ip_vs_wrr: 'test -e /proc/net/ip_vs',
  ip_vs_sh: 'test -e /proc/net/ip_vs',
};

const RUNTIME_PATHS = [
  '/var/lib/kubelet',
  '/etc/kubernetes/admin.conf',
  '/etc/kubernetes/kubelet.conf',
  '/var/lib/rancher/rke2',
  '/etc/rancher/rke2',
  '/usr/local/bin/rke2',
  '/var/lib/rancher/k3s',
  '/etc/rancher/k3s',
  '/usr/local/bin/k3s',
];


/** The script; `address` is the node's address in the cluster file (to find its NIC). */
export function probeScript(address: string, modules: readonly string[]): string {
  const moduleLines = modules.map((m) => {
    const probe = MODULE_PROBES[m] ?? `test -d /sys/module/${m}`;
    return `if ${probe} 2>/dev/null; then echo "${m} present"; elif command -v modinfo >/dev/null 2>&1 && modinfo -n ${m} >/dev/null 2>&1; then echo "${m} loadable"; else echo "${m} missing"; fi`;
  });
  return [
    'export LC_ALL=C',
    'if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi',
    'echo @@os; cat /etc/os-release 2>/dev/null',
    'echo @@kernel; uname -r',
    'echo @@cpus; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN',
    "echo @@meminfo; grep -E '^(MemTotal|SwapTotal):' /proc/meminfo",
    'echo @@swaps; tail -n +2 /proc/swaps',
    "echo @@fstab-swap; awk '$1 !~ /^#/ && $3 == \"swap\" {print $1}' /etc/fstab 2>/dev/null",
    'echo @@disk; df -Pk /var 2>/dev/null | tail -n 1',
    'echo @@listen; if [ "$SUDO" = none ]; then ss -Htln 2>/dev/null; else $SUDO ss -Htlnp 2>/dev/null; fi',
    'echo @@selinux; if command -v getenforce >/dev/null 2>&1; then getenforce; elif [ -r /sys/fs/selinux/enforce ]; then cat /sys/fs/selinux/enforce; else echo absent; fi',
    'echo @@modules',
    ...moduleLines,
    'echo @@runtimes',
    'for b in kubelet kubeadm rke2 k3s; do p=$(command -v $b 2>/dev/null) && echo "bin $b $p"; done',
    `for p in ${RUNTIME_PATHS.join(' ')}; do [ -e "$p" ] && echo "path $p"; done`,
    'command -v kubelet >/dev/null 2>&1 && echo "kubelet-version $(kubelet --version 2>/dev/null)"',
    'echo @@sudo; if [ "$(id -u)" = 0 ]; then echo root; elif [ "$SUDO" = none ]; then echo no; else echo yes; fi',
    `IFACE=$(ip -o -4 addr show 2>/dev/null | awk -v a=${shellQuote(address)} '{split($4,x,"/"); if (x[1]==a) {print $2; exit}}')`,
    'echo @@iface; echo "$IFACE"',
    'echo @@wol',
    'if [ -n "$IFACE" ]; then',
    '  if command -v ethtool >/dev/null 2>&1; then if [ "$SUDO" = none ]; then ET=ethtool; else ET="$SUDO ethtool"; fi; $ET "$IFACE" 2>/dev/null | sed -n "s/^[[:space:]]*\\(Supports Wake-on\\|Wake-on\\):[[:space:]]*/ethtool \\1: /p"; fi',
    '  [ -r "/sys/class/net/$IFACE/device/power/wakeup" ] && echo "sysfs $(cat /sys/class/net/$IFACE/device/power/wakeup)"',
    'fi',
    "grep -Hs '^[[:space:]]*WakeOnLan[[:space:]]*=' /etc/systemd/network/*.link | sed 's/^/persisted /'",
    "grep -Hs 'ethtool .*wol' /etc/systemd/system/*.service /etc/network/interfaces 2>/dev/null | sed 's/^/persisted /'",
    'echo @@mem_sleep; cat /sys/power/mem_sleep 2>/dev/null || echo absent',
    'echo @@end',
  ].join('\n');
}

export interface ListeningSocket {
  address: string;
  port: number;
  process?: string | undefined;
}

export interface ProbeFacts {
  os: { id: string; versionId: string; pretty: string };
  kernel: string;
  cpus: number;
  memTotalKiB: number;
  swapTotalKiB: number;
  activeSwap: string[];
  fstabSwap: string[];
  /** Free space on the file system holding /var, in KiB. */
  diskAvailKiB: number;
  diskMount: string;
  listening: ListeningSocket[];
  selinux: 'enforcing' | 'permissive' | 'disabled' | 'absent';
  modules: Record<string, 'present' | 'loadable' | 'missing'>;
  runtimes: { bins: Record<string, string>; paths: string[]; kubeletVersion?: string | undefined };
  sudo: 'root' | 'yes' | 'no';
  iface: string;
  wol: { supports?: string | undefined; wakeOn?: string | undefined; sysfs?: string | undefined; persisted: string[] };
  memSleep: string | undefined;
}

function sections(output: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const m = /^@@([a-z_-]+)$/.exec(line.trim());
    if (m) {
      current = [];
      out.set(m[1]!, current);
    } else current?.push(line);
  }
  return out;
}

/** `0.0.0.0:22`, `[::]:22`, `*:10250`, `127.0.0.1:10248`, `[::ffff:1.2.3.4]:80` -> address, port */
function splitHostPort(s: string): { address: string; port: number } | undefined {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) return undefined;
  return { address: m[1]!.replace(/^\[|\]$/g, '').replace(/%.*$/, ''), port: Number(m[2]) };
}

export function parseListening(lines: readonly string[]): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const line of lines) {
    const cols = line.trim().split(/\s+/);
    // ss -Htln: State Recv-Q Send-Q Local:Port Peer:Port [Process]
    const local = cols[3] && splitHostPort(cols[3]);
    if (!local) continue;
    const proc = /users:\(\("([^"]+)"/.exec(line)?.[1];
    out.push({ ...local, process: proc });
  }
  return out;
}

export function parseProbe(output: string): ProbeFacts {
  const s = sections(output);
  if (!s.has('end')) throw new Error('the preflight probe did not finish (output cut short)');
  const get = (name: string) => (s.get(name) ?? []).map((l) => l.trimEnd()).filter((l) => l.length > 0);
  const osRelease = Object.fromEntries(
    get('os')
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]),
  );
  const mem = Object.fromEntries(get('meminfo').map((l) => { const [k, v] = l.split(/:\s+/); return [k ?? '', parseInt(v ?? '0', 10)]; }));
  const disk = (get('disk')[0] ?? '').split(/\s+/);
  const selRaw = (get('selinux')[0] ?? 'absent').toLowerCase();
  const selinux = selRaw === '1' ? 'enforcing' : selRaw === '0' ? 'permissive' : (['enforcing', 'permissive', 'disabled'].includes(selRaw) ? selRaw : 'absent') as ProbeFacts['selinux'];
  const modules: ProbeFacts['modules'] = {};
  for (const l of get('modules')) {
    const [name, state] = l.split(' ');
    if (name && (state === 'present' || state === 'loadable' || state === 'missing')) modules[name] = state;
  }
  const bins: Record<string, string> = {};
  const paths: string[] = [];
  let kubeletVersion: string | undefined;
  for (const l of get('runtimes')) {
    const [kind, a, b] = l.split(' ');
    if (kind === 'bin' && a && b) bins[a] = b;
    else if (kind === 'path' && a) paths.push(a);
    else if (kind === 'kubelet-version') kubeletVersion = l.slice('kubelet-version '.length).replace(/^Kubernetes\s+/, '').trim() || undefined;
  }
  const wol: ProbeFacts['wol'] = { persisted: [] };
  for (const l of get('wol')) {
    if (l.startsWith('ethtool Supports Wake-on: ')) wol.supports = l.slice('ethtool Supports Wake-on: '.length).trim();
    else if (l.startsWith('ethtool Wake-on: ')) wol.wakeOn = l.slice('ethtool Wake-on: '.length).trim();
    else if (l.startsWith('sysfs ')) wol.sysfs = l.slice(6).trim();
    else if (l.startsWith('persisted ')) wol.persisted.push(l.slice(10).trim());
  }
  const memSleep = get('mem_sleep')[0];
  return {
    os: { id: osRelease.ID ?? 'unknown', versionId: osRelease.VERSION_ID ?? '', pretty: osRelease.PRETTY_NAME ?? osRelease.NAME ?? 'unknown' },
    kernel: get('kernel')[0] ?? '',
    cpus: parseInt(get('cpus')[0] ?? '0', 10),
    memTotalKiB: mem.MemTotal ?? 0,
    swapTotalKiB: mem.SwapTotal ?? 0,
    activeSwap: get('swaps').map((l) => l.split(/\s+/)[0] ?? l),
    fstabSwap: get('fstab-swap'),
    diskAvailKiB: parseInt(disk[3] ?? '0', 10),
    diskMount: disk[5] ?? '/var',
    listening: parseListening(get('listen')),
    selinux,
    modules,
    runtimes: { bins, paths, kubeletVersion },
    sudo: (['root', 'yes', 'no'].includes(get('sudo')[0] ?? '') ? get('sudo')[0] : 'no') as ProbeFacts['sudo'],
    iface: get('iface')[0] ?? '',
    wol,
    memSleep: memSleep === 'absent' ? undefined : memSleep,
  };
}
