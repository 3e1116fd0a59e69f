// Waking before preflight (fake drivers and clock: the decisions), and preflight over real SSH
// against a real sshd on loopback (test/local/power-controller/sshd-fixture.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPreflight } from '../../../src/deploy/preflight/run.js';
import { SshPool } from '../../../src/deploy/ssh-pool.js';
import { ensureNodeAwake, type WakeDeps } from '../../../src/deploy/wake.js';
import { startSshd, type SshdFixture } from '../power-controller/sshd-fixture.js';
import { clusterFromText, loadClusterFile } from '../../unit/deploy/helpers.js';

const example = loadClusterFile('examples/vmstation.yaml');

function fakeDeps(answersAfterMs: number | undefined, opts: { wolFails?: boolean } = {}) {
  let now = 0;
  const calls: string[] = [];
  let wokenAt: number | undefined;
  const deps: WakeDeps = {
    now: () => now,
    sleep: (ms) => {
      now += ms;
      return Promise.resolve();
    },
    drivers: {
      reachable: (node) => {
        calls.push(`probe ${node}@${now}`);
        return Promise.resolve(wokenAt !== undefined && answersAfterMs !== undefined && now >= wokenAt + answersAfterMs);
      },
      wakeOnLan: (node) => {
        calls.push(`wol ${node}`);
        if (opts.wolFails) return Promise.reject(new Error('no route'));
        wokenAt = now;
        return Promise.resolve();
      },
      ipmiPowerOn: (node) => {
        calls.push(`ipmi ${node}`);
        wokenAt = now;
        return Promise.resolve();
      },
    },
  };
  return { deps, calls };
}

describe('ensureNodeAwake', () => {
  it('sends a magic packet to an asleep node and waits until SSH answers', async () => {
    const { deps, calls } = fakeDeps(6000);
    const r = await ensureNodeAwake(example, 'storagenodet3500', deps);
    expect(r).toMatchObject({ wasAwake: false, reachable: true, sent: ['wol'], waitedMs: 6000, message: 'woken by wol in 6.0 s' });
    expect(calls).toEqual(['probe storagenodet3500@0', 'wol storagenodet3500', 'probe storagenodet3500@0', 'probe storagenodet3500@2000', 'probe storagenodet3500@4000', 'probe storagenodet3500@6000']);
  });

  it('does nothing to an awake node', async () => {
    const { deps, calls } = fakeDeps(0);
    deps.drivers.reachable = () => Promise.resolve(true);
    expect(await ensureNodeAwake(example, 'masternode', deps)).toMatchObject({ wasAwake: true, sent: [] });
    expect(calls).toEqual([]);
  });

  it('falls back to IPMI when Wake-on-LAN brings nothing, and gives up with a message', async () => {
    const lab = loadClusterFile('lab/vmstation.lab.yaml');
    const { deps, calls } = fakeDeps(undefined);
    const r = await ensureNodeAwake(lab, 'homelab', deps);
    expect(r.reachable).toBe(false);
    expect(r.sent).toEqual(['wol', 'ipmi']);
    // Each driver is sent again every 15 s while waiting its 120 s (UDP is lossy).
    const sends = calls.filter((c) => !c.startsWith('probe'));
    expect(sends).toEqual([...Array<string>(8).fill('wol homelab'), ...Array<string>(8).fill('ipmi homelab')]);
    expect(r.message).toBe('still not answering on 10.78.0.62:22 after wol then ipmi');
    expect(r.waitedMs).toBe(240_000);
  });
});

describe('preflight over real SSH (sshd on 127.0.0.1)', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd.stop();
  });

  it('reports every check for the node, with the clock measured against the NTP node', async () => {
    const cluster = clusterFromText(`apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: loop }
spec:
  network: { subnet: 127.0.0.0/8 }
  kubernetes: { kubeProxyMode: iptables }
  ssh: { user: root, port: ${sshd.port}, privateKey: ${sshd.clientKey}, knownHosts: ${sshd.knownHosts} }
  nodes:
    - { name: cp1, address: 127.0.0.1, os: debian-12, roles: [control-plane] }
`);
    const pool = new SshPool(cluster);
    try {
      let t = Date.now();
      const report = await runPreflight(cluster, { pool, now: () => (t = Math.max(t, Date.now())), ensureAwake: (node) => Promise.resolve({ node, wasAwake: true, reachable: true, sent: [], waitedMs: 0, message: 'awake' }) });
      const checks = report.nodes[0]!.checks;
      expect(report.nodes[0]!.error).toBeUndefined();
      expect(checks.map((c) => c.id)).toEqual(['os', 'cpu', 'memory', 'disk', 'swap', 'ports', 'clock', 'selinux', 'modules', 'runtimes', 'sudo', 'wol', 'suspend']);
      expect(checks.find((c) => c.id === 'clock')!.observed).toBe('this node is the NTP server (the reference)');
      expect(checks.find((c) => c.id === 'sudo')!.status).toBe('pass');
    } finally {
      await pool.closeAll();
    }
  });

  it('refuses a host whose key is not in the managed known_hosts', async () => {
    const cluster = clusterFromText(`apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: loop }
spec:
  network: { subnet: 127.0.0.0/8 }
  ssh: { user: root, port: ${sshd.port}, privateKey: ${sshd.clientKey}, knownHosts: /dev/null }
  nodes:
    - { name: cp1, address: 127.0.0.1, os: debian-12, roles: [control-plane] }
`);
    const pool = new SshPool(cluster);
    const report = await runPreflight(cluster, { pool, now: Date.now, ensureAwake: (node) => Promise.resolve({ node, wasAwake: true, reachable: true, sent: [], waitedMs: 0, message: 'awake' }) });
    await pool.closeAll();
    expect(report.ok).toBe(false);
    expect(report.nodes[0]!.error).toMatchObject({ code: 'ssh-host-key', message: `[127.0.0.1]:${sshd.port} is not in known_hosts` });
  });
});
