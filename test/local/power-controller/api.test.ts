import net, { type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerToken, RateLimiter, tokenMatches } from '../../../src/power/api/auth.js';
import { createPowerApi, type PowerApiDeps } from '../../../src/power/api/server.js';
import { jsonLogger } from '../../../src/power/controller/log.js';

const TOKEN = 'a-test-token-0123456789abcdef';

describe('token check', () => {
  it('accepts only the exact token, whatever the lengths', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(tokenMatches(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(tokenMatches(TOKEN, undefined)).toBe(false);
    expect(bearerToken(`Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(bearerToken(`Basic ${TOKEN}`)).toBeUndefined();
  });

  it('rate-limits per client with a token bucket', () => {
    let now = 0;
    const rl = new RateLimiter({ perSecond: 1, burst: 2 }, () => now);
    expect([rl.take('a'), rl.take('a'), rl.take('a')]).toEqual([0, 0, 1]);
    expect(rl.take('b')).toBe(0);
    now += 1000;
    expect(rl.take('a')).toBe(0);
  });
});

describe('HTTP API', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function start(overrides: Partial<PowerApiDeps> = {}) {
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (d: Buffer) => (logText += d.toString()));
    const requests: string[] = [];
    const server = createPowerApi({
      token: TOKEN,
      status: () => ({ identity: 'test', leader: true, synced: true, nodes: [] }),
      nodes: () => ['homelab', 'storagenodet3500'],
      request: async (node, action, source) => void requests.push(`${action}:${node}:${source}`),
      hold: async (h) => void requests.push(`hold:${h.id}:${h.reason}:${new Date(h.until).toISOString()}`),
      release: async (id) => void requests.push(`release:${id ?? 'all'}`),
      metrics: async () => 'vmstation_power_leader 1\n',
      healthy: () => true,
      log: jsonLogger(logs, { level: 'debug' }),
      rateLimit: { perSecond: 0.001, burst: 5 },
      ...overrides,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
    return { server, base, port: (server.address() as AddressInfo).port, requests, logs: () => logText };
  }

  /** Sends raw bytes over TCP and resolves with the first line the server answered ('' if it closed without one). */
  function rawRequest(port: number, bytes: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.setTimeout(5000, () => {
        socket.destroy();
        reject(new Error(`no answer to ${JSON.stringify(bytes)}`));
      });
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
      socket.end(bytes);
    });
  }

  // Issue #17: `GET // HTTP/1.1` made new URL() throw inside the request handler and took the
  // whole controller process (and its wake gateways) down.
  it.each(['//', 'http://[', '//status', 'http://[::1', '*'])('answers the request target %j with an error status and stays up', async (target) => {
    const { port, base } = await start();
    const first = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(first).toMatch(/^HTTP\/1\.1 (400|404) /);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('serves /healthz and /metrics without a token', async () => {
    const { base } = await start();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain('vmstation_power_leader 1');
  });

  it('requires the bearer token for /status and actions, and never logs it', async () => {
    const { base, requests, logs } = await start();
    expect((await fetch(`${base}/status`)).status).toBe(401);
    expect((await fetch(`${base}/wake/homelab`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-000000' } })).status).toBe(401);
    const ok = await fetch(`${base}/wake/homelab`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ accepted: true, node: 'homelab', action: 'wake' });
    const st = await fetch(`${base}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await st.json()).toMatchObject({ identity: 'test', leader: true });
    expect(requests).toEqual(['wake:homelab:api']);
    expect(logs()).toContain('"path":"/wake/homelab"');
    expect(logs()).not.toContain(TOKEN);
    expect(logs()).not.toContain('wrong-token');
  });

  it('rejects unknown nodes, bad names and wrong methods', async () => {
    const { base } = await start();
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${base}/sleep/nosuchnode`, { method: 'POST', headers: auth })).status).toBe(404);
    expect((await fetch(`${base}/sleep/Bad_Name`, { method: 'POST', headers: auth })).status).toBe(400);
    expect((await fetch(`${base}/wake/homelab`, { headers: auth })).status).toBe(405);
  });

  it('answers 429 with Retry-After once a client address has used its burst of unauthenticated requests', async () => {
    const { base } = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${base}/status`, { headers: { authorization: 'Bearer guess-guess-guess-1' } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const r = await fetch(`${base}/wake/homelab`, { method: 'POST' });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  // Issue #17, section 6: one address (a NAT) guessing used to lock out the clients with the token.
  it('gives clients with the right token their own budget: guessers from the same address cannot use it up', async () => {
    const { base, requests } = await start({ authenticatedRateLimit: { perSecond: 0.001, burst: 3 } });
    for (let i = 0; i < 8; i++) await fetch(`${base}/status`, { headers: { authorization: `Bearer guess-${i}-0123456789` } });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer guess-9-0123456789' } })).status).toBe(429);
    const statuses: number[] = [];
    statuses.push((await fetch(`${base}/status`, { headers: auth })).status);
    statuses.push((await fetch(`${base}/wake/homelab`, { method: 'POST', headers: auth })).status);
    statuses.push((await fetch(`${base}/status`, { headers: auth })).status);
    // The authenticated budget is bounded too (a runaway script), and separately.
    statuses.push((await fetch(`${base}/status`, { headers: auth })).status);
    expect(statuses).toEqual([200, 202, 200, 429]);
    expect(requests).toEqual(['wake:homelab:api']);
  });

  it('logs reads and refusals at debug level, and accepted wake and sleep requests at info level', async () => {
    const { base, logs } = await start();
    const auth = { authorization: `Bearer ${TOKEN}` };
    await fetch(`${base}/healthz`);
    await fetch(`${base}/metrics`);
    await fetch(`${base}/status`, { headers: auth });
    await fetch(`${base}/status`);
    await fetch(`${base}/nothing-here`);
    await fetch(`${base}/sleep/storagenodet3500`, { method: 'POST', headers: auth });
    await fetch(`${base}/wake/nosuchnode`, { method: 'POST', headers: auth });
    await new Promise((r) => setTimeout(r, 50));
    const lines = logs().trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; path: string; status: number });
    const http = lines.filter((l) => l.msg === 'http');
    expect(http.map((l) => [l.level, l.path, l.status])).toEqual([
      ['debug', '/healthz', 200],
      ['debug', '/metrics', 200],
      ['debug', '/status', 200],
      ['debug', '/status', 401],
      ['debug', '/nothing-here', 404],
      ['info', '/sleep/storagenodet3500', 202],
      ['debug', '/wake/nosuchnode', 404],
    ]);
  });

  it('answers 500 when a handler throws, logs it, counts it, and keeps serving', async () => {
    const failures: unknown[] = [];
    const { base, port, logs } = await start({
      status: () => {
        throw new Error('status exploded');
      },
      request: () => Promise.reject(new Error('kube unreachable')),
      onInternalError: (err) => void failures.push(err),
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const st = await fetch(`${base}/status`, { headers: auth });
    expect(st.status).toBe(500);
    expect(await st.json()).toEqual({ error: 'internal error' });
    expect((await fetch(`${base}/wake/homelab`, { method: 'POST', headers: auth })).status).toBe(500);
    expect(await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 200 OK');
    expect(failures.map((e) => (e as Error).message)).toEqual(['status exploded', 'kube unreachable']);
    expect(logs()).toContain('"level":"error","msg":"http handler failed","path":"/status","error":"status exploded"');
  });

  it('logs and counts a server error after it listens (an accept failing with EMFILE) and keeps serving', async () => {
    const failures: unknown[] = [];
    const { server, base, logs } = await start({ onInternalError: (err) => void failures.push(err) });
    // What net.Server emits when accept() fails; without a listener the emit would throw.
    server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect(failures).toHaveLength(1);
    expect(logs()).toContain('"msg":"http server error","error":"accept EMFILE"');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
