import type { AddressInfo } from 'node:net';
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
      metrics: async () => 'vmstation_power_leader 1\n',
      healthy: () => true,
      log: jsonLogger(logs),
      rateLimit: { perSecond: 0.001, burst: 5 },
      ...overrides,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => new Promise<void>((r) => server.close(() => r()));
    return { base, requests, logs: () => logText };
  }

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

  it('answers 429 with Retry-After once a client has used its burst, even with a wrong token', async () => {
    const { base } = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${base}/status`, { headers: { authorization: 'Bearer guess-guess-guess-1' } })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const r = await fetch(`${base}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
