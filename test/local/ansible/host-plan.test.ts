// What each node runs decides its firewall; roles carry nothing the cluster file knows; the power
// readiness program does what it says against a stand-in sysfs and a stand-in ethtool.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firewallPorts, hostPlan, portText } from '../../../src/render/ansible/host-plan.js';
import { POWER_READINESS_SCRIPT, type PowerReadinessFacts } from '../../../src/render/ansible/power-readiness.js';
import { ROLE_FILES } from '../../../src/render/ansible/roles.js';
import { example, exampleKerberos, lab, renderAnsible } from '../../unit/ansible/clusters.js';

const ports = (cluster: ReturnType<typeof example>, name: string) =>
  firewallPorts(cluster, cluster.spec.nodes.find((n) => n.name === name)!).map((p) => `${portText(p)} ${p.from.join(',') || 'any'}`);

describe('firewall rules derived from what runs on a node', () => {
  it('the control plane (NTP, syslog, etcd) opens API, etcd, NTP and syslog; workers do not', () => {
    const c = example();
    const cp = ports(c, 'masternode');
    const worker = ports(c, 'storagenodet3500');
    for (const p of ['tcp/6443 any', 'tcp/2379-2380 192.168.4.0/24', 'udp/123 192.168.4.0/24', 'tcp/514 192.168.4.0/24', 'udp/514 192.168.4.0/24']) {
      expect(cp).toContain(p);
      expect(worker).not.toContain(p);
    }
    // Kubespray's Calico is VXLAN only (calico_network_backend: vxlan): no BGP port.
    for (const p of ['tcp/22 192.168.4.0/24', 'tcp/10250 192.168.4.0/24', 'tcp/9100 192.168.4.0/24', 'udp/4789 192.168.4.0/24', 'tcp/30000-32767 any']) {
      expect(cp).toContain(p);
      expect(worker).toContain(p);
    }
    expect(cp.some((p) => p.startsWith('tcp/179 '))).toBe(false);
    expect(cp.some((p) => p.startsWith('tcp/88 '))).toBe(false);
  });

  it("the control plane opens each wake gateway's port, and the power manager's API port when it has a NodePort", () => {
    const c = example();
    expect(ports(c, 'masternode')).toContain('tcp/40096 any');
    expect(ports(c, 'storagenodet3500')).not.toContain('tcp/40096 any');
    expect(ports(c, 'masternode')).not.toContain('tcp/8080 any');
    c.spec.power.controller.nodePort = 30880;
    expect(ports(c, 'masternode')).toContain('tcp/8080 any');
    c.spec.power.enabled = false;
    expect(ports(c, 'masternode').filter((p) => p.startsWith('tcp/8080 ') || p.startsWith('tcp/40096 '))).toEqual([]);
  });

  it('the KDC opens 88, 464 and 749 when Kerberos is on', () => {
    const cp = ports(exampleKerberos(), 'masternode');
    expect(cp).toEqual(expect.arrayContaining(['tcp/88 192.168.4.0/24', 'udp/88 192.168.4.0/24', 'tcp/749 192.168.4.0/24', 'tcp/464 192.168.4.0/24']));
  });

  it('an RHEL node gets firewalld and RHEL paths', () => {
    const c = example();
    const plan = hostPlan(c, c.spec.nodes.find((n) => n.name === 'homelab')!);
    expect(plan.os.firewall).toBe('firewalld');
    expect(plan.os.chronyConf).toBe('/etc/chrony.conf');
    const files = renderAnsible(c).map((a) => a.path);
    expect(files).toContain('configs/firewall/homelab.xml');
    expect(files).toContain('configs/firewall/masternode.nft');
  });
});

describe('nothing the cluster file knows is hard-coded in the roles', () => {
  it.each(Object.entries(ROLE_FILES))('%s', (_path, text) => {
    const c = lab();
    expect(text).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/);
    for (const n of c.spec.nodes) expect(text).not.toContain(n.name);
    expect(text).not.toContain(c.spec.infrastructure.kerberos.realm);
    expect(text).not.toContain(c.spec.network.domain);
    expect(text).not.toMatch(/StrictHostKeyChecking=no/i);
  });

  it('no secret reaches the render tree, and host-key checking is on', () => {
    const files = renderAnsible(exampleKerberos());
    const cfg = files.find((a) => a.path === 'ansible/ansible.cfg')!.content;
    expect(cfg).toMatch(/^host_key_checking = True$/m);
    expect(cfg).toContain('-o StrictHostKeyChecking=yes');
    expect(cfg).toContain('-o UserKnownHostsFile=~/.config/vmstation/known_hosts');
    for (const a of files) expect(a.content).not.toMatch(/vmstation_kerberos_(master|admin)_password\s*:/);
  });
});

describe('power readiness program (stand-in sysfs and ethtool)', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function setup(memSleep: string | undefined, wol: { supports: string; current: string } | undefined) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-power-'));
    const sys = path.join(dir, 'sys');
    mkdirSync(path.join(sys, 'class/net/enp3s0'), { recursive: true });
    mkdirSync(path.join(sys, 'power'), { recursive: true });
    writeFileSync(path.join(sys, 'class/net/enp3s0/address'), '02:00:c0:a8:04:3d\n');
    if (memSleep !== undefined) writeFileSync(path.join(sys, 'power/mem_sleep'), `${memSleep}\n`);
    const state = path.join(dir, 'wol-state');
    writeFileSync(state, wol?.current ?? '');
    // A stand-in for ethtool: prints the NIC's WoL lines and records `-s IFACE wol g`.
    const ethtool = path.join(dir, 'ethtool');
    writeFileSync(
      ethtool,
      wol
        ? `#!/bin/sh\nif [ "$2" = "-s" ] || [ "$1" = "-s" ]; then echo "$4" > ${state}; exit 0; fi\necho "Settings for $1:"\necho "	Supports Wake-on: ${wol.supports}"\necho "	Wake-on: $(cat ${state})"\n`
        : `#!/bin/sh\necho "netlink error: Operation not supported" >&2\nexit 76\n`,
    );
    chmodSync(ethtool, 0o755);
    writeFileSync(path.join(dir, 'power-readiness.py'), POWER_READINESS_SCRIPT);
    return { sys, ethtool, state, facts: path.join(dir, 'etc/vmstation/power-readiness.json') };
  }

  function runScript(s: ReturnType<typeof setup>, extra: string[] = []) {
    const out = execFileSync('python3', [path.join(dir, 'power-readiness.py'), '--node', 'storagenodet3500', '--mac', '02:00:C0:A8:04:3D', '--facts', s.facts, '--sysfs', s.sys, '--ethtool', s.ethtool, ...extra], { encoding: 'utf8' });
    return JSON.parse(out) as { changed: boolean; facts: PowerReadinessFacts };
  }

  it('arms WoL, selects deep, records it, and changes nothing the second time', () => {
    const s = setup('[s2idle] deep', { supports: 'pumbg', current: 'd' });
    const first = runScript(s);
    expect(first.changed).toBe(true);
    expect(first.facts.interface).toBe('enp3s0');
    expect(first.facts.wakeOnLan).toMatchObject({ canWake: true, current: 'g' });
    expect(readFileSync(path.join(s.sys, 'power/mem_sleep'), 'utf8').trim()).toBe('deep');
    const recorded = JSON.parse(readFileSync(s.facts, 'utf8')) as PowerReadinessFacts;
    expect(recorded).toEqual({ node: 'storagenodet3500', interface: 'enp3s0', wakeOnLan: { supported: 'pumbg', current: 'g', canWake: true }, memSleep: { offered: ['s2idle', 'deep'], selected: 'deep', canSuspendToRam: true }, warnings: [] });
    // The stand-in sysfs file now says "deep" without brackets; the kernel would show "s2idle [deep]".
    writeFileSync(path.join(s.sys, 'power/mem_sleep'), 's2idle [deep]\n');
    const second = runScript(s);
    expect(second.changed).toBe(false);
    expect(second.facts.memSleep).toMatchObject({ selected: 'deep', canSuspendToRam: true });
  });

  it('records a NIC without WoL and a kernel without deep sleep as warnings, without failing', () => {
    const s = setup('[s2idle]', undefined);
    const r = runScript(s);
    expect(r.facts.wakeOnLan.canWake).toBe(false);
    expect(r.facts.memSleep.canSuspendToRam).toBe(false);
    expect(r.facts.warnings.join('\n')).toMatch(/does not report Wake-on-LAN support/);
    expect(r.facts.warnings.join('\n')).toMatch(/deep\) is not offered/);
  });

  it('--check changes nothing', () => {
    const s = setup('[s2idle] deep', { supports: 'pumbg', current: 'd' });
    const r = runScript(s, ['--check']);
    expect(r.changed).toBe(true);
    expect(readFileSync(s.state, 'utf8')).toBe('d');
    expect(readFileSync(path.join(s.sys, 'power/mem_sleep'), 'utf8').trim()).toBe('[s2idle] deep');
  });
});
