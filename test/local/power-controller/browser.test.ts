// The waiting page and the status page's login in a real browser (Debian's chromium through
// playwright-core, no browser download), without a lab: a real wake gateway whose node is "asleep"
// until the test says otherwise, a real HTTP server as the app (a stand-in for Jellyfin), and the
// real power API. The full story against a controller is test/local/power/loopback-browser.
// Prints the figures docs/power.md quotes; screenshots go to test-artifacts/browser/.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPowerApi } from '../../../src/power/api/server.js';
import { silentLogger } from '../../../src/power/controller/log.js';
import type { ControllerStatus } from '../../../src/power/controller/status.js';
import { WakeGateway } from '../../../src/power/gateway/gateway.js';
import { freePort } from '../../helpers/net.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts/browser');
const TOKEN = 'unit-test-token-0123456789abcdef';

// Debian's chromium is a test dependency (scripts/debian-packages.txt): without it this fails.
describe('in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 30_000);
  afterAll(async () => browser?.close());

  it('shows the waiting page at once, then the app with no manual reload', async () => {
    const appPort = await freePort('127.0.0.1');
    let awake = false;
    const gw = new WakeGateway([{ app: 'jellyfin', node: 'storagenodet3500', listenPort: 0, target: { host: '127.0.0.1', port: appPort }, waitingPage: true }], {
      nodeAwake: () => awake,
      nodeInfo: () => ({ state: awake ? 'awake' : 'waking', lastWakeLatencySeconds: 38 }),
      requestWake: () => Promise.resolve(),
      log: silentLogger,
      retryMs: 100,
      connectTimeoutMs: 300,
    });
    await gw.start('127.0.0.1');
    const app = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Jellyfin (stand-in)</title><h1>Jellyfin stand-in</h1>');
    });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${gw.port('jellyfin')}/web/`);
      const toPage = Number(await page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0]; return n.responseEnd - n.requestStart; })()"));
      expect(await page.title()).toBe('jellyfin is waking up');
      expect(await page.locator('#stage').textContent()).toBe('The server is booting…');
      await page.screenshot({ path: path.join(ARTIFACTS, 'waiting-page-unit.png') });
      // No CSP violation: the inline script runs (the elapsed counter ticks).
      await page.locator('#elapsed').filter({ hasNotText: /^0 s$/ }).waitFor({ timeout: 5000 });

      awake = true;
      await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', () => r()));
      const up = Date.now();
      await page.getByRole('heading', { name: 'Jellyfin stand-in' }).waitFor({ timeout: 15_000 });
      const toApp = Date.now() - up;
      expect(page.url()).toBe(`http://127.0.0.1:${gw.port('jellyfin')}/web/`);
      console.log(`figures: request to waiting page ${toPage.toFixed(1)} ms; app answering to the browser showing it ${toApp} ms`);
      await page.close();
    } finally {
      await gw.close();
      await new Promise<void>((r) => app.close(() => r()));
    }
  }, 60_000);

  it('logs in with the token only; a wrong token and a POST without the CSRF token are refused', async () => {
    const requested: string[] = [];
    const status: ControllerStatus = {
      identity: 'unit',
      leader: true,
      synced: true,
      nodes: [
        {
          node: 'homelab',
          state: 'asleep',
          since: new Date(0).toISOString(),
          reason: 'idle',
          attempts: 0,
          ready: false,
          cordoned: true,
          energySavedKwh: 1.5,
          pods: [],
          nextPredictedWake: { at: '2026-03-05T18:44:00.000Z', reason: 'predicted demand: demand started 18:45-19:15 on 5 of the last 6 Thursdays (chance 83 % >= 60 %); waking 1m boot ahead' },
        },
      ],
    };
    const api = createPowerApi({
      token: TOKEN,
      status: () => status,
      hold: () => Promise.resolve(), // the maintenance hold is tested in hold-api.test.ts
      release: () => Promise.resolve(),
      nodes: () => ['homelab'],
      request: (node, action) => {
        requested.push(`${action} ${node}`);
        return Promise.resolve();
      },
      metrics: () => Promise.resolve(''),
      healthy: () => true,
      log: silentLogger,
      ui: { cluster: 'homelab-cluster', apps: [] },
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await page.fill('#token', 'wrong-token-0000000000000');
      await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
      expect(await page.getByRole('alert').textContent()).toBe('Wrong token.');
      expect((await page.context().cookies()).some((c) => c.name === 'vmstation_session')).toBe(false);

      await page.fill('#token', TOKEN);
      await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
      await page.waitForSelector('section[data-node="homelab"]');
      // The next predicted wake is on the node's card, its reason as text.
      const next = await page.evaluate("(() => { const dt = [...document.querySelectorAll('section[data-node=homelab] dt')].find((d) => d.textContent === 'next predicted wake'); return dt ? dt.nextElementSibling.textContent : null; })()");
      expect(next).toMatch(/: predicted demand: demand started 18:45-19:15 on 5 of the last 6 Thursdays \(chance 83 % >= 60 %\); waking 1m boot ahead$/);
      expect((await page.context().cookies()).find((c) => c.name === 'vmstation_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(await page.evaluate("document.cookie")).toBe(''); // HttpOnly: no script can read it
      expect(await page.evaluate("fetch('/ui/wake/homelab', { method: 'POST' }).then((r) => r.status)")).toBe(403);
      expect(requested).toEqual([]);
      await page.setViewportSize({ width: 390, height: 640 }); // a phone
      await page.screenshot({ path: path.join(ARTIFACTS, 'status-page-unit.png') });
      await page.getByRole('button', { name: 'Wake' }).click();
      await page.getByText('Asked: wake homelab').waitFor();
      expect(requested).toEqual(['wake homelab']);
      await page.close();
    } finally {
      api.closeAllConnections();
      await new Promise<void>((r) => api.close(() => r()));
    }
  }, 60_000);
});
