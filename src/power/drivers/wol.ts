// Wake-on-LAN: the magic packet (6 x 0xFF, the MAC 16 times, optionally a 6-byte SecureOn
// password) sent by UDP broadcast a few times, since UDP gives no delivery guarantee.
import dgram from 'node:dgram';

const MAC_RE = /^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$/;

function sixBytes(text: string, what: string): Buffer {
  if (!MAC_RE.test(text)) throw new Error(`${what} must be six hex pairs such as 02:00:c0:a8:04:3d, got "${text}"`);
  return Buffer.from(text.replace(/[:-]/g, ''), 'hex');
}

/** The magic packet for `mac` (102 bytes, or 108 with a SecureOn password). */
export function magicPacket(mac: string, secureOn?: string): Buffer {
  const target = sixBytes(mac, 'a MAC address');
  const parts = [Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => target)];
  if (secureOn !== undefined) parts.push(sixBytes(secureOn, 'a SecureOn password'));
  return Buffer.concat(parts);
}

export interface WolTarget {
  mac: string;
  broadcast: string;
  port: number;
  /** How many copies to send. */
  packets: number;
  secureOn?: string | undefined;
}

/** The part of a UDP socket the sender needs (tests pass a fake or a real socket). */
export interface UdpSocket {
  bind(cb: () => void): void;
  setBroadcast(flag: boolean): void;
  send(msg: Buffer, port: number, address: string, cb: (err: Error | null) => void): void;
  close(): void;
  once(event: 'error', cb: (err: Error) => void): void;
}

export interface WolDeps {
  createSocket?: () => UdpSocket;
  sleep?: (ms: number) => Promise<void>;
  /** Gap between copies (default 100 ms). */
  gapMs?: number;
}

const realSocket = (): UdpSocket => dgram.createSocket('udp4') as unknown as UdpSocket;
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends `packets` magic packets to broadcast:port. Resolves with the number sent. */
export async function sendMagicPackets(target: WolTarget, deps: WolDeps = {}): Promise<number> {
  const packet = magicPacket(target.mac, target.secureOn);
  const socket = (deps.createSocket ?? realSocket)();
  const sleep = deps.sleep ?? realSleep;
  const gap = deps.gapMs ?? 100;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(() => resolve());
    });
    // Broadcasting needs SO_BROADCAST, which can only be set on a bound socket.
    socket.setBroadcast(true);
    for (let i = 0; i < target.packets; i++) {
      if (i > 0) await sleep(gap);
      await new Promise<void>((resolve, reject) => socket.send(packet, target.port, target.broadcast, (err) => (err ? reject(err) : resolve())));
    }
    return target.packets;
  } finally {
    socket.close();
  }
}
