// Issue #17, as an attacker on the network would do it, against the real `vmstation power
// controller` process (the CLI verb, a separate process) on the loopback power lab:
//  - request lines that used to kill it (`GET //`, `GET http://[`) and other malformed requests:
//    it answers each with an error status, stays up, and /healthz keeps answering;
//  - the wake-gateway memory attack: 400 clients each send 1.1 MiB to the gateway and hang up.
//    Before the fix the controller's RSS went from 100 to 543 MiB (pod limit 512Mi); this test
//    then saw 140 -> 577 MiB and no client counted at all. Now its peak RSS grows by less than
//    GATEWAY_ATTACK_RSS_BOUND_MIB (measured: +75 to +101 MiB), the clients it held are counted as
//    `client-gone`, the ones over the per-app cap as `refused`, and it still serves.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GATEWAY_LIMITS } from '../../../src/power/gateway/gateway.js';
import { freePort } from '../../helpers/net.js';
import { TEST_TOKEN } from './harness.js';
import { eventually, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';

/**
 * The bound this test holds the attack to: 256 held connections (the per-app cap) x at most
 * 192 KiB each (64 KiB kept, the read that crossed it, the socket's read-ahead) is 48 MiB; the read
 * buffers dropped while reading the clients to their end stay allocated until V8 collects them (it
 * starts after about 64 MiB of such external memory): 112 MiB, and a margin. Measured: +75 to +101
 * MiB. Before the fix: +437 MiB.
 */
const GATEWAY_ATTACK_RSS_BOUND_MIB = 150;
const CLIENTS = 400;
const PAYLOAD = Buffer.alloc(Math.round(1.1 * 1024 * 1024), 0x61);

function procStatusKib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** Raw bytes in, the server's first line out ('' if it closed without answering). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new Error('no answer'));
    });
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
    socket.end(bytes);
  });
}

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('the controller process against hostile clients', () => {
  let lab: LoopbackLab;
  let child: ChildProcess;
  let url: string;
  let apiPort: number;
  let gatewayPort: number;
  let log = '';

  beforeAll(async () => {
    const nodePort = await freePort('127.0.0.61', [30000, 32767]);
    gatewayPort = await freePort('127.0.0.1');
    // Nothing listens on the app's NodePort: every gateway connection waits, as for a sleeping node.
    lab = await startLoopbackLab({ apps: [{ name: 'jellyfin', node: 'storagenodet3500', nodePort, gatewayPort, wakeOnRequest: true }] });
    const tokenFile = path.join(lab.dir, 'token');
    writeFileSync(tokenFile, TEST_TOKEN, { mode: 0o600 });
    child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'cli-entry.ts'), 'power', 'controller', '-f', lab.clusterPath, '--kubeconfig', lab.kubeconfigPath, '--token-file', tokenFile, '--listen', '127.0.0.1:0', '--namespace', 'default', '--identity', 'hostile'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    url = await eventually('the controller running', () => /"msg":"power manager running","url":"([^"]+)"/.exec(log)?.[1], 60_000);
    apiPort = Number(new URL(url).port);
    await eventually('/healthz 200', async () => (await fetch(`${url}/healthz`)).status === 200, 30_000);
    await eventually('the gateway listening', () => log.includes('"msg":"wake gateway listening"'));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await lab?.stop();
  });

  const alive = async () => {
    expect(child.exitCode, `the controller exited; its log:\n${log.split('\n').slice(-20).join('\n')}`).toBeNull();
    expect(await raw(apiPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 200 OK');
  };

  it('answers request lines that used to kill it, and other malformed requests, and stays up', async () => {
    const cases: Array<[string | Buffer, RegExp]> = [
      ['GET // HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 404 /],
      ['GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['POST //wake/homelab HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 404 /],
      ['OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      // The headers are answered (no token) before the broken chunk is read.
      ['POST /wake/homelab HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /^HTTP\/1\.1 (400|401) /],
      [`GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
      [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00]), /^HTTP\/1\.1 400 /], // a TLS ClientHello
    ];
    for (const [bytes, expected] of cases) {
      expect(await raw(apiPort, bytes)).toMatch(expected);
      await alive();
    }
    expect(await metric(url, 'vmstation_internal_errors_total{component="api"}')).toBe(0);
  });

  it('holds its memory bound under 400 clients that each send 1.1 MiB to the wake gateway and hang up', async () => {
    const pid = child.pid as number;
    const before = procStatusKib(pid, 'VmRSS');
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // restart the peak (VmHWM) from now
    const sockets = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect(gatewayPort, '127.0.0.1', () => resolve(s));
          s.on('error', () => resolve(s)); // refused ones are reset, possibly before 'connect'
          s.on('finish', () => s.destroy()); // everything handed to the kernel, FIN sent: hang up
        }),
      ),
    );
    for (const s of sockets) if (!s.destroyed) s.end(PAYLOAD);

    const gone = 'vmstation_gateway_connections_total{app="jellyfin",outcome="client-gone"}';
    const refused = 'vmstation_gateway_connections_total{app="jellyfin",outcome="refused"}';
    const overflow = 'vmstation_gateway_connections_total{app="jellyfin",outcome="overflow"}';
    // Held clients are paused at the wait buffer; after the grace period the gateway reads on to
    // their FIN. Waits up to grace + drain + slack.
    let last = '';
    const counted = await eventually(
      'every client counted',
      async () => {
        const [g, r] = [await metric(url, gone), await metric(url, refused)];
        last = `${g} client-gone, ${r} refused, ${await metric(url, overflow)} overflow`;
        return g + r === CLIENTS ? { gone: g, refused: r } : undefined;
      },
      DEFAULT_GATEWAY_LIMITS.pausedGraceMs + DEFAULT_GATEWAY_LIMITS.drainMaxMs + 30_000,
      250,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message} (last seen: ${last})`);
    });
    const peak = procStatusKib(pid, 'VmHWM');
    const growthMib = (peak - before) / 1024;
    console.log(`gateway attack: RSS ${(before / 1024).toFixed(0)} MiB before, peak ${(peak / 1024).toFixed(0)} MiB (+${growthMib.toFixed(0)} MiB); ${counted.gone} client-gone, ${counted.refused} refused`);
    expect(growthMib).toBeLessThan(GATEWAY_ATTACK_RSS_BOUND_MIB);
    expect(counted.gone).toBeGreaterThanOrEqual(DEFAULT_GATEWAY_LIMITS.maxConnectionsPerApp);
    expect(counted.refused).toBe(CLIENTS - counted.gone);
    expect(await metric(url, 'vmstation_internal_errors_total{component="gateway"}')).toBe(0);
    await alive();
  });
});
