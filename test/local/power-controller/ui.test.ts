// The status page's routes over real HTTP: security headers and a strict CSP, login needs the
// form's CSRF cookie and the right token, cross-site POSTs are refused, and the page shares the
// API's rate limit (login guesses and bearer-token guesses draw from one bucket per address). The
// maintenance hold from the page: CSRF first, a duration and a reason checked, the `manual` hold.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HoldRequestBody } from '../../../src/power/api/requests.js';
import { createPowerApi } from '../../../src/power/api/server.js';
import { silentLogger } from '../../../src/power/controller/log.js';

const TOKEN = 'unit-test-token-0123456789abcdef';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const T0 = Date.parse('2026-12-04T15:00:00Z');

async function start(calls: { holds: HoldRequestBody[]; releases: Array<string | undefined> } = { holds: [], releases: [] }) {
  const api = createPowerApi({
    token: TOKEN,
    status: () => ({ identity: 'u', leader: true, synced: true, nodes: [] }),
    // What the page asks for; taking it on the Nodes is tested in hold-api.test.ts.
    hold: (h) => (calls.holds.push(h), Promise.resolve()),
    release: (id) => (calls.releases.push(id), Promise.resolve()),
    now: () => T0,
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

  it('takes the hold from the page only with the CSRF token, for a duration from the controller clock, with a reason', async () => {
    const calls = { holds: [] as HoldRequestBody[], releases: [] as Array<string | undefined> };
    const url = await start(calls);
    const { cookie, csrf: loginCsrf } = await loginForm(url);
    const ok = await fetch(`${url}/login`, { method: 'POST', body: form({ token: TOKEN, csrf: loginCsrf }), headers: { 'content-type': FORM, cookie }, redirect: 'manual' });
    const session = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const page = await (await fetch(`${url}/`, { headers: { cookie: session } })).text();
    const csrf = /<meta name="csrf" content="([^"]+)">/.exec(page)?.[1] ?? '';
    expect(page).toContain('<select id="hold-for"><option value="30m">30 minutes</option><option value="1h" selected>1 hour</option>');
    const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-csrf-token': csrf }) =>
      fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { cookie: session, 'content-type': 'application/json', ...headers } });

    expect((await post('/ui/hold', { for: '2h', reason: 'disk swap' }, {})).status).toBe(403);
    expect((await post('/ui/release', { id: 'manual' }, { 'x-csrf-token': 'guess' })).status).toBe(403);
    const bad = await Promise.all([
      post('/ui/hold', { for: '2h' }),
      post('/ui/hold', { for: '2h', reason: '   ' }),
      post('/ui/hold', { for: 'soon', reason: 'x' }),
      post('/ui/hold', { for: '8d', reason: 'x' }),
      post('/ui/hold', { for: '1h', reason: 'x'.repeat(201) }),
      post('/ui/release', { id: '../all' }),
    ]);
    expect(await Promise.all(bad.map(async (r) => `${r.status} ${((await r.json()) as { error: string }).error}`))).toEqual([
      '400 "reason" must say why (1 to 200 characters)',
      '400 "reason" must say why (1 to 200 characters)',
      '400 "for" must be a duration from 1s to 7d, such as "2h"',
      '400 "for" must be a duration from 1s to 7d, such as "2h"',
      '400 "reason" must be text of 1 to 200 characters',
      '400 "id" must be a hold name',
    ]);
    expect(calls).toEqual({ holds: [], releases: [] });

    const held = await post('/ui/hold', { for: '2h', reason: ' disk swap ', until: '2030-01-01T00:00:00Z', id: 'deploy-x' });
    expect(held.status).toBe(202);
    expect(await held.json()).toEqual({ held: true, id: 'manual', until: '2026-12-04T17:00:00.000Z' });
    expect(calls.holds).toEqual([{ id: 'manual', reason: 'disk swap (from the status page, 127.0.0.1)', until: T0 + 2 * 3600_000 }]);
    const released = await post('/ui/release', { id: 'manual' });
    expect([released.status, await released.json()]).toEqual([200, { released: 'manual' }]);
    expect(calls.releases).toEqual(['manual']);
  });
});
