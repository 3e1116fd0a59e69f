// What must be open between nodes for each method x CNI, checked line by line against the
// upstream tables and defaults at the tags we pin (test/data holds those lines verbatim), and
// what the host firewall renders from it (nft -c, firewall-offline-cmd).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderFirewalldZone, renderNftables } from '../../../src/render/ansible/firewall.js';
import { firewallPorts, hostPlan, portText } from '../../../src/render/ansible/host-plan.js';
import { clusterFlows, flowText, type Cni } from '../../../src/render/network/requirements.js';
import type { Method } from '../../../src/config/schema.js';
import { kubesprayDefault, upstreamLine, upstreamLines } from '../../helpers/upstream.js';
import { exampleWith } from '../../unit/deploy/helpers.js';

const flows = (method: Method, cni: Cni) => clusterFlows(method, cni).map((f) => `${flowText(f)} ${f.to} ${f.from}`);
const texts = (method: Method, cni: Cni) => clusterFlows(method, cni).map(flowText);
const KUBESPRAY = 'kubespray-v2.31.0/upstream-lines.txt';
const RKE2 = 'upstream/rke2-docs-lines.txt';

/** `| 9345 | TCP | ...` rows of RKE2's inbound rules table, as `tcp/9345`, for one CNI tab (or the common table). */
function rke2Table(description: RegExp): string[] {
  return upstreamLines(RKE2)
    .filter((l) => l.where.startsWith('docs/install/requirements.md') && /^\| \d/.test(l.text))
    .map((l) => l.text.split('|').map((c) => c.trim()))
    .filter((cells) => /^(TCP|UDP)$/.test(cells[2] ?? '') && description.test(cells[5] ?? ''))
    .map((cells) => `${cells[2]!.toLowerCase()}/${cells[1]!}`);
}

describe('Kubernetes flows on every path', () => {
  // https://kubernetes.io/docs/reference/networking/ports-and-protocols/ and
  // kubernetes-sigs/kubespray@v2.31.0:docs/operations/port-requirements.md:13-27
  it.each(['kubespray', 'kubeadm', 'rke2'] as const)('%s: API from anywhere to control planes, etcd between members, kubelet and NodePorts on every node', (method) => {
    expect(flows(method, 'calico')).toEqual(expect.arrayContaining(['tcp/6443 control-plane anywhere', 'tcp/2379-2380 etcd nodes', 'tcp/10250 all nodes', 'tcp/30000-32767 all anywhere']));
    for (const port of ['2379', '2380', '6443', '10250', '30000-32767'])
      expect(upstreamLines(KUBESPRAY).some((l) => new RegExp(`^\\| TCP\\s+\\| ${port}\\s*\\|`).test(l.text)), port).toBe(true);
  });

  // rancher/rke2-docs:docs/install/requirements.md:137-143 (Inbound Network Rules)
  it('rke2: every row of the common table, including the supervisor port agents join on', () => {
    const table = rke2Table(/Kubernetes API|supervisor|kubelet|etcd|NodePort/);
    expect(table).toEqual(['tcp/6443', 'tcp/9345', 'tcp/10250', 'tcp/2379', 'tcp/2380', 'tcp/2381', 'tcp/30000-32767']);
    const ours = texts('rke2', 'calico');
    for (const row of table) expect(ours.some((t) => t === row || (row.startsWith('tcp/23') && t === 'tcp/2379-2380')), row).toBe(true);
    expect(flows('rke2', 'calico')).toContain('tcp/9345 control-plane nodes');
    expect(texts('kubeadm', 'calico')).not.toContain('tcp/9345');
  });
});

describe('the pod network of each method x CNI', () => {
  // kubespray@v2.31.0:roles/network_plugin/calico_defaults/defaults/main.yml:14,15,28,70,131
  it('kubespray + calico: VXLAN on 4789 only (no IP-in-IP, no BIRD, no Typha)', () => {
    expect([kubesprayDefault('calico_ipip_mode'), kubesprayDefault('calico_vxlan_mode'), kubesprayDefault('calico_network_backend'), kubesprayDefault('typha_enabled')]).toEqual(['Never', 'Always', 'vxlan', 'false']);
    expect(texts('kubespray', 'calico').filter((t) => !/^(tcp\/(6443|2379-2380|10250|30000-32767)|udp\/30000-32767)$/.test(t))).toEqual([`udp/${kubesprayDefault('calico_vxlan_port')}`]);
  });

  // projectcalico/calico@v3.31.5:manifests/calico.yaml:50 (calico_backend: "bird"), :7210-7211 (IPIP Always)
  it('kubeadm + calico (the upstream manifest): BGP on 179 and IP-in-IP (IP protocol 4)', () => {
    expect(upstreamLine('upstream/calico-v3.31.5-manifest-lines.txt', /calico_backend:/).text).toContain('"bird"');
    const lines = upstreamLines('upstream/calico-v3.31.5-manifest-lines.txt');
    const ipip = lines.findIndex((l) => l.text.includes('name: CALICO_IPV4POOL_IPIP'));
    expect(lines[ipip + 1]!.text).toContain('"Always"');
    // Kubespray's table names the protocol: "IPENCAP / IPIP | - | Calico CNI with IPIP enabled" (port-requirements.md:42).
    expect(upstreamLine(KUBESPRAY, /IPENCAP/).where).toBe('docs/operations/port-requirements.md:42');
    expect(flows('kubeadm', 'calico')).toEqual(expect.arrayContaining(['tcp/179 all nodes', 'ipencap all nodes']));
    expect(texts('kubeadm', 'calico')).not.toContain('udp/4789');
  });

  // rancher/rke2-docs:docs/install/requirements.md:175-179 (Calico tab)
  it('rke2 + calico: every row of the Calico tab (BGP, VXLAN, Typha and health checks)', () => {
    expect(rke2Table(/^Calico/)).toEqual(['tcp/179', 'udp/4789', 'tcp/5473', 'tcp/9098', 'tcp/9099']);
    for (const row of rke2Table(/^Calico/)) expect(texts('rke2', 'calico'), row).toContain(row);
  });

  // kubespray@v2.31.0:roles/network_plugin/flannel/defaults/main.yml:19,21; flannel@v0.28.4:Documentation/backends.md:23
  it('kubespray and kubeadm + flannel: VXLAN on the kernel default 8472', () => {
    expect([kubesprayDefault('flannel_backend_type'), kubesprayDefault('flannel_vxlan_port')]).toEqual(['vxlan', '8472']);
    expect(upstreamLine('upstream/flannel-v0.28.4-manifest-lines.txt', /"Type": "vxlan"/)).toBeDefined();
    expect(upstreamLine('upstream/flannel-v0.28.4-manifest-lines.txt', /defaults to kernel default, currently 8472/).where).toBe('backends.md:23');
    expect(texts('kubespray', 'flannel')).toContain('udp/8472');
    expect(texts('kubeadm', 'flannel')).toContain('udp/8472');
  });

  // rancher/rke2-docs:docs/install/requirements.md:186 (Flannel tab): RKE2's flannel is not on 8472.
  it('rke2 + flannel: VXLAN on 4789, not 8472', () => {
    expect(rke2Table(/^Flannel/)).toEqual(['udp/4789']);
    expect(texts('rke2', 'flannel')).toContain('udp/4789');
    expect(texts('rke2', 'flannel')).not.toContain('udp/8472');
  });

  // kubespray@v2.31.0:roles/network_plugin/cilium/defaults/main.yml:30; port-requirements.md:52,55;
  // rke2-docs requirements.md:164-165 (Cilium tab; ICMP types 0 and 8 are accepted by every host firewall).
  it('kubespray and rke2 + cilium: VXLAN on 8472 and health checks on 4240', () => {
    expect(kubesprayDefault('cilium_tunnel_mode')).toBe('vxlan');
    expect(rke2Table(/^Cilium/)).toEqual(['tcp/4240', 'udp/8472', 'udp/51871']);
    for (const method of ['kubespray', 'rke2'] as const) expect(texts(method, 'cilium')).toEqual(expect.arrayContaining(['udp/8472', 'tcp/4240']));
    expect(texts('kubeadm', 'cilium').some((t) => t === 'udp/8472')).toBe(false);
  });

  it('names an upstream source for every flow', () => {
    for (const method of ['kubespray', 'kubeadm', 'rke2'] as const)
      for (const cni of ['calico', 'flannel', 'cilium'] as const) for (const f of clusterFlows(method, cni)) expect(f.source, `${method}/${cni} ${flowText(f)}`).toMatch(/@|https:\/\//);
  });
});

describe('the host firewall opens the flows of its method and CNI', () => {
  // RKE2 does not support Debian: its copy of the example runs Ubuntu where the example runs Debian.
  const cluster = (method: Method, cni: Cni) =>
    exampleWith((t) => {
      const text = t.replace('method: kubespray', `method: ${method}`).replace('cni: calico', `cni: ${cni}`);
      return method === 'rke2' ? text.replace(/os: debian-1[23]/g, 'os: ubuntu-24.04') : text;
    });

  it('kubeadm + calico: IP-in-IP from the LAN in nftables (ip protocol 4) and firewalld (ipencap), both checked by their tools', () => {
    const c = cluster('kubeadm', 'calico');
    const debian = c.spec.nodes.find((n) => n.name === 'masternode')!;
    const rhel = c.spec.nodes.find((n) => n.name === 'homelab')!;
    expect(firewallPorts(c, debian).map(portText)).toContain('ipencap');
    const nft = renderNftables(c, hostPlan(c, debian));
    expect(nft).toContain('ip saddr 192.168.4.0/24 ip protocol 4 accept comment "Calico IP-in-IP"');
    const dir = mkdtempSync(path.join(tmpdir(), 'fw-ipip-'));
    writeFileSync(path.join(dir, 'r.nft'), nft);
    execFileSync('nft', ['-c', '-f', path.join(dir, 'r.nft')]);
    const zone = renderFirewalldZone(c, hostPlan(c, rhel));
    expect(zone).toMatch(/<source address="192\.168\.4\.0\/24"\/>\n {4}<protocol value="ipencap"\/>/);
    const check = (xml: string) => {
      const conf = mkdtempSync(path.join(dir, 'fwd-'));
      mkdirSync(path.join(conf, 'zones'));
      writeFileSync(path.join(conf, 'zones/public.xml'), xml);
      const r = spawnSync('firewall-offline-cmd', ['--system-config', conf, '--check-config'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      return r.stdout + r.stderr;
    };
    // firewalld knows the name (it warns INVALID_PROTOCOL for one it does not: the check has teeth).
    expect(check(zone)).not.toMatch(/INVALID_PROTOCOL/);
    expect(check(zone.replace('ipencap', 'ipencapx'))).toMatch(/INVALID_PROTOCOL: ipencapx/);
  });

  it('rke2 servers open the supervisor port; agents do not', () => {
    const c = cluster('rke2', 'flannel');
    const server = firewallPorts(c, c.spec.nodes.find((n) => n.name === 'masternode')!).map((p) => `${portText(p)} ${p.from.join(',') || 'any'}`);
    const agent = firewallPorts(c, c.spec.nodes.find((n) => n.name === 'storagenodet3500')!).map((p) => `${portText(p)} ${p.from.join(',') || 'any'}`);
    expect(server).toEqual(expect.arrayContaining(['tcp/9345 192.168.4.0/24', 'tcp/2381 192.168.4.0/24', 'udp/4789 192.168.4.0/24']));
    expect(agent).toContain('udp/4789 192.168.4.0/24');
    expect(agent.some((p) => p.startsWith('tcp/9345') || p.startsWith('udp/8472'))).toBe(false);
  });
});
