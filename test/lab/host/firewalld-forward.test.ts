// The rendered firewalld zones under the real firewalld, with real TCP connections, for every
// method x CNI on a RHEL node. No RHEL host runs here, so the node is made of network namespaces
// on this machine (test/lab/host/firewalld/netns-probe.sh): firewalld 1.3 (Debian's
// package, the 1.3 line RHEL 9 ships) runs in a private network and mount namespace with its own
// D-Bus, loads the node's public.xml and the cluster's trusted.xml, and sees the packets a RHEL
// node sees: another node's (and an outside address's) connections on eth0, a remote pod's
// packets arriving decapsulated on a tunnel interface, a local pod behind a cali interface.
// Every address is in 10.78.0.0/24 (the test cluster's LAN, pod range and an outside address);
// nothing leaves the namespaces. What this stands in for, and does not show: the tunnel itself
// (VXLAN/IP-in-IP are plain veths here), kube-proxy's and the CNI's own rules, SELinux.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/config/model.js';
import type { Method } from '../../../src/config/schema.js';
import { validateText } from '../../../src/config/validate.js';
import { ansibleRenderer } from '../../../src/render/ansible/index.js';
import type { Cni } from '../../../src/render/network/requirements.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SCRIPT = path.join(import.meta.dirname, 'firewalld/netns-probe.sh');
const NODE = 'homelab';
const NET = { NODE_IP: '10.78.0.12', LAN_PEER: '10.78.0.11', OUTSIDE: '10.78.0.100', LAN_PREFIX: '26', POD_SUBNET: '10.78.0.128/25', REMOTE_POD: '10.78.0.170', LOCAL_POD: '10.78.0.140' };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The example on the test's addresses: LAN 10.78.0.0/26 (nodes .11-.13), pods 10.78.0.128/25 (a /27 per node), every node RHEL 9. */
function rhelCluster(method: Method, cni: Cni): Cluster {
  const text = readFileSync(path.join(ROOT, 'examples/vmstation.yaml'), 'utf8')
    .replace('subnet: 192.168.4.0/24', 'subnet: 10.78.0.0/26')
    .replace('gateway: 192.168.4.1', 'gateway: 10.78.0.1')
    .replace('method: kubespray', `method: ${method}`)
    .replace('cni: calico', `cni: ${cni}`)
    .replace('podSubnet: 10.233.64.0/18', `podSubnet: ${NET.POD_SUBNET}\n    nodePrefix: 27`)
    .replace(/192\.168\.4\.6(\d)/g, (_m, d: string) => `10.78.0.1${d}`)
    .replace(/os: (debian-12|rhel-10)/g, 'os: rhel-9');
  const r = validateText({ file: 'examples/vmstation.yaml', text });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.cluster;
}

/** Runs firewalld with these zone files and returns each probe's result. */
function probe(zones: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-firewalld-netns-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'zones'));
  if (existsSync('/etc/firewalld/firewalld.conf')) copyFileSync('/etc/firewalld/firewalld.conf', path.join(dir, 'firewalld.conf'));
  for (const [name, xml] of Object.entries(zones)) writeFileSync(path.join(dir, 'zones', `${name}.xml`), xml);
  const out = execFileSync('unshare', ['-n', '-m', '--propagation', 'private', 'sh', SCRIPT, dir], { env: { ...process.env, ...NET }, encoding: 'utf8', timeout: 90_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0]!, l.slice(l.indexOf(' ') + 1).trim()]));
}

function renderedZones(c: Cluster): { public: string; trusted: string } {
  const files = ansibleRenderer.render(c);
  const get = (p: string) => files.find((a) => a.path === p)?.content ?? '';
  return { public: get(`configs/firewall/${NODE}.xml`), trusted: get('configs/firewall/trusted.xml') };
}

// What every path must show. EHOSTUNREACH is firewalld's reject (icmpx admin-prohibited).
const EXPECTED = {
  'remote-pod-to-local-pod': 'ok', // a pod on another node to a pod here: FORWARD, in through the tunnel
  'local-pod-to-remote-pod': 'ok', // a pod here to a pod on another node: FORWARD, out through the tunnel
  'local-pod-to-host': 'ok', // a pod to its node (the trusted zone accepts it to the host too)
  'node-to-kubelet': 'ok', // 10250 from another node (every path's tables)
  'node-to-closed-port': 'EHOSTUNREACH', // 10257: used by Self only
  'outside-to-kubelet': 'EHOSTUNREACH', // 10250 is for the nodes, not for an address outside network.subnet
  'node-to-pod-without-dnat': 'EHOSTUNREACH', // the LAN reaches pods through NodePorts (DNAT), not by routing
};

describe('the rendered firewalld zones under the real firewalld, real connections through network namespaces', () => {
  it.each([
    ['kubespray', 'calico'],
    ['kubespray', 'flannel'],
    ['kubespray', 'cilium'],
    ['kubeadm', 'calico'],
    ['kubeadm', 'flannel'],
    ['rke2', 'calico'],
    ['rke2', 'flannel'],
    ['rke2', 'cilium'],
  ] as const)('%s + %s: pod traffic is forwarded both ways, the node admits what the tables say and refuses the rest', (method, cni) => {
    const zones = renderedZones(rhelCluster(method, cni));
    expect(zones.trusted).toContain(`<source address="${NET.POD_SUBNET}"/>`);
    const seen = probe(zones);
    expect(seen['default-zone']).toBe('public');
    expect(seen['active-zones']).toContain(NET.POD_SUBNET);
    for (const [name, want] of Object.entries(EXPECTED)) expect(seen[name], name).toBe(want);
  });

  it('the zones as rendered before (public only, the pod range a rich rule there) refuse pod traffic between nodes: the defect this guards', () => {
    const { public: zone } = renderedZones(rhelCluster('kubeadm', 'calico'));
    const before = zone.replace('  <rule family="ipv4">\n    <destination', `  <rule family="ipv4">\n    <source address="${NET.POD_SUBNET}"/>\n    <accept/>\n  </rule>\n  <rule family="ipv4">\n    <destination`);
    expect(before).not.toBe(zone);
    const seen = probe({ public: before });
    expect(seen['remote-pod-to-local-pod']).toBe('EHOSTUNREACH');
    expect(seen['local-pod-to-remote-pod']).toBe('EHOSTUNREACH');
    // The rich rule did reach the host: only the forward path was refused.
    expect(seen['local-pod-to-host']).toBe('ok');
  });
});
