// The one IPv4 and CIDR module: addresses as 32-bit numbers, networks as base + size. Inputs are
// already checked by the schema's Ipv4/Cidr patterns (isNetworkCidr checks raw text itself).

export interface Ipv4Network {
  /** The network address (host bits cleared), as a number. */
  base: number;
  prefix: number;
  /** How many addresses the network holds (2^(32 - prefix)). */
  size: number;
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function parseCidr(cidr: string): Ipv4Network {
  const [addr, bits] = cidr.split('/') as [string, string];
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToInt(addr) & mask) >>> 0, prefix, size };
}

/** First and last address of the network, as numbers. */
export function cidrRange(cidr: string): [number, number] {
  const net = parseCidr(cidr);
  return [net.base, net.base + net.size - 1];
}

export function cidrContains(cidr: string, ip: string): boolean {
  const net = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= net.base && n < net.base + net.size;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

/** The broadcast address of an IPv4 CIDR (e.g. 10.78.0.0/24 -> 10.78.0.255). */
export function broadcastAddress(cidr: string): string {
  const [first, last] = cidrRange(cidr);
  return intToIp((first | last) >>> 0);
}

/** A dotted-quad network with a prefix and no host bits set (what Ansible's ipaddr('net') accepts). */
export function isNetworkCidr(cidr: unknown): cidr is string {
  if (typeof cidr !== 'string') return false;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return false;
  if (m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return false;
  const [addr] = cidr.split('/') as [string];
  // 10.0.0.1/24 is a host, not a network; any address with /0 was accepted before this module.
  const net = parseCidr(cidr);
  return net.prefix === 0 || net.base === ipToInt(addr);
}
