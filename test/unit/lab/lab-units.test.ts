// The lab's pure parts: magic packets, the lab cluster file, the files the lab renders.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../../src/config/validate.js';
import { inSubnet, parseLabSpec } from '../../../lab/lab-config.js';
import { LAB_DIR } from '../../../lab/paths.js';
import { hostsFile, ipmiLanConf, knownHosts, networkUnit, sshConfig } from '../../../lab/render.js';
import { buildMagicPacket, parseMagicPacket } from '../../../lab/wol/magic-packet.js';

const labFile = join(LAB_DIR, 'vmstation.lab.yaml');
const labText = readFileSync(labFile, 'utf8');

describe('magic packets', () => {
  it('builds 6 x 0xFF then the MAC 16 times (102 bytes)', () => {
    const p = buildMagicPacket('02:00:0A:4E:00:3D');
    expect(p.length).toBe(102);
    expect(p.subarray(0, 6).toString('hex')).toBe('ffffffffffff');
    expect(p.subarray(6).toString('hex')).toBe('02000a4e003d'.repeat(16));
    expect(parseMagicPacket(p)).toEqual({ ok: true, mac: '02:00:0a:4e:00:3d' });
  });

  it('finds the pattern anywhere in a payload, as a NIC does, and accepts a SecureOn tail', () => {
    const p = Buffer.concat([Buffer.from('prefix'), buildMagicPacket('02:00:0a:4e:00:3e'), Buffer.from([1, 2, 3, 4, 5, 6])]);
    expect(parseMagicPacket(p)).toEqual({ ok: true, mac: '02:00:0a:4e:00:3e' });
  });

  it('refuses short payloads, a broken repetition and a missing header', () => {
    expect(parseMagicPacket(buildMagicPacket('02:00:0a:4e:00:3d').subarray(0, 101))).toMatchObject({ ok: false, reason: expect.stringContaining('too short') as unknown });
    const broken = buildMagicPacket('02:00:0a:4e:00:3d');
    broken[6 + 6 * 15] = 0x99;
    expect(parseMagicPacket(broken).ok).toBe(false);
    const noHeader = buildMagicPacket('02:00:0a:4e:00:3d');
    noHeader[0] = 0;
    expect(parseMagicPacket(noHeader).ok).toBe(false);
    expect(() => buildMagicPacket('02:00:0a:4e:00')).toThrow(/not a MAC/);
  });
});

describe('the lab cluster file', () => {
  it('is a valid VMStation cluster file (VMStation\'s own validator, no errors)', () => {
    const r = validateText({ file: labFile, text: labText });
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.cluster?.spec.nodes.map((n) => [n.name, n.address, n.roles, n.power.autoSleep])).toEqual([
      ['masternode', '10.78.0.63', ['control-plane'], false],
      ['storagenodet3500', '10.78.0.61', ['worker'], true],
      ['homelab', '10.78.0.62', ['worker'], true],
    ]);
  });

  it('keeps the example\'s roles and power settings, adds the lab suspend command and homelab\'s BMC', () => {
    const example = validateText({ file: 'examples/vmstation.yaml', text: readFileSync(join(LAB_DIR, '..', 'examples', 'vmstation.yaml'), 'utf8') }).cluster;
    const lab = validateText({ file: labFile, text: labText }).cluster;
    expect(example && lab).toBeTruthy();
    for (const n of example?.spec.nodes ?? []) {
      const l = lab?.spec.nodes.find((x) => x.name === n.name);
      expect(l?.roles).toEqual(n.roles);
      expect(l?.power.autoSleep).toBe(n.power.autoSleep);
      expect(l?.power.watts).toEqual(n.power.watts);
      expect(l?.os).toBe('debian-12');
      if (n.power.autoSleep) expect(l?.power.suspendCommand).toBe('/usr/local/sbin/lab-suspend');
    }
    const homelab = lab?.spec.nodes.find((x) => x.name === 'homelab');
    expect(homelab?.power.wake).toEqual(['wol', 'ipmi']);
    expect(homelab?.power.bmc?.address).toBe('10.78.0.162');
  });

  it('reads what the lab builds and refuses anything off the lab subnet', () => {
    const spec = parseLabSpec(labText, labFile);
    expect(spec).toMatchObject({ subnet: '10.78.0.0/24', gateway: '10.78.0.1', broadcast: '10.78.0.255' });
    expect(spec.nodes.find((n) => n.name === 'homelab')?.bmc).toEqual({ address: '10.78.0.162', port: 623 });
    expect(() => parseLabSpec(labText.replace('subnet: 10.78.0.0/24', 'subnet: 192.168.4.0/24'), 'x.yaml')).toThrow(/only uses 10.78.0.0\/24/);
    expect(() => parseLabSpec(labText.replace('address: 10.78.0.61', 'address: 192.168.4.61'), 'x.yaml')).toThrow(/outside 10.78.0.0\/24/);
    expect(() => parseLabSpec(labText.replace('address: 10.78.0.61', 'address: 10.78.0.63'), 'x.yaml')).toThrow(/used twice/);
    expect(inSubnet('10.78.0.255', '10.78.0.0/24')).toBe(true);
    expect(inSubnet('10.78.1.1', '10.78.0.0/24')).toBe(false);
  });
});

describe('rendered lab files', () => {
  const spec = parseLabSpec(labText, labFile);
  const storage = spec.nodes[1]!;

  it('gives each node its address and MAC through a networkd unit on host0', () => {
    expect(networkUnit(spec, storage)).toContain('[Match]\nName=host0\n\n[Link]\nMACAddress=02:00:0a:4e:00:3d\n\n[Network]\nAddress=10.78.0.61/24\nGateway=10.78.0.1');
    expect(hostsFile(spec, storage)).toContain('10.78.0.63\tmasternode\n');
  });

  it('keeps host-key checking on in the ssh config, against the lab known_hosts only', () => {
    const cfg = sshConfig(spec, '/k/id', '/k/known_hosts');
    expect(cfg.match(/StrictHostKeyChecking yes/g)).toHaveLength(3);
    expect(cfg).not.toMatch(/StrictHostKeyChecking (no|accept-new|off)/i);
    expect(cfg).toContain('UserKnownHostsFile /k/known_hosts');
    expect(knownHosts([{ node: storage, publicKey: 'ssh-ed25519 AAAAkey root@x\n' }])).toBe('storagenodet3500,10.78.0.61 ssh-ed25519 AAAAkey\n');
  });

  it('renders ipmi_sim config with the chassis control hook and refuses values that could break out of quotes', () => {
    const conf = ipmiLanConf({ node: 'homelab', address: '10.78.0.162', port: 623, user: 'labadmin', password: 'abc123', chassisControl: '/x/chassis-control.sh http://127.0.0.1:1/nodes/homelab/chassis' });
    expect(conf).toContain('addr 10.78.0.162 623');
    expect(conf).toContain('user 2 true "labadmin" "abc123" admin');
    expect(conf).toContain('chassis_control "/x/chassis-control.sh http://127.0.0.1:1/nodes/homelab/chassis 0x20"');
    expect(() => ipmiLanConf({ node: 'homelab', address: '10.78.0.162', port: 623, user: 'a"b', password: 'x', chassisControl: '/x' })).toThrow(/unsafe/);
  });
});
