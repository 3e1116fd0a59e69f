import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { magicPacket, sendMagicPackets, type UdpSocket } from '../../../src/power/drivers/wol.js';

describe('magic packet', () => {
  it('is 6 x 0xFF then the MAC 16 times', () => {
    const p = magicPacket('02:00:c0:a8:04:3d');
    expect(p.length).toBe(102);
    expect([...p.subarray(0, 6)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    for (let i = 0; i < 16; i++) expect(p.subarray(6 + 6 * i, 12 + 6 * i).toString('hex')).toBe('0200c0a8043d');
  });

  it('appends a 6-byte SecureOn password', () => {
    const p = magicPacket('02-00-C0-A8-04-3D', 'de:ad:be:ef:00:01');
    expect(p.length).toBe(108);
    expect(p.subarray(102).toString('hex')).toBe('deadbeef0001');
    expect(p.subarray(6, 12).toString('hex')).toBe('0200c0a8043d');
  });

  it('refuses malformed MACs and passwords', () => {
    expect(() => magicPacket('02:00:c0:a8:04')).toThrow(/MAC/);
    expect(() => magicPacket('02:00:c0:a8:04:3d', 'secret')).toThrow(/SecureOn/);
  });
});

describe('sendMagicPackets', () => {
  it('sends the configured number of packets, with broadcast on, to a real UDP listener on 127.0.0.1', async () => {
    const listener = dgram.createSocket('udp4');
    const received: Buffer[] = [];
    await new Promise<void>((r) => listener.bind(0, '127.0.0.1', () => r()));
    const port = listener.address().port;
    const all = new Promise<void>((resolve) =>
      listener.on('message', (msg) => {
        received.push(msg);
        if (received.length === 3) resolve();
      }),
    );
    const sleeps: number[] = [];
    const sent = await sendMagicPackets(
      { mac: '02:00:0a:4e:00:3d', broadcast: '127.0.0.1', port, packets: 3 },
      { sleep: (ms) => (sleeps.push(ms), Promise.resolve()) },
    );
    await all;
    listener.close();
    expect(sent).toBe(3);
    expect(sleeps).toEqual([100, 100]);
    for (const m of received) expect(m.equals(magicPacket('02:00:0a:4e:00:3d'))).toBe(true);
  });

  it('sets SO_BROADCAST after binding and closes the socket even when a send fails', async () => {
    const calls: string[] = [];
    const fake: UdpSocket = {
      bind: (cb) => (calls.push('bind'), cb()),
      setBroadcast: (flag) => void calls.push(`broadcast:${flag}`),
      send: (_m, port, addr, cb) => (calls.push(`send:${addr}:${port}`), cb(new Error('EACCES'))),
      close: () => void calls.push('close'),
      once: () => undefined,
    };
    await expect(sendMagicPackets({ mac: '02:00:0a:4e:00:3d', broadcast: '10.78.0.255', port: 9, packets: 2 }, { createSocket: () => fake })).rejects.toThrow('EACCES');
    expect(calls).toEqual(['bind', 'broadcast:true', 'send:10.78.0.255:9', 'close']);
  });
});
