// Every lab host is a real Debian with systemd as PID 1, reachable by SSH with host-key checking on.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../run.js';
import { labFixture, ssh, sshOk, ensureAllAwake } from './lab-fixture.js';

describe('lab hosts', () => {
  beforeAll(() => ensureAllAwake());

  const lab = labFixture();

  it.each(lab.nodes.map((n) => [n.name, n] as const))('%s answers SSH with its own host key, hostname, address and MAC', async (name, node) => {
    const out = await sshOk(name, 'hostname; cat /sys/class/net/host0/address; ip -4 -o addr show host0; systemctl is-system-running --wait; cat /proc/1/comm');
    const [hostname, mac, addr, running, pid1] = out.trim().split('\n');
    expect(hostname).toBe(name);
    expect(mac).toBe(node.mac);
    expect(addr).toContain(`inet ${node.address}/24`);
    expect(running).toBe('running');
    expect(pid1).toBe('systemd');
  });

  it('gives every host its own machine ID and host key', async () => {
    const ids = await Promise.all(lab.nodes.map((n) => sshOk(n.name, 'cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')));
    expect(new Set(ids.map((x) => x.split('\n')[0])).size).toBe(lab.nodes.length);
    expect(new Set(ids.map((x) => x.split('\n')[1])).size).toBe(lab.nodes.length);
  });

  it('runs chrony without CAP_SYS_TIME (-x, no public pool) and never runs apt by timer', async () => {
    for (const n of lab.nodes) {
      const out = await sshOk(n.name, 'systemctl is-active chrony; tr "\\0" " " < /proc/$(pidof chronyd | cut -d" " -f1)/cmdline; echo; echo $(grep -E "^(pool|server) " /etc/chrony/chrony.conf | cut -d" " -f2); systemctl is-enabled apt-daily.timer apt-daily-upgrade.timer || true; grep CapBnd /proc/1/status');
      const lines = out.trim().split('\n');
      expect(lines[0]).toBe('active');
      expect(lines[1]).toContain('-x');
      // No public time source: none in the image, and a deployed chrony.conf (VMStation's chrony
      // role may have run on the lab) names only lab addresses or lab hosts.
      for (const source of (lines[2] ?? '').split(' ').filter(Boolean)) expect(source.startsWith('10.78.0.') || lab.nodes.some((x) => x.name === source)).toBe(true);
      expect(lines.slice(3, 5)).toEqual(['masked', 'masked']);
      const capBnd = BigInt(`0x${(lines[5] ?? '').split(/\s+/)[1] ?? '0'}`);
      expect(capBnd & (1n << 25n)).toBe(0n); // CAP_SYS_TIME is bit 25
    }
  });

  it('refuses a host whose key does not match known_hosts (host-key checking is really on)', async () => {
    const bad = join(lab.stateDir, 'ssh', 'known_hosts.tampered');
    const good = readFileSync(lab.knownHosts, 'utf8').split('\n');
    // masternode's entry carries storagenodet3500's key
    const storageKey = good.find((l) => l.startsWith('storagenodet3500,'))?.split(' ').slice(1).join(' ');
    writeFileSync(bad, good.map((l) => (l.startsWith('masternode,') ? `masternode,10.78.0.63 ${storageKey}` : l)).join('\n'));
    const r = await run('ssh', ['-F', lab.sshConfig, '-o', `UserKnownHostsFile=${bad}`, 'masternode', 'true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    const unknown = await run('ssh', ['-F', lab.sshConfig, '-o', 'UserKnownHostsFile=/dev/null', 'masternode', 'true']);
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toMatch(/Host key verification failed|No .* host key is known/);
  });

  it('reaches the other hosts from inside (one L2 segment) and the host at the gateway', async () => {
    const r = await ssh('masternode', 'for a in 10.78.0.61 10.78.0.62 10.78.0.1; do timeout 3 bash -c "</dev/tcp/$a/22" && echo "$a open"; done');
    expect(r.stdout).toContain('10.78.0.61 open');
    expect(r.stdout).toContain('10.78.0.62 open');
  });
});
