// The host firewall of every method x CNI, on RHEL (firewalld) and on Debian/Ubuntu (nftables),
// checked row by row against the upstream port tables. Each rendered ruleset is parsed by its own
// tool (firewall-offline-cmd, nft in a private network namespace: test/helpers/firewall-model.ts)
// and asked, for every row of every table that applies, whether a new connection from another
// node (and from outside the LAN) reaches the node the row names. Rows a path does not need are
// checked closed, with the upstream default that says why. docs/deploy.md carries the same table.
import { describe, expect, it } from 'vitest';
import type { Method } from '../../../src/config/schema.js';
import { etcdMembers, hasRole, type Cluster } from '../../../src/config/model.js';
import { ansibleRenderer } from '../../../src/render/ansible/index.js';
import type { Cni } from '../../../src/render/network/requirements.js';
import { firewalldHost, nftablesHost, parseFirewalldZones, parseNftables, type HostFirewall, type Probe } from '../../helpers/firewall-model.js';
import { kubesprayDefault, upstreamLine, upstreamLines } from '../../helpers/upstream.js';
import { exampleWith } from '../../unit/deploy/helpers.js';

/** `lan`: open from the cluster's nodes only; `anywhere`: open to every source; otherwise closed, and why. */
type Verdict = 'lan' | 'anywhere' | { closed: string };
type On = 'all' | 'control-plane' | 'etcd';
interface Row {
  source: string;
  text: string;
  probe: Probe;
  on: On;
  /** undefined: the row is about a CNI or method this path does not use. */
  verdict(method: Method, cni: Cni): Verdict | undefined;
}

const KUBESPRAY = 'kubespray-v2.31.0/upstream-lines.txt';
const RKE2 = 'upstream/rke2-docs-lines.txt';
const K8S_PAGE = 'kubernetes/website@31a8f95:content/en/docs/reference/networking/ports-and-protocols.md';
const CILIUM_DOC = 'cilium/cilium@00c88111:Documentation/operations/system_requirements.rst (Firewall Rules)';
const CALICO_MANIFEST_TYPHA = 'projectcalico/calico@0039c9cd:manifests/calico.yaml:47-48 (same calico-config as v3.31.5, whose line 50 is test/data)';
const RKE2_CALICO = 'rancher/rke2-charts@022d0ba5:packages/rke2-calico/generated-changes/patch/values.yaml.patch';
const RKE2_CILIUM = 'rancher/rke2-charts@0035c5a0:packages/rke2-cilium/generated-changes/patch/values.yaml.patch';
const closed = (why: string): Verdict => ({ closed: why });

/** `| TCP | 2379 |` -> probe; `IPENCAP / IPIP | -` -> IP protocol 4; `ICMP | -` -> icmp. */
function probeOf(protocol: string, port: string): Probe {
  if (/IPIP|IPENCAP/.test(protocol)) return { protocol: 'ipencap' };
  if (/ICMP/.test(protocol)) return { protocol: 'icmp' };
  const p = protocol.toLowerCase().split('/')[0] as 'tcp' | 'udp';
  return { protocol: p, port: Number(port.split('-')[0]) };
}

// ---- Kubernetes' own table, for kubeadm (quoted: the page is not in test/data).
const K8S_ROWS: Array<[string, On, Verdict]> = [
  ['| TCP      | Inbound   | 6443       | Kubernetes API server   | All                       |', 'control-plane', 'anywhere'],
  ['| TCP      | Inbound   | 2379-2380  | etcd server client API  | kube-apiserver, etcd      |', 'etcd', 'lan'],
  ['| TCP      | Inbound   | 10250      | Kubelet API             | Self, Control plane       |', 'all', 'lan'],
  ['| TCP      | Inbound   | 10259      | kube-scheduler          | Self                      |', 'control-plane', closed('used by Self: loopback, which every firewall accepts')],
  ['| TCP      | Inbound   | 10257      | kube-controller-manager | Self                      |', 'control-plane', closed('used by Self: loopback, which every firewall accepts')],
  ['| TCP      | Inbound   | 30000-32767 | NodePort Services†    | All                     |', 'all', 'anywhere'],
];

function kubespraySection(line: number): 'control-plane' | 'worker' | 'calico' | 'cilium' | 'addons' {
  return line <= 19 ? 'control-plane' : line <= 27 ? 'worker' : line <= 42 ? 'calico' : line <= 60 ? 'cilium' : 'addons';
}

/** Kubespray's table; its Calico and Cilium sections reproduce Calico's and Cilium's own ("refers to: Calico Docs", :44, :62), so they apply to every method with that CNI. */
function kubesprayVerdict(port: string, section: ReturnType<typeof kubespraySection>, method: Method, cni: Cni): Verdict | undefined {
  if ((section === 'control-plane' || section === 'worker') && method !== 'kubespray') return undefined;
  if (section === 'calico' && cni !== 'calico') return undefined;
  if (section === 'cilium' && cni !== 'cilium') return undefined;
  const backend = method === 'kubespray' ? `calico_network_backend: ${kubesprayDefault('calico_network_backend')}` : '';
  const table: Record<string, Verdict> = {
    '22': 'lan',
    '2379': 'lan',
    '2380': 'lan',
    '6443': 'anywhere',
    '10250': 'lan',
    '10257': closed('used by Self (Kubernetes ports page)'),
    '10259': closed('used by Self (Kubernetes ports page)'),
    '30000-32767': 'anywhere',
    '179': method === 'kubespray' ? closed(`${backend}: no BIRD, no BGP`) : 'lan',
    '4789': method === 'kubeadm' ? closed('calico.yaml: CALICO_IPV4POOL_VXLAN "Never"') : 'lan',
    '5473': method === 'rke2' ? 'lan' : closed(method === 'kubespray' ? `typha_enabled: ${kubesprayDefault('typha_enabled')}` : `${CALICO_MANIFEST_TYPHA}: typha_service_name: "none"`),
    '51820': closed(method === 'kubespray' ? `calico_wireguard_enabled: ${kubesprayDefault('calico_wireguard_enabled')}` : method === 'rke2' ? `${RKE2_CALICO}: wireguardEnabled: false` : 'calico.yaml: no WireGuard'),
    '51821': closed('IPv6 WireGuard: clusters are IPv4'),
    '-ipip': method === 'kubeadm' ? 'lan' : closed(method === 'kubespray' ? `calico_ipip_mode: ${kubesprayDefault('calico_ipip_mode')}` : `${RKE2_CALICO}: calicoNetwork.bgp: Disabled (VXLAN)`),
    '4240': 'lan',
    '4244': closed(method === 'kubespray' ? `cilium_enable_hubble: ${kubesprayDefault('cilium_enable_hubble')}` : `${RKE2_CILIUM}: hubble.enabled: false`),
    '4245': closed(method === 'kubespray' ? `cilium_hubble_install: ${kubesprayDefault('cilium_hubble_install')}` : `${RKE2_CILIUM}: hubble.enabled: false`),
    '8472': 'lan',
    '9962': closed(`cilium_enable_prometheus: ${kubesprayDefault('cilium_enable_prometheus')} (scraped, when on, by a pod: the pod range is trusted)`),
    '9963': closed('operator metrics: scraped by a pod when on'),
    '9964': closed('envoy metrics: scraped by a pod when on'),
    '51871': closed(method === 'kubespray' ? `cilium_encryption_enabled: ${kubesprayDefault('cilium_encryption_enabled')}` : "no encryption (Cilium's chart default)"),
    '-icmp': 'anywhere',
    '9100': 'lan',
    '7472': closed('MetalLB is not installed'),
    '7946': closed('MetalLB is not installed'),
  };
  return table[port];
}

function rke2Verdict(port: string, what: string, cni: Cni): Verdict | undefined {
  if (/^Canal/.test(what)) return undefined; // Canal is not a CNI vmstation offers
  if (/^Cilium/.test(what) && cni !== 'cilium') return undefined;
  if (/^Calico/.test(what) && cni !== 'calico') return undefined;
  if (/^Flannel/.test(what) && cni !== 'flannel') return undefined;
  if (port === '51871') return closed("no WireGuard: rke2-cilium keeps the chart's encryption off");
  return port === '6443' || port === '30000-32767' || port === '0, 8 *' ? 'anywhere' : 'lan';
}

function buildRows(): Row[] {
  const rows: Row[] = K8S_ROWS.map(([text, on, v]) => {
    const cells = text.split('|').map((c) => c.trim());
    return { source: K8S_PAGE, text, probe: probeOf(cells[1]!, cells[3]!), on, verdict: (m) => (m === 'kubeadm' ? v : undefined) };
  });
  for (const l of upstreamLines(KUBESPRAY).filter((x) => x.where.startsWith('docs/operations/port-requirements.md:'))) {
    const line = Number(l.where.split(':')[1]);
    const [, protocol, port] = l.text.split('|').map((c) => c.trim());
    const section = kubespraySection(line);
    const key = /IPIP/.test(protocol!) ? '-ipip' : /ICMP/.test(protocol!) ? '-icmp' : port!;
    const on: On = key === '2379' || key === '2380' ? 'etcd' : section === 'control-plane' && key !== '10250' && key !== '22' ? 'control-plane' : 'all';
    rows.push({ source: `kubernetes-sigs/kubespray@v2.31.0:${l.where}`, text: l.text, probe: probeOf(protocol!, port!), on, verdict: (m, c) => kubesprayVerdict(key, section, m, c) });
  }
  for (const l of upstreamLines(RKE2).filter((x) => x.where.startsWith('docs/install/requirements.md') && /^(TCP|UDP|ICMP)$/.test(x.text.split('|')[2]?.trim() ?? ''))) {
    const [, port, protocol, , to, what] = l.text.split('|').map((c) => c.trim());
    const on: On = /server/.test(to!) ? (/^23/.test(port!) ? 'etcd' : 'control-plane') : 'all';
    rows.push({ source: `rancher/rke2-docs@9477b7b:${l.where}`, text: l.text, probe: probeOf(protocol!, port!), on, verdict: (m, c) => (m === 'rke2' ? rke2Verdict(port!, what!, c) : undefined) });
  }
  // Cilium's own page (quoted), for the rows Kubespray's copy words differently.
  const cilium = (text: string, probe: Probe, v: (m: Method) => Verdict): Row => ({ source: CILIUM_DOC, text, probe, on: 'all', verdict: (m, c) => (c === 'cilium' ? v(m) : undefined) });
  rows.push(
    cilium('This requires ICMP Type 0/8, Code 0 open among all nodes.', { protocol: 'icmp' }, () => 'anywhere'),
    cilium('TCP 4240 should also be open among all nodes for ``cilium-health``', { protocol: 'tcp', port: 4240 }, () => 'lan'),
    cilium('UDP 8472 must be open among all nodes to enable VXLAN overlay mode.', { protocol: 'udp', port: 8472 }, () => 'lan'),
    cilium('4244/tcp                 Hubble server', { protocol: 'tcp', port: 4244 }, (m) => closed(m === 'kubespray' ? 'cilium_enable_hubble: false' : `${RKE2_CILIUM}: hubble.enabled: false`)),
    cilium('If you are using WireGuard, you must allow UDP port 51871.', { protocol: 'udp', port: 51871 }, () => closed('no WireGuard')),
  );
  // flannel's own default for kubeadm (Kubespray's flannel_vxlan_port says the same; RKE2's tab says 4789).
  const flannel = upstreamLine('upstream/flannel-v0.28.4-manifest-lines.txt', /defaults to kernel default, currently 8472/);
  rows.push({ source: `flannel-io/flannel@v0.28.4:Documentation/${flannel.where}`, text: flannel.text, probe: { protocol: 'udp', port: 8472 }, on: 'all', verdict: (m, c) => (c === 'flannel' && m !== 'rke2' ? 'lan' : undefined) });
  return rows;
}

const ROWS = buildRows();
const METHODS = ['kubespray', 'kubeadm', 'rke2'] as const;
const CNIS = ['calico', 'flannel', 'cilium'] as const;
// validate refuses kubeadm + Cilium (kubeadm-cilium-unsupported): 8 paths.
const PATHS = METHODS.flatMap((m) => CNIS.filter((c) => !(m === 'kubeadm' && c === 'cilium')).map((c) => [m, c] as const));
const OUTSIDE = '203.0.113.7'; // TEST-NET-3: never in network.subnet

function cluster(method: Method, cni: Cni, family: 'redhat' | 'debian'): Cluster {
  return exampleWith((t) => {
    const text = t.replace('method: kubespray', `method: ${method}`).replace('cni: calico', `cni: ${cni}`);
    const os = family === 'redhat' ? 'rhel-9' : method === 'rke2' ? 'ubuntu-24.04' : 'debian-12';
    return text.replace(/os: (debian-1[23]|rhel-10)/g, `os: ${os}`);
  });
}

interface RenderedPath {
  cluster: Cluster;
  hosts: Map<string, HostFirewall>;
}

/** Renders all 8 paths for one OS family and parses every node's ruleset with one tool call. */
function renderAll(family: 'redhat' | 'debian'): Map<string, RenderedPath> {
  const out = new Map<string, RenderedPath>();
  const pending: Array<{ key: string; node: string; file: string; trusted?: string }> = [];
  for (const [m, c] of PATHS) {
    const cl = cluster(m, c, family);
    const files = ansibleRenderer.render(cl).filter((a) => a.path.startsWith('configs/firewall/'));
    out.set(`${m}/${c}`, { cluster: cl, hosts: new Map() });
    const trusted = files.find((a) => a.path === 'configs/firewall/trusted.xml')?.content;
    for (const n of cl.spec.nodes) {
      const file = files.find((a) => a.path === `configs/firewall/${n.name}.${family === 'redhat' ? 'xml' : 'nft'}`);
      if (!file) throw new Error(`${m}/${c}: no firewall file for ${n.name}`);
      pending.push({ key: `${m}/${c}`, node: n.name, file: file.content, ...(trusted === undefined ? {} : { trusted }) });
    }
  }
  if (family === 'debian') {
    const parsed = parseNftables(pending.map((p) => p.file));
    pending.forEach((p, i) => out.get(p.key)!.hosts.set(p.node, nftablesHost(parsed[i]!)));
  } else {
    const zones: Record<string, string> = {};
    pending.forEach((p, i) => {
      zones[`p${i}`] = p.file;
      if (p.trusted !== undefined) zones[`t${i}`] = p.trusted;
    });
    const parsed = parseFirewalldZones(zones);
    pending.forEach((p, i) => {
      // On the node, the first file is public.xml (the default zone) and the second trusted.xml.
      const own = [{ ...parsed[`p${i}`]!, name: 'public' }, ...(parsed[`t${i}`] ? [{ ...parsed[`t${i}`]!, name: 'trusted' }] : [])];
      out.get(p.key)!.hosts.set(p.node, firewalldHost(own, 'public'));
    });
  }
  return out;
}

const receivers = (cl: Cluster, on: On) =>
  cl.spec.nodes.filter((n) => on === 'all' || (on === 'control-plane' && hasRole(n, 'control-plane')) || (on === 'etcd' && etcdMembers(cl.spec.nodes).some((e) => e.name === n.name)));

const probeText = (p: Probe) => (p.port === undefined ? p.protocol : `${p.protocol}/${p.port}`);

describe.each(['redhat', 'debian'] as const)('the %s host firewall against the upstream port tables', (family) => {
  const rendered = renderAll(family);

  it.each(PATHS)('%s + %s: every applicable row is open where it is needed, from where it is needed, and closed where nothing needs it', (method, cni) => {
    const { cluster: cl, hosts } = rendered.get(`${method}/${cni}`)!;
    const peer = (exclude: string) => cl.spec.nodes.find((n) => n.name !== exclude)!.address;
    let applied = 0;
    for (const row of ROWS) {
      const v = row.verdict(method, cni);
      if (v === undefined) continue;
      applied++;
      const what = `${row.source}: "${row.text.trim()}" (${probeText(row.probe)})`;
      for (const n of receivers(cl, row.on)) {
        const host = hosts.get(n.name)!;
        if (v === 'lan' || v === 'anywhere') {
          expect(host.admits(row.probe, peer(n.name)), `${n.name} from a node: ${what}`).toBe(true);
          expect(host.admits(row.probe, OUTSIDE), `${n.name} from outside the LAN: ${what}`).toBe(v === 'anywhere');
        } else {
          expect(host.admits(row.probe, peer(n.name)), `${n.name} should stay closed (${v.closed}): ${what}`).toBe(false);
        }
      }
    }
    expect(applied).toBeGreaterThanOrEqual(10);
  });

  it.each(PATHS)('%s + %s: rows for control planes and etcd members stay closed on workers', (method, cni) => {
    const { cluster: cl, hosts } = rendered.get(`${method}/${cni}`)!;
    const workers = cl.spec.nodes.filter((n) => !hasRole(n, 'control-plane'));
    expect(workers.length).toBeGreaterThan(0);
    const everywhere = ROWS.filter((r) => r.on === 'all' && r.verdict(method, cni) !== undefined && typeof r.verdict(method, cni) === 'string').map((r) => probeText(r.probe));
    for (const row of ROWS.filter((r) => r.on !== 'all' && typeof r.verdict(method, cni) === 'string' && !everywhere.includes(probeText(r.probe))))
      for (const w of workers) expect(hosts.get(w.name)!.admits(row.probe, cl.spec.nodes[0]!.address), `${w.name}: ${row.text}`).toBe(false);
  });

  // Pod traffic crosses the FORWARD hook on both ends: a pod's packet leaving through the tunnel,
  // and a remote pod's packet arriving decapsulated for a local pod. k3s-io/docs@005d295:
  // docs/installation/requirements.md (Operating Systems, "Red Hat Enterprise Linux" tab, Firewalld):
  // "If you wish to keep firewalld enabled, by default, the following rules are required:" ...
  // "firewall-cmd --permanent --zone=trusted --add-source=10.42.0.0/16 #pods",
  // "firewall-cmd --permanent --zone=trusted --add-source=10.43.0.0/16 #services".
  it.each(PATHS)('%s + %s: a packet from a pod on another node is forwarded to a pod here; one from outside the cluster is not', (method, cni) => {
    const { cluster: cl, hosts } = rendered.get(`${method}/${cni}`)!;
    const pods = cl.spec.kubernetes.podSubnet.split('/')[0]!.split('.').map(Number);
    const podAt = (third: number, fourth: number) => `${pods[0]}.${pods[1]}.${pods[2]! + third}.${fourth}`;
    for (const n of cl.spec.nodes) {
      expect(hosts.get(n.name)!.forwards(podAt(1, 10), podAt(0, 20)), `${n.name}: pod -> pod`).toBe(true);
      if (family === 'redhat') expect(hosts.get(n.name)!.forwards(OUTSIDE, podAt(0, 20)), `${n.name}: outside -> pod without DNAT`).toBe(false);
    }
  });
});

describe('the firewalld model follows firewalld itself (test/data/upstream/firewalld-lines.txt)', () => {
  const lines = upstreamLines('upstream/firewalld-lines.txt');
  it('rich rules without an element admit traffic to the host only, and the zone target decides forwarded traffic (v1.3.3 and v2.2.0)', () => {
    for (const tag of ['v1.3.3', 'v2.2.0']) {
      const at = lines.filter((l) => l.where.startsWith(`firewalld/firewalld@${tag}/src/firewall/core/fw_zone.py`));
      const i = at.findIndex((l) => /rule\.element is None/.test(l.text));
      expect(at[i + 1]!.text, tag).toContain('policy_name_from_zones(zone, "HOST")');
      expect(at.some((l) => l.text.trim() === 'p_obj.target = z_obj.target'), tag).toBe(true);
    }
  });

  it('the catch-all interface of the default zone gets no intra-zone forward rule (v1.3.3 and v2.2.0)', () => {
    expect(lines.find((l) => l.where.endsWith('v1.3.3/src/firewall/core/fw_zone.py:676'))!.text).toContain('interface not in ["+", "*"]');
    const v2 = lines.filter((l) => l.where.startsWith('firewalld/firewalld@v2.2.0/src/firewall/core/fw_zone.py:93'));
    expect(v2.map((l) => l.text.trim())).toEqual(['if interface == "+":', 'continue']);
    // and so the model: a public zone with <forward/> as the default does not forward.
    const host = firewalldHost([{ name: 'public', target: '%%REJECT%%', sources: [], ports: [], protocols: [], forward: true, richRules: ['rule family="ipv4" source address="10.233.64.0/18" accept'] }], 'public');
    expect(host.forwards('10.233.65.10', '10.233.64.20')).toBe(false);
    expect(host.admits({ protocol: 'tcp', port: 10250 }, '10.233.65.10')).toBe(true);
  });
});
