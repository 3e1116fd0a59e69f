// The rendered host firewalls as their own tools parse them, and a small model of what each
// admits, so a test can ask "does a new TCP connection to port P from address A reach this
// host?" and "is a packet from A forwarded to a pod?" row by row against the upstream tables.
//
// - nftables: every ruleset is loaded by the real `nft` into a fresh network namespace
//   (`unshare -n`, nothing on this machine changes) and read back with `nft -j list table`;
//   the model walks the input chain's rules in order.
// - firewalld: every zone file goes into one throwaway configuration folder and the real
//   `firewall-offline-cmd --list-all-zones` parses it; the model follows firewalld's dispatch
//   (firewalld/firewalld@v1.3.3, the same in v2.x): a packet belongs to the zone one of whose
//   sources holds its address, otherwise to the default zone (`public` here, a catch-all);
//   ports, protocols and rich rules without an element only admit traffic to the host
//   (src/firewall/core/fw_zone.py:836-846 `_rich_rule_to_policies`), the zone's target decides
//   forwarded traffic (:105 `p_obj.target = z_obj.target` for the zone_<z>_ANY policy), and
//   intra-zone forwarding is never added for the catch-all interface (:672-677).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Proto = 'tcp' | 'udp' | 'ipencap' | 'icmp';
export interface Probe {
  protocol: Proto;
  port?: number;
}

export interface HostFirewall {
  /** A new connection (first packet) to the host itself. */
  admits(probe: Probe, from: string): boolean;
  /** A new packet from `from` routed through the host to the pod address `to` (the forward path). */
  forwards(from: string, to: string): boolean;
}

const PROTO_NUMBER: Record<Proto, number> = { icmp: 1, tcp: 6, udp: 17, ipencap: 4 };

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function cidrHolds(cidr: string, ip: string): boolean {
  const [base, len = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(ipToInt(base!) / size) === Math.floor(ipToInt(ip) / size);
}

function inRange(port: number | undefined, spec: string): boolean {
  if (port === undefined) return false;
  const [a, b] = spec.split('-').map(Number);
  return port >= a! && port <= (b ?? a!);
}

// ---------------------------------------------------------------- nftables

type NftExpr = Record<string, unknown>;
interface NftRule {
  chain: string;
  expr: NftExpr[];
}
interface NftChain {
  name: string;
  hook?: string;
  policy?: string;
}

/** Loads each ruleset with the real nft in a private network namespace and returns its JSON. */
export function parseNftables(rulesets: string[]): Array<{ chains: NftChain[]; rules: NftRule[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-nft-audit-'));
  try {
    rulesets.forEach((r, i) => writeFileSync(path.join(dir, `${i}.nft`), r));
    const script = rulesets.map((_r, i) => `nft -f ${dir}/${i}.nft && nft -j list table inet vmstation && echo`).join(' && ');
    const out = execFileSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => {
        const items = (JSON.parse(l) as { nftables: Array<Record<string, Record<string, unknown>>> }).nftables;
        return {
          chains: items.filter((x) => x.chain).map((x) => x.chain as unknown as NftChain),
          rules: items.filter((x) => x.rule).map((x) => x.rule as unknown as NftRule),
        };
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function nftValueHolds(right: unknown, value: string | number): boolean {
  if (Array.isArray(right)) return right.some((r) => nftValueHolds(r, value));
  if (typeof right === 'object' && right !== null) {
    const r = right as { set?: unknown[]; prefix?: { addr: string; len: number }; range?: [number, number] };
    if (r.set) return r.set.some((x) => nftValueHolds(x, value));
    if (r.prefix) return typeof value === 'string' && cidrHolds(`${r.prefix.addr}/${r.prefix.len}`, value);
    if (r.range) return typeof value === 'number' && value >= r.range[0] && value <= r.range[1];
  }
  if (typeof value === 'string' && typeof right === 'string') return right === value || cidrHolds(right, value);
  return right === value || right === String(value);
}

/** Whether one match expression holds for a new packet arriving on the LAN interface. */
function nftMatches(m: { op: string; left: Record<string, Record<string, string>>; right: unknown }, probe: Probe, from: string): boolean {
  const { left, right } = m;
  let holds: boolean;
  if (left.ct) holds = nftValueHolds(right, 'new');
  else if (left.meta?.key === 'iifname') holds = false; // arrives on the LAN NIC: never lo or a pod interface
  else if (left.meta?.key === 'l4proto') holds = nftValueHolds(right, probe.protocol) || nftValueHolds(right, PROTO_NUMBER[probe.protocol]);
  else if (left.payload?.field === 'saddr') holds = nftValueHolds(right, from);
  else if (left.payload?.field === 'daddr') holds = false; // a node address, never the Service range
  else if (left.payload?.field === 'protocol') holds = nftValueHolds(right, PROTO_NUMBER[probe.protocol]) || nftValueHolds(right, probe.protocol);
  else if (left.payload?.field === 'nexthdr') holds = false; // IPv4 probes only
  else if (left.payload?.field === 'dport') holds = left.payload.protocol === probe.protocol && probe.port !== undefined && nftValueHolds(right, probe.port);
  else throw new Error(`nft match not modelled: ${JSON.stringify(m)}`);
  return m.op === '!=' ? !holds : holds;
}

export function nftablesHost(parsed: { chains: NftChain[]; rules: NftRule[] }): HostFirewall {
  const input = parsed.chains.find((c) => c.hook === 'input');
  if (!input) throw new Error('no input chain');
  const verdict = (probe: Probe, from: string): boolean => {
    for (const rule of parsed.rules.filter((r) => r.chain === input.name)) {
      const matches = rule.expr.filter((e) => 'match' in e).map((e) => e.match as Parameters<typeof nftMatches>[0]);
      if (!matches.every((m) => nftMatches(m, probe, from))) continue;
      if (rule.expr.some((e) => 'accept' in e)) return true;
      if (rule.expr.some((e) => 'drop' in e || 'reject' in e)) return false;
    }
    return input.policy === 'accept';
  };
  return {
    admits: verdict,
    // The table hooks no forward chain (or one that accepts): it never stands in the forward path.
    forwards: () => parsed.chains.filter((c) => c.hook === 'forward').every((c) => c.policy === 'accept'),
  };
}

// ---------------------------------------------------------------- firewalld

export interface FirewalldZone {
  name: string;
  target: string;
  sources: string[];
  ports: string[];
  protocols: string[];
  forward: boolean;
  richRules: string[];
}

/** Parses zone files with the real firewall-offline-cmd (one call for all), keyed by the names given. */
export function parseFirewalldZones(zones: Record<string, string>): Record<string, FirewalldZone> {
  const conf = mkdtempSync(path.join(os.tmpdir(), 'vmstation-firewalld-audit-'));
  try {
    mkdirSync(path.join(conf, 'zones'));
    if (existsSync('/etc/firewalld/firewalld.conf')) copyFileSync('/etc/firewalld/firewalld.conf', path.join(conf, 'firewalld.conf'));
    for (const [name, xml] of Object.entries(zones)) writeFileSync(path.join(conf, 'zones', `${name}.xml`), xml);
    const out = execFileSync('firewall-offline-cmd', ['--system-config', conf, '--list-all-zones'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const parsed: Record<string, FirewalldZone> = {};
    for (const block of out.split(/\n(?=\S)/)) {
      const lines = block.split('\n');
      const name = lines[0]!.replace(/ \(.*\)$/, '').trim();
      if (!(name in zones)) continue;
      const field = (key: string) => (lines.find((l) => l.trim().startsWith(`${key}:`)) ?? '').replace(/^\s*[^:]+:\s*/, '').trim();
      const start = lines.findIndex((l) => l.trim() === 'rich rules:');
      parsed[name] = {
        name,
        target: field('target'),
        sources: field('sources').split(/\s+/).filter(Boolean),
        ports: field('ports').split(/\s+/).filter(Boolean),
        protocols: field('protocols').split(/\s+/).filter(Boolean),
        forward: field('forward') === 'yes',
        richRules: lines.slice(start + 1).map((l) => l.trim()).filter(Boolean),
      };
    }
    for (const name of Object.keys(zones)) if (!parsed[name]) throw new Error(`firewall-offline-cmd did not list zone ${name}:\n${out}`);
    return parsed;
  } finally {
    rmSync(conf, { recursive: true, force: true });
  }
}

function richRuleAdmits(rule: string, probe: Probe, from: string): boolean {
  const src = /source address="([^"]+)"/.exec(rule)?.[1];
  if (src !== undefined && !cidrHolds(src, from)) return false;
  if (/destination address=/.test(rule)) return false; // a node address, never the Service range
  if (!/ accept$/.test(rule)) return false;
  const port = /port port="([^"]+)" protocol="([^"]+)"/.exec(rule);
  if (port) return port[2] === probe.protocol && inRange(probe.port, port[1]!);
  const proto = /protocol value="([^"]+)"/.exec(rule);
  if (proto) return proto[1] === probe.protocol;
  return true; // no element: everything from the source
}

/** The host as firewalld would treat it with these zones, `defaultZone` catching every unbound interface. */
export function firewalldHost(zones: FirewalldZone[], defaultZone: string): HostFirewall {
  const zoneOf = (from: string): FirewalldZone => zones.find((z) => z.sources.some((s) => cidrHolds(s, from))) ?? zones.find((z) => z.name === defaultZone)!;
  return {
    admits(probe, from) {
      const z = zoneOf(from);
      if (z.target === 'ACCEPT') return true;
      if (z.ports.some((p) => p.endsWith(`/${probe.protocol}`) && inRange(probe.port, p.split('/')[0]!))) return true;
      if (z.protocols.includes(probe.protocol)) return true;
      return z.richRules.some((r) => richRuleAdmits(r, probe, from));
    },
    forwards(from, to) {
      const z = zoneOf(from);
      // A zone whose target accepts forwarded traffic, or intra-zone forwarding to another of the
      // zone's own sources; the catch-all default zone gets no intra-zone forward rule.
      return z.target === 'ACCEPT' || (z.forward && z.name !== defaultZone && z.sources.some((s) => cidrHolds(s, to)));
    },
  };
}
