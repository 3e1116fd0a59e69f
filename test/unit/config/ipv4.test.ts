// The one IPv4/CIDR module (src/config/ipv4.ts): conversions, containment, overlap, broadcast,
// and the network check Kubespray's inventory checks use.
import { describe, expect, it } from 'vitest';
import { broadcastAddress, cidrContains, cidrRange, cidrsOverlap, intToIp, ipToInt, isNetworkCidr, parseCidr } from '../../../src/config/ipv4.js';

describe('ipv4', () => {
  it('converts addresses to numbers and back', () => {
    expect(ipToInt('0.0.0.0')).toBe(0);
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    expect(ipToInt('10.78.0.1')).toBe((10 << 24) + (78 << 16) + 1);
    for (const ip of ['192.168.4.63', '10.233.0.1', '1.2.3.4']) expect(intToIp(ipToInt(ip))).toBe(ip);
  });

  it('parses a CIDR with host bits cleared', () => {
    expect(parseCidr('10.78.0.17/24')).toEqual({ base: ipToInt('10.78.0.0'), prefix: 24, size: 256 });
    expect(parseCidr('0.0.0.0/0')).toEqual({ base: 0, prefix: 0, size: 2 ** 32 });
    expect(cidrRange('10.233.64.0/18').map(intToIp)).toEqual(['10.233.64.0', '10.233.127.255']);
  });

  it('tests containment and overlap at the edges', () => {
    expect(cidrContains('192.168.4.0/24', '192.168.4.255')).toBe(true);
    expect(cidrContains('192.168.4.0/24', '192.168.5.0')).toBe(false);
    expect(cidrsOverlap('10.233.64.0/18', '10.233.0.0/18')).toBe(false);
    expect(cidrsOverlap('10.233.64.0/18', '10.233.100.0/24')).toBe(true);
    expect(cidrsOverlap('0.0.0.0/0', '192.168.4.0/24')).toBe(true);
  });

  it.each([
    ['10.78.0.0/24', '10.78.0.255'],
    ['192.168.4.17/28', '192.168.4.31'],
    ['10.0.0.0/8', '10.255.255.255'],
    ['1.2.3.4/32', '1.2.3.4'],
    ['0.0.0.0/0', '255.255.255.255'],
  ])('broadcast of %s is %s', (cidr, bcast) => expect(broadcastAddress(cidr)).toBe(bcast));

  it('recognises a network (no host bits) as Ansible ipaddr("net") does', () => {
    expect(isNetworkCidr('10.233.64.0/18')).toBe(true);
    expect(isNetworkCidr('10.233.64.1/18')).toBe(false);
    expect(isNetworkCidr('10.233.64.0/33')).toBe(false);
    expect(isNetworkCidr('10.256.0.0/16')).toBe(false);
    expect(isNetworkCidr('10.233.64.0')).toBe(false);
    expect(isNetworkCidr(42)).toBe(false);
  });
});
