// The status page's routes over real HTTP: security headers and a strict CSP, login needs the
// form's CSRF cookie and the right token, cross-site POSTs are refused, and the page shares the
// API's rate limit (login guesses and bearer-token guesses draw from one bucket per address).
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPowerApi } from '../../../src/power/api/server.js';
import { silentLogger } from '../../../src/power/controller/log.js';

const TOKEN = 'unit-test-token-0123456789abcdef';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function start() {
  const api = createPowerApi({
    token: TOKEN,
    status: () => ({ identity: 'u', leader: true, synced: true, nodes: [] }),
    hold: () => Promise.resolve(), // the maintenance hold is tested in hold-api.test.ts
    release: () => Promise.resolve(),
    nodes: () => ['homelab'],
    request: () => Promise.resolve(),
    metrics: () => Promise.resolve(''),
    healthy: () => true,
    log: silentLogger,
    rateLimit: { perSecond: 0.001, burst: 6 },
    ui: { cluster: 'c', apps: [] },
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => (api.closeAllConnections(), api.close(() => r()))));
  return `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
}

async function loginForm(url: string) {
  const r = await fetch(`${url}/`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await r.text())?.[1] ?? '';
  return { r, cookie, csrf };
}

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const FORM = 'application/x-www-form-urlencoded';

describe('status page routes', () => {
  it('serves the login page with a strict CSP and security headers', async () => {
    const url = await start();
    const { r, cookie } = await loginForm(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'; connect-src 'self'; img-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'$/);
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect(cookie).toMatch(/^vmstation_login=/);
  });

  it('refuses a login without the form cookie, with a wrong token, and cross-site; accepts the token', async () => {
    const url = await start();
    const { cookie, csrf } = await loginForm(url);
    const post = (body: string, headers: Record<string, string>) => fetch(`${url}/login`, { method: 'POST', body, headers: { 'content-type': FORM, ...headers }, redirect: 'manual' });
    expect((await post(form({ token: TOKEN, csrf }), {})).status).toBe(403); // no cookie: no double submit
    expect((await post(form({ token: 'wrong-token-000000000', csrf }), { cookie })).status).toBe(401);
    expect((await post(form({ token: TOKEN, csrf }), { cookie, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const ok = await post(form({ token: TOKEN, csrf }), { cookie, 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('set-cookie')).toMatch(/vmstation_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
    const session = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect((await fetch(`${url}/ui/status`, { headers: { cookie: session } })).status).toBe(200);
    expect((await fetch(`${url}/ui/status`)).status).toBe(401);
    expect((await fetch(`${url}/ui/wake/homelab`, { method: 'POST', headers: { cookie: session } })).status).toBe(403);
  });

  it('shares the rate limit with the API: login guesses and bearer guesses use one budget', async () => {
    const url = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/status`, { headers: { authorization: 'Bearer wrong-guess-0000000' } })).status);
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/`)).status);
    expect(statuses).toEqual([401, 401, 401, 200, 200, 200, 429]);
  });
});
