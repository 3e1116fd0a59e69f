// Wake-on-LAN magic packets, as a NIC checks them: 6 bytes of 0xFF, then the target MAC 16 times
// (an optional 4- or 6-byte SecureOn password may follow). Pure: bytes in, verdict out.

export function macToBytes(mac: string): Buffer {
  const hex = mac.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12) throw new Error(`not a MAC address: ${mac}`);
  return Buffer.from(hex, 'hex');
}

export function bytesToMac(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function buildMagicPacket(mac: string): Buffer {
  const target = macToBytes(mac);
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => target)]);
}

export type MagicVerdict = { ok: true; mac: string } | { ok: false; reason: string };

/**
 * Finds a magic packet anywhere in the payload (a NIC scans the whole frame) and returns the MAC it
 * carries; the 16 copies must all be the same MAC.
 */
export function parseMagicPacket(payload: Buffer): MagicVerdict {
  for (let i = 0; i + 102 <= payload.length; i++) {
    if (!payload.subarray(i, i + 6).equals(Buffer.alloc(6, 0xff))) continue;
    const target = payload.subarray(i + 6, i + 12);
    if (target.equals(Buffer.alloc(6, 0xff))) continue;
    let all = true;
    for (let k = 1; k < 16 && all; k++) all = payload.subarray(i + 6 + 6 * k, i + 12 + 6 * k).equals(target);
    if (all) return { ok: true, mac: bytesToMac(target) };
  }
  return { ok: false, reason: payload.length < 102 ? `too short (${payload.length} bytes, a magic packet has 102)` : 'no 6x0xFF header followed by 16 copies of one MAC' };
}
