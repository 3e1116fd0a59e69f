// Preflight's pure parts: parsing the probe output (recorded from a real Debian 12 machine, run as
// root: test/fixtures/preflight/debian-vm-root.txt) and the decisions made from the facts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateNode, osNameOf, requiredPorts, type CheckResult } from '../../../src/deploy/preflight/checks.js';
import { parseListening, parseProbe, type ProbeFacts } from '../../../src/deploy/preflight/probe.js';
import { formatPreflight } from '../../../src/deploy/preflight/run.js';
import { REPO, exampleWith, loadClusterFile } from './helpers.js';

const recorded = readFileSync(`${REPO}test/fixtures/preflight/debian-vm-root.txt`, 'utf8');
const example = loadClusterFile('examples/vmstation.yaml');
const node = (name: string) => example.spec.nodes.find((n) => n.name === name)!;
const byId = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.id, c]));

describe('parseProbe', () => {
  it('reads the recorded output of a real host', () => {
    const f = parseProbe(recorded);
    expect(f.os).toEqual({ id: 'debian', versionId: '12', pretty: 'Debian GNU/Linux 12 (bookworm)' });
    expect(f.cpus).toBe(2);
    expect(f.memTotalKiB).toBe(24684084);
    expect(f.swapTotalKiB).toBe(0);
    expect(f.activeSwap).toEqual([]);
    expect(f.diskAvailKiB).toBe(82567604);
    expect(f.listening).toEqual([
      { address: '127.0.0.1', port: 18200, process: 'node' },
      { address: '0.0.0.0', port: 2024, process: undefined },
    ]);
    expect(f.selinux).toBe('absent');
    expect(f.modules).toMatchObject({ overlay: 'present', br_netfilter: 'present', ip_vs: 'missing' });
    expect(f.sudo).toBe('root');
    expect(f.iface).toBe('eth0');
    expect(f.memSleep).toBeUndefined();
  });

  it('refuses output cut short', () => {
    expect(() => parseProbe(recorded.replace('@@end', ''))).toThrow(/did not finish/);
  });

  it('reads ss lines for IPv6, wildcard and process names', () => {
    expect(parseListening(['LISTEN 0 4096 *:10250 *:* users:(("kubelet",pid=812,fd=20))', 'LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=42,fd=4))'])).toEqual([
      { address: '*', port: 10250, process: 'kubelet' },
      { address: '::', port: 22, process: 'sshd' },
    ]);
  });

  it('names the OS as the cluster file does', () => {
    expect(osNameOf('debian', '12')).toBe('debian-12');
    expect(osNameOf('rocky', '9.4')).toBe('rocky-9');
    expect(osNameOf('ubuntu', '24.04')).toBe('ubuntu-24.04');
  });
});

function withFacts(change: (f: ProbeFacts) => void): ProbeFacts {
  const f = parseProbe(recorded);
  change(f);
  return f;
}

describe('evaluateNode', () => {
  it('passes a healthy control plane (iptables mode, the default: the recorded kernel has no IPVS)', () => {
    const cluster = exampleWith((t) => t.replace('serviceSubnet: 10.233.0.0/18', 'serviceSubnet: 10.233.0.0/18\n    kubeProxyMode: iptables'));
    const checks = evaluateNode({ cluster, node: cluster.spec.nodes[0]!, facts: parseProbe(recorded), clockOffsetS: 0, clockReference: 'masternode' });
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['os', 'pass'], ['cpu', 'pass'], ['memory', 'pass'], ['disk', 'pass'], ['swap', 'pass'], ['ports', 'pass'], ['clock', 'pass'],
      ['selinux', 'pass'], ['modules', 'pass'], ['runtimes', 'pass'], ['sudo', 'pass'], ['wol', 'skip'], ['suspend', 'skip'],
    ]);
  });

  it('fails IPVS mode on a kernel without IPVS, saying why and how to fix', () => {
    const ipvs = exampleWith((t) => t.replace('serviceSubnet: 10.233.0.0/18', 'serviceSubnet: 10.233.0.0/18\n    kubeProxyMode: ipvs'));
    const c = byId(evaluateNode({ cluster: ipvs, node: ipvs.spec.nodes[0]!, facts: parseProbe(recorded) })).modules!;
    expect(c.status).toBe('fail');
    expect(c.observed).toBe('missing: ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh');
    expect(c.fix).toContain('kubeProxyMode: iptables');
  });

  it('fails swap (active or in fstab), a taken port, a clock offset, a disarmed NIC, no deep suspend', () => {
    const facts = withFacts((f) => {
      f.fstabSwap = ['/swapfile'];
      f.listening.push({ address: '0.0.0.0', port: 10250, process: 'python3' });
      f.wol = { supports: 'pumbg', wakeOn: 'd', persisted: [] };
      f.memSleep = '[s2idle]';
    });
    const c = byId(evaluateNode({ cluster: example, node: node('storagenodet3500'), facts, clockOffsetS: 0.9, clockReference: 'masternode' }));
    expect(c.swap).toMatchObject({ status: 'fail', observed: 'swap configured in /etc/fstab (/swapfile), turned on at the next boot' });
    expect(c.ports).toMatchObject({ status: 'fail', observed: '10250 (kubelet) is used by python3' });
    expect(c.clock).toMatchObject({ status: 'fail', observed: '+0.900 s against masternode' });
    expect(c.wol).toMatchObject({ status: 'fail', observed: 'not armed on eth0 (ethtool Wake-on: d)' });
    expect(c.suspend).toMatchObject({ status: 'fail', observed: 'no deep (S3) suspend: [s2idle]' });
    for (const id of ['swap', 'ports', 'clock', 'wol', 'suspend']) {
      expect(c[id]!.why, id).toBeTruthy();
      expect(c[id]!.fix, id).toBeTruthy();
    }
    const active = byId(evaluateNode({ cluster: example, node: node('storagenodet3500'), facts: withFacts((f) => ((f.activeSwap = ['/dev/sda3']), (f.swapTotalKiB = 1024))) }));
    expect(active.swap!.observed).toBe('swap active: /dev/sda3');
  });

  it('accepts our own listeners, WoL armed by ethtool or by a persisted .link file, and deep suspend', () => {
    const facts = withFacts((f) => {
      f.listening.push({ address: '*', port: 10250, process: 'kubelet' });
      f.wol = { wakeOn: 'g', supports: 'pumbg', persisted: [] };
      f.memSleep = 's2idle [deep]';
    });
    const c = byId(evaluateNode({ cluster: example, node: node('storagenodet3500'), facts }));
    expect(c.ports!.status).toBe('pass');
    expect(c.ports!.observed).toContain('already ours: 10250 (kubelet)');
    expect(c.wol).toMatchObject({ status: 'pass', observed: 'armed on eth0 (ethtool Wake-on: g)' });
    expect(c.suspend!.status).toBe('pass');
    const linked = byId(evaluateNode({ cluster: example, node: node('storagenodet3500'), facts: withFacts((f) => (f.wol = { persisted: ['/etc/systemd/network/50-vmstation-wol.link:WakeOnLan=magic'] })) }));
    expect(linked.wol).toMatchObject({ status: 'pass', observed: 'eth0 does not report Wake-on; armed by /etc/systemd/network/50-vmstation-wol.link' });
  });

  it('reports leftovers of another runtime, an OS other than declared, sudo with a password, SELinux by method', () => {
    const homelab = node('homelab'); // rhel-10, user admin
    const facts = withFacts((f) => {
      f.runtimes = { bins: { k3s: '/usr/local/bin/k3s' }, paths: ['/var/lib/rancher/k3s'] };
      f.sudo = 'no';
      f.selinux = 'enforcing';
    });
    const c = byId(evaluateNode({ cluster: example, node: homelab, facts }));
    expect(c.runtimes).toMatchObject({ status: 'fail', observed: 'leftovers: k3s' });
    expect(c.runtimes!.fix).toContain('k3s-uninstall.sh');
    expect(c.os).toMatchObject({ status: 'fail', observed: 'Debian GNU/Linux 12 (bookworm) (debian-12); the cluster file says rhel-10' });
    expect(c.sudo).toMatchObject({ status: 'fail', observed: 'admin cannot sudo without a password' });
    expect(c.sudo!.fix).toContain('NOPASSWD');
    expect(c.selinux!.status).toBe('warn');
    const kubeadm = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm'));
    expect(byId(evaluateNode({ cluster: kubeadm, node: kubeadm.spec.nodes[2]!, facts })).selinux!.status).toBe('fail');
    const old = withFacts((f) => (f.runtimes = { bins: { kubelet: '/usr/bin/kubelet' }, paths: ['/var/lib/kubelet'], kubeletVersion: 'v1.28.6' }));
    expect(byId(evaluateNode({ cluster: example, node: node('masternode'), facts: old })).runtimes!.observed).toBe('leftovers: an old kubelet v1.28.6');
  });

  it('fails resources below the role minimums', () => {
    const small = withFacts((f) => ((f.cpus = 1), (f.memTotalKiB = 1024 * 1024), (f.diskAvailKiB = 5 * 1024 * 1024)));
    const c = byId(evaluateNode({ cluster: example, node: node('masternode'), facts: small }));
    expect([c.cpu!.status, c.memory!.status, c.disk!.status]).toEqual(['fail', 'fail', 'fail']);
    expect(c.memory!.observed).toBe('1024 MiB, minimum 2 GiB for a control-plane node');
    const w = byId(evaluateNode({ cluster: example, node: node('storagenodet3500'), facts: small }));
    expect([w.cpu!.status, w.memory!.status, w.disk!.status]).toEqual(['pass', 'pass', 'fail']);
  });

  it('asks for the ports of each role and method', () => {
    expect(requiredPorts(example, node('masternode')).map((p) => p.port)).toEqual([2379, 2380, 6443, 9100, 10250, 10256, 10257, 10259]);
    expect(requiredPorts(example, node('homelab')).map((p) => p.port)).toEqual([9100, 10250, 10256]);
  });

  it('formats a table with why and fix under each failure', () => {
    const facts = withFacts((f) => (f.fstabSwap = ['/swapfile']));
    const text = formatPreflight({ cluster: 'x', ok: false, nodes: [{ node: 'storagenodet3500', address: '192.168.4.61', checks: evaluateNode({ cluster: example, node: node('storagenodet3500'), facts }), durationMs: 5 }] });
    expect(text).toMatch(/^NODE\s+CHECK\s+STATUS\s+OBSERVED$/m);
    expect(text).toMatch(/^storagenodet3500\s+swap\s+FAIL\s+swap configured in \/etc\/fstab/m);
    expect(text).toContain('    why: after a reboot swap comes back and the kubelet will not start');
    expect(text).toMatch(/preflight failed: \d+ failing check\(s\)$/);
  });
});
