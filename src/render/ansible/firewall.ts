// The per-node firewall: accept what runs on the node (host-plan.ts decides), refuse the rest.
// Debian gets an nftables table of its own (other tables, e.g. kube-proxy's and Calico's, are
// left alone); RHEL gets firewalld's default zone.
import type { Cluster } from '../../config/model.js';
import { IP_PROTOCOL_NUMBER } from '../network/requirements.js';
import { portText, type NodeHostPlan, type PortRule } from './host-plan.js';

/** Interfaces pod traffic arrives on (Calico veths, VXLAN, IP-in-IP; Flannel; Cilium). */
const POD_INTERFACES = ['cali*', 'vxlan.calico', 'tunl0', 'cni0', 'flannel.1', 'cilium_*', 'lxc*'];

function portRange(port: NonNullable<PortRule['port']>): string {
  return Array.isArray(port) ? `${port[0]}-${port[1]}` : String(port);
}

/** The match of a rule after its source: `tcp dport 179`, or `ip protocol 4` for IP-in-IP (numeric: /etc/protocols names 4 `ipencap`). */
function nftMatch(p: PortRule): string {
  return p.port === undefined ? `ip protocol ${IP_PROTOCOL_NUMBER[p.protocol]}` : `${p.protocol} dport ${portRange(p.port)}`;
}

export function renderNftables(cluster: Cluster, plan: NodeHostPlan): string {
  const { spec } = cluster;
  const lines = [
    '#!/usr/sbin/nft -f',
    `# Rendered by VMStation for ${plan.node.name} (${plan.node.os}). Do not edit: re-render instead.`,
    '# Only the table inet vmstation is replaced; tables of kube-proxy, Calico and others stay.',
    'table inet vmstation',
    'delete table inet vmstation',
    '',
    'table inet vmstation {',
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy drop;',
    '\t\tct state established,related accept',
    '\t\tct state invalid drop',
    '\t\tiifname "lo" accept',
    '\t\tip protocol icmp accept',
    '\t\tip6 nexthdr icmpv6 accept',
    '\t\t# Pods and Services: traffic from pods, and to Service addresses (IPVS delivers through input).',
    ...POD_INTERFACES.map((i) => `\t\tiifname "${i}" accept`),
    `\t\tip saddr ${spec.kubernetes.podSubnet} accept`,
    `\t\tip daddr ${spec.kubernetes.serviceSubnet} accept`,
    '\t\t# What runs on this node.',
  ];
  for (const p of plan.ports) {
    const from = p.from.length === 0 ? '' : p.from.length === 1 ? `ip saddr ${p.from[0]} ` : `ip saddr { ${p.from.join(', ')} } `;
    lines.push(`\t\t${from}${nftMatch(p)} accept comment "${p.why}"`);
  }
  lines.push(
    '\t\t# Everything else is refused (a reset for TCP, port-unreachable otherwise), so clients fail fast.',
    '\t\tmeta l4proto tcp reject with tcp reset',
    '\t\treject with icmpx type port-unreachable',
    '\t}',
    '}',
    '',
  );
  return lines.join('\n');
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A zone's `<port>`, or `<protocol>` for a protocol without ports (firewalld takes the /etc/protocols name). */
function firewalldMatch(p: PortRule, indent: string): string {
  return p.port === undefined ? `${indent}<protocol value="${p.protocol}"/>` : `${indent}<port port="${portRange(p.port)}" protocol="${p.protocol}"/>`;
}

/** firewalld's `public` zone (the default zone) as the node needs it. */
export function renderFirewalldZone(cluster: Cluster, plan: NodeHostPlan): string {
  const { spec } = cluster;
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<zone target="%%REJECT%%">',
    '  <short>public</short>',
    `  <description>Rendered by VMStation for ${xmlEscape(plan.node.name)} (${plan.node.os}): what runs on this node; everything else is refused.</description>`,
    '  <protocol value="icmp"/>',
    '  <protocol value="ipv6-icmp"/>',
  ];
  const open = plan.ports.filter((p) => p.from.length === 0);
  const scoped = plan.ports.filter((p) => p.from.length > 0);
  for (const p of open) lines.push(firewalldMatch(p, '  '));
  lines.push('  <forward/>');
  for (const p of scoped) {
    for (const from of p.from) {
      lines.push(
        `  <rule family="ipv4">`,
        `    <source address="${from}"/>`,
        firewalldMatch(p, '    '),
        `    <accept/>`,
        `  </rule>`,
      );
    }
  }
  // Traffic to Service addresses (IPVS delivers it through input); traffic from pods belongs to the
  // trusted zone (renderFirewalldTrustedZone).
  lines.push(`  <rule family="ipv4">`, `    <destination address="${spec.kubernetes.serviceSubnet}"/>`, `    <accept/>`, `  </rule>`, '</zone>', '');
  return lines.join('\n');
}

/**
 * firewalld's `trusted` zone with the pod and Service ranges as its sources, the same on every node.
 * Pod traffic crosses the FORWARD hook (leaving through the tunnel, arriving for a local pod), and
 * firewalld judges forwarded packets by their ingress zone's target: `public`, the default zone,
 * catches every unbound interface and gets no intra-zone forward rule, so its %%REJECT%% would
 * refuse every pod-to-pod packet between nodes (firewalld/firewalld@v1.3.3:src/firewall/core/
 * fw_zone.py:105 and :672-676; v2.2.0 :94 and :937-938). A source bound to a zone with target
 * ACCEPT is accepted to the host and forwarded; these are the rules k3s documents for keeping
 * firewalld on (k3s-io/docs@005d295:docs/installation/requirements.md, "Firewalld": --zone=trusted
 * --add-source for the pod and the Service range).
 */
export function renderFirewalldTrustedZone(cluster: Cluster): string {
  const { kubernetes } = cluster.spec;
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<zone target="ACCEPT">',
    '  <short>trusted</short>',
    `  <description>Rendered by VMStation for cluster ${xmlEscape(cluster.metadata.name)}: the pod and Service ranges. Their packets are accepted to the host and forwarded (pod traffic between nodes crosses FORWARD, which the public zone refuses).</description>`,
    `  <source address="${kubernetes.podSubnet}"/>`,
    `  <source address="${kubernetes.serviceSubnet}"/>`,
    '  <forward/>',
    '</zone>',
    '',
  ].join('\n');
}

/** One line per open port, for the comments and docs. */
export function describePorts(plan: NodeHostPlan): string[] {
  return plan.ports.map((p) => `${portText(p)} from ${p.from.length ? p.from.join(', ') : 'anywhere'}: ${p.why}`);
}
