// The status page and the gateway's waiting page in a real browser (Debian's chromium driven by
// playwright-core, no browser download) against the loopback power lab: log in, see the nodes'
// states, sleep only after confirming, wake a sleeping node and watch its card go waking -> awake
// without a reload; a wrong token and a POST without the CSRF token are refused. Then a browser
// opening jellyfin's gateway URL while its node sleeps sees the waiting page at once, and the app's
// own page (a stand-in HTTP server on the node's loopback address, named as one) with no manual
// reload; an open session through the gateway keeps the node awake, and after it closes the node
// sleeps again. Screenshots go to test-artifacts/browser/; the figures are printed.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestPower } from '../../../src/power/api/requests.js';
import { kubeFor, powerOf, startTestController, TEST_TOKEN, testPod, waitForState, type TestController } from './harness.js';
import { DEFAULT_HOSTS, eventually, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';
import { freePort } from '../../helpers/net.js';

const HOST = '127.0.0.61'; // storagenodet3500 in the loopback lab
const ARTIFACTS = path.resolve('test-artifacts/browser');

/** The card's state as the page shows it. */
const cardState = (page: Page, node: string) => page.locator(`section[data-node="${node}"] [data-testid="state"]`).textContent();

describe('status page and waiting page in chromium (loopback lab)', () => {
  let lab: LoopbackLab;
  let ctl: TestController;
  let browser: Browser;
  let nodePort: number;
  let gatewayPort: number;
  const kube = () => kubeFor(lab.kubeconfigPath);

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    nodePort = await freePort(HOST, [30000, 32767]);
    gatewayPort = await freePort('127.0.0.1');
    lab = await startLoopbackLab({
      // A 4 s boot (a real one takes ~45 s): the page, polling every 2 s, then always shows `waking`.
      hosts: DEFAULT_HOSTS.map((h) => (h.name === 'storagenodet3500' ? { ...h, bootDelayMs: 4000 } : h)),
      nodePower: { storagenodet3500: { idleAfter: '3s' } },
      apps: [{ name: 'jellyfin', node: 'storagenodet3500', nodePort, gatewayPort, wakeOnRequest: true, sessionIdleAfter: '2s', ignoreUserAgents: ['UptimeRobot'] }],
    });
    // Keeps storagenodet3500 busy (idleAfter 3s) until the sleep on the page evicts it.
    lab.standin.create(testPod('keeper', { node: 'storagenodet3500' }));
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath, gateway: { retryMs: 100, connectTimeoutMs: 500 } });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await ctl?.close();
    await lab?.stop();
  });

  it('logs in with the token only, and refuses a POST without the CSRF token', async () => {
    const page = await browser.newPage();
    await page.goto(`${ctl.url}/`);
    await page.fill('#token', 'not-the-token-at-all-0000');
    await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
    await expect(page.getByRole('alert').textContent()).resolves.toBe('Wrong token.');
    expect(await page.locator('section.card').count()).toBe(0);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'vmstation_session')).toBeUndefined();

    await page.fill('#token', TEST_TOKEN);
    await Promise.all([page.waitForURL(`${ctl.url}/`), page.click('button[type=submit]')]);
    await page.waitForSelector('section[data-node="storagenodet3500"]');
    const session = (await page.context().cookies()).find((c) => c.name === 'vmstation_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    // The page's own script can post (it sends the token); the same request without it is refused.
    const noCsrf = await page.evaluate(async () => (await fetch('/ui/wake/homelab', { method: 'POST' })).status);
    expect(noCsrf).toBe(403);
    const wrongCsrf = await page.evaluate(async () => (await fetch('/ui/wake/homelab', { method: 'POST', headers: { 'x-csrf-token': 'guess' } })).status);
    expect(wrongCsrf).toBe(403);
    expect((await powerOf(kube(), 'homelab')).request).toBeUndefined();
    await page.close();
  }, 60_000);

  it('shows the nodes, sleeps a node only after confirmation, and wakes it live', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
    await page.goto(`${ctl.url}/`);
    await page.fill('#token', TEST_TOKEN);
    await Promise.all([page.waitForURL(`${ctl.url}/`), page.click('button[type=submit]')]);
    await page.waitForSelector('section[data-node="storagenodet3500"]');
    await eventually('storagenodet3500 awake on the page', async () => (await cardState(page, 'storagenodet3500')) === 'awake');
    expect(await cardState(page, 'homelab')).toBe('awake');
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png'), fullPage: true });

    const card = page.locator('section[data-node="storagenodet3500"]');
    await card.getByRole('button', { name: 'Sleep…' }).click();
    await page.waitForTimeout(500);
    expect((await powerOf(kube(), 'storagenodet3500')).request).toBeUndefined(); // nothing asked before confirming
    await expect(page.getByRole('alertdialog').isVisible()).resolves.toBe(true);
    // Keyboard: the confirmation has the focus, Enter confirms.
    await eventually('the confirm button focused', async () => (await page.evaluate('document.activeElement && document.activeElement.textContent')) === 'Sleep now');
    await page.keyboard.press('Enter');
    await waitForState(kube(), 'storagenodet3500', 'asleep');
    await page.evaluate('window.marker = 42'); // survives only without a reload
    await eventually('asleep on the page', async () => (await cardState(page, 'storagenodet3500')) === 'asleep');

    const seen = new Set<string>();
    await card.getByRole('button', { name: 'Wake' }).click();
    await eventually('waking then awake on the page', async () => {
      const s = await cardState(page, 'storagenodet3500');
      if (s) seen.add(s);
      return s === 'awake';
    }, 30_000, 50);
    expect(seen.has('waking')).toBe(true);
    expect(await page.evaluate('window.marker')).toBe(42);
    await page.close();
  }, 90_000);

  it('a browser on the gateway sees the waiting page, then the app; its session keeps the node awake', async () => {
    await requestPower(kube(), 'storagenodet3500', 'sleep', 'manual', 'test', Date.now());
    await waitForState(kube(), 'storagenodet3500', 'asleep');
    // An uptime checker gets a quick 503 and wakes nothing.
    const probe = await fetch(`http://127.0.0.1:${gatewayPort}/`, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; UptimeRobot/2.0)', accept: 'text/html' } });
    expect(probe.status).toBe(503);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await powerOf(kube(), 'storagenodet3500')).state).toBe('asleep');
    expect((await powerOf(kube(), 'storagenodet3500')).request).toBeUndefined();

    const context = await browser.newContext();
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(`http://127.0.0.1:${gatewayPort}/`);
    // Navigation Timing: from sending the request to the last byte of the waiting page.
    const firstByteToPage = Number(await page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0]; return n.responseEnd - n.requestStart; })()"));
    expect(await page.title()).toBe('jellyfin is waking up');
    await expect(page.locator('#stage').textContent()).resolves.toMatch(/Waking|booting|starting/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'waiting-page.png'), fullPage: true });

    await waitForState(kube(), 'storagenodet3500', 'awake');
    // The app starts on its node: a stand-in HTTP server for Jellyfin on the node's address.
    const app = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Jellyfin (stand-in)</title><h1>Jellyfin stand-in</h1>');
    });
    // A stream keeps its connection open; Node's default keep-alive timeout (5 s) would close an
    // idle one and end the session this test holds open.
    app.keepAliveTimeout = 0;
    await new Promise<void>((r) => app.listen(nodePort, HOST, () => r()));
    const appUp = Date.now();
    await page.getByRole('heading', { name: 'Jellyfin stand-in' }).waitFor({ timeout: 20_000 });
    const appToBrowser = Date.now() - appUp;
    await page.screenshot({ path: path.join(ARTIFACTS, 'app-after-wake.png') });
    console.log(`figures: first byte to waiting page ${firstByteToPage.toFixed(1)} ms (navigation timing); app answering to the browser showing it ${appToBrowser} ms; whole wait ${Date.now() - t0} ms`);

    // An open session (a paused stream: a connection open, no byte) keeps the node awake past idleAfter (3s) and sessionIdleAfter (2s).
    await context.close(); // the browser's own keep-alive connections close
    const paused = net.connect(gatewayPort, '127.0.0.1');
    await new Promise((r) => paused.once('connect', r));
    paused.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the session counted', () => ctl.gateway.sessions()['jellyfin']?.open === 1);
    await new Promise((r) => setTimeout(r, 7000));
    expect((await powerOf(kube(), 'storagenodet3500')).state).toBe('awake');
    expect(ctl.logs()).toMatch(/1 open session through jellyfin's gateway, last byte \d+s ago/);
    paused.destroy();
    await waitForState(kube(), 'storagenodet3500', 'asleep', 30_000);
    await new Promise<void>((r) => app.close(() => r()));
  }, 120_000);
});
