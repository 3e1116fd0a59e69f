// The status page and the gateway's waiting page in a real browser (Debian's chromium driven by
// playwright-core, no browser download) against the loopback power lab: log in, see the nodes'
// states, sleep only after confirming, wake a sleeping node and watch its card go waking -> awake
// without a reload; a wrong token and a POST without the CSRF token are refused; a maintenance hold
// taken on the page (confirmed first) wakes the sleeping node and keeps it awake past idleAfter, and
// once released on the page (confirmed too) the node sleeps again by itself. Then issue 14's
// "Done when" demo in one test: the node has gone to sleep by itself (idle), a browser opening
// jellyfin's gateway URL sees the waiting page at once, the node wakes and the page turns into the
// app's own page (a stand-in HTTP server on the node's loopback address, named as one) with no
// manual reload; the app page's own stream (a paused film: a response that stays open, silent)
// keeps the node awake past idleAfter and sessionIdleAfter, and once the browser closes it the node
// sleeps again by itself. Screenshots go to test-artifacts/browser/; the figures are printed.
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestPower } from '../../../src/power/api/requests.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { kubeFor, powerOf, startTestController, TEST_TOKEN, testPod, waitForState, type TestController } from './harness.js';
import { DEFAULT_HOSTS, eventually, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';
import { freePort } from '../../helpers/net.js';

const HOST = '127.0.0.61'; // storagenodet3500 in the loopback lab
const ARTIFACTS = path.resolve('test-artifacts/browser');

/** The card's state as the page shows it. */
const cardState = (page: Page, node: string) => page.locator(`section[data-node="${node}"] [data-testid="state"]`).textContent();

async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.fill('#token', TEST_TOKEN);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
  await page.waitForSelector('section[data-node="storagenodet3500"]');
}

/** The stand-in for Jellyfin (named as one): its page plays a "film", a response that stays open and silent after its first bytes. */
function standinApp(): http.Server {
  const app = http.createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
      res.write('first frames'); // then paused: nothing more, the connection stays open
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>Jellyfin (stand-in)</title><h1>Jellyfin stand-in</h1><p id="film">loading</p>
<script>fetch('/stream').then(function(r){return r.body.getReader().read();}).then(function(){document.getElementById('film').textContent='paused';});</script>`);
  });
  // The film's connection stays open however long it is paused (Node's default keep-alive timeout,
  // 5 s, would close the page's idle connection, not the stream's; 0 keeps both as a browser left them).
  app.keepAliveTimeout = 0;
  return app;
}

describe('status page and waiting page in chromium (loopback lab)', () => {
  let lab: LoopbackLab;
  let ctl: TestController;
  let browser: Browser;
  let nodePort: number;
  let gatewayPort: number;
  const kube = () => kubeFor(lab.kubeconfigPath);
  /** Waits for storagenodet3500 to be awake; on a timeout, says where it stands and what the controller last logged about it. */
  const awake = async () => {
    try {
      return await waitForState(kube(), 'storagenodet3500', 'awake', 45_000);
    } catch (err) {
      const lines = ctl.logs().split('\n').filter((l) => l.includes('storagenodet3500')).slice(-12);
      throw new Error(`${String(err)}; record ${JSON.stringify(await powerOf(kube(), 'storagenodet3500'))}; host up ${lab.host('storagenodet3500').isUp()}, packets ${JSON.stringify(lab.host('storagenodet3500').packets.slice(-4))}; last log lines:\n${lines.join('\n')}`);
    }
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    nodePort = await freePort(HOST, [30000, 32767]);
    gatewayPort = await freePort('127.0.0.1');
    lab = await startLoopbackLab({
      // A 4 s boot (a real one takes ~45 s): the page, polling every 2 s, then always shows `waking`.
      hosts: DEFAULT_HOSTS.map((h) => (h.name === 'storagenodet3500' ? { ...h, bootDelayMs: 4000 } : h)),
      nodePower: { storagenodet3500: { idleAfter: '3s' } },
      // One wake attempt waits 15 s for Ready: on the shared 2-core machine (load about 15) the 4 s
      // boot reached Ready 8-11 s after the trigger, past the lab's default 5 s (a second attempt in
      // two runs; in a third the demo's wake did not finish within 30 s).
      power: { wakeTimeout: '15s' },
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
    await logIn(page, ctl.url);
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

  it('takes a maintenance hold on the page after confirmation: the node wakes and stays up; released, it sleeps again', async () => {
    await requestPower(kube(), 'storagenodet3500', 'sleep', 'manual', 'test', Date.now());
    await waitForState(kube(), 'storagenodet3500', 'asleep');
    const holdsOn = async (node: string) => (await kube().getNode(node))?.metadata?.annotations?.[POWER_ANNOTATIONS.holds];
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await logIn(page, ctl.url);
    await expect(page.locator('#holds').textContent()).resolves.toBe('No hold: idle nodes may sleep.');
    await page.selectOption('#hold-for', '2h');
    await page.fill('#hold-reason', 'disk swap');
    await page.getByRole('button', { name: 'Hold…' }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Confirm the maintenance hold' });
    await expect(dialog.textContent()).resolves.toMatch(/^Hold every node awake for 2 hours \(disk swap\)\? Sleeping nodes wake/);
    await page.waitForTimeout(500);
    expect(await holdsOn('storagenodet3500')).toBeUndefined(); // nothing taken before confirming
    await expect(page.evaluate('document.activeElement.textContent')).resolves.toBe('Hold now');
    await page.keyboard.press('Enter');
    const taken = Date.now();

    // The hold is on every managed node, shown on the page, and wakes the sleeping one.
    const held = JSON.parse((await eventually('the hold on the Node', () => holdsOn('storagenodet3500'))) as string) as Array<{ id: string; reason: string; until: string }>;
    expect(held).toEqual([{ id: 'manual', reason: 'disk swap (from the status page, 127.0.0.1)', until: expect.any(String) }]);
    expect(Math.abs(Date.parse(held[0]!.until) - (taken + 2 * 3600_000))).toBeLessThan(10_000);
    expect(await holdsOn('homelab')).toBe(await holdsOn('storagenodet3500'));
    await eventually('the hold listed on the page', async () => (await page.locator('#holds li[data-hold="manual"] span').textContent())?.startsWith('disk swap (from the status page, 127.0.0.1), until '));
    // The hold is what woke it, on the first attempt or a retried one (a retry keeps its source).
    expect((await awake()).reason).toMatch(/^woken \(maintenance\): /);
    expect(ctl.logs()).toMatch(/maintenance hold \(disk swap \(from the status page, 127\.0\.0\.1\)\) until \d{4}-/);
    await eventually('awake and held on the card', async () => (await cardState(page, 'storagenodet3500')) === 'awake' && (await page.locator('section[data-node="storagenodet3500"] dd', { hasText: 'disk swap' }).count()) === 1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page-hold.png'), fullPage: true });
    // Past idleAfter (3 s) with no pod and no session: the hold keeps it up.
    await new Promise((r) => setTimeout(r, 5000));
    expect((await powerOf(kube(), 'storagenodet3500')).state).toBe('awake');

    // Release asks first, and Cancel keeps the hold.
    await page.locator('#holds li[data-hold="manual"]').getByRole('button', { name: 'Release…' }).click();
    const confirmRelease = page.getByRole('alertdialog', { name: 'Confirm release of the hold manual' });
    await expect(confirmRelease.textContent()).resolves.toMatch(/^Release the hold "manual"\? Idle nodes may sleep again\./);
    await confirmRelease.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForTimeout(500);
    expect(await holdsOn('storagenodet3500')).toBeDefined();
    await page.locator('#holds li[data-hold="manual"]').getByRole('button', { name: 'Release…' }).click();
    await eventually('the release confirmation focused', async () => (await page.evaluate('document.activeElement && document.activeElement.textContent')) === 'Release now');
    await page.keyboard.press('Enter');
    await eventually('the hold gone from the Nodes', async () => (await holdsOn('storagenodet3500')) === undefined && (await holdsOn('homelab')) === undefined);
    await eventually('no hold on the page', async () => (await page.locator('#holds').textContent()) === 'No hold: idle nodes may sleep.');
    // Nothing keeps it up any more: it sleeps by itself after idleAfter.
    const asleep = await waitForState(kube(), 'storagenodet3500', 'asleep');
    expect(asleep.reason).toMatch(/>= idleAfter 3s/);
    await page.close();
  }, 90_000);

  it("issue 14's demo: asleep, waiting page through the gateway, the app, a paused stream keeps the node awake, closed it sleeps", async () => {
    // 1. The node sleeps: by itself, after idleAfter (the previous test left it awake with nothing running).
    const slept = await waitForState(kube(), 'storagenodet3500', 'asleep');
    expect(slept.reason).toMatch(/>= idleAfter 3s/);
    expect(lab.host('storagenodet3500').isUp()).toBe(false);
    // An uptime checker gets a quick 503 and wakes nothing.
    const probe = await fetch(`http://127.0.0.1:${gatewayPort}/`, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; UptimeRobot/2.0)', accept: 'text/html' } });
    expect(probe.status).toBe(503);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await powerOf(kube(), 'storagenodet3500')).state).toBe('asleep');
    expect((await powerOf(kube(), 'storagenodet3500')).request).toBeUndefined();

    const context = await browser.newContext();
    const page = await context.newPage();
    const t0 = Date.now();
    // 2. A browser opens Jellyfin through the gateway and sees the waiting page.
    await page.goto(`http://127.0.0.1:${gatewayPort}/`);
    expect(await page.title()).toBe('jellyfin is waking up');
    // Navigation Timing and Paint Timing: from sending the request to the last byte of the waiting
    // page, and to its first paint (the person sees it).
    // The paint entry is queued after the paint, which a loaded machine may not have done yet when
    // `goto` returns: wait for it (a buffered observer sees it whether it came before or after).
    const [firstByteToPage, firstByteToPaint] = (await page.evaluate(
      `new Promise((resolve) => {
        const n = performance.getEntriesByType('navigation')[0];
        const done = (p) => resolve([n.responseEnd - n.requestStart, p ? p.startTime - n.requestStart : NaN]);
        new PerformanceObserver((list) => { const p = list.getEntriesByName('first-contentful-paint')[0]; if (p) done(p); }).observe({ type: 'paint', buffered: true });
        setTimeout(() => done(performance.getEntriesByName('first-contentful-paint')[0]), 10000);
      })`,
    )) as [number, number];
    expect(firstByteToPaint).toBeGreaterThan(0);
    await expect(page.locator('#stage').textContent()).resolves.toMatch(/Waking|booting|starting/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'waiting-page.png'), fullPage: true });

    // 3. The node wakes and the page turns into the app: the stand-in starts on the node's address
    // once the node is up (as the app's pod would), and the page reloads by itself.
    await awake();
    const app = standinApp();
    await new Promise<void>((r) => app.listen(nodePort, HOST, () => r()));
    const appUp = Date.now();
    await page.getByRole('heading', { name: 'Jellyfin stand-in' }).waitFor({ timeout: 20_000 });
    const appToBrowser = Date.now() - appUp;
    await eventually('the film playing, then paused', async () => (await page.locator('#film').textContent()) === 'paused');
    await page.screenshot({ path: path.join(ARTIFACTS, 'app-after-wake.png') });

    // 4. The open session (the paused film's connection, silent) keeps the node awake past
    // idleAfter (3 s) plus sessionIdleAfter (2 s), with a reason that names it.
    await eventually('the session counted', () => (ctl.gateway.sessions()['jellyfin']?.open ?? 0) >= 1);
    await new Promise((r) => setTimeout(r, 8000));
    expect((await powerOf(kube(), 'storagenodet3500')).state).toBe('awake');
    expect(ctl.gateway.sessions()['jellyfin']?.open).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#film').textContent()).toBe('paused');
    expect(ctl.logs()).toMatch(/\d+ open sessions? through jellyfin's gateway, last byte [1-9]\d*s ago/);

    // 5. The browser closes the tab: the session ends, and the node sleeps again by itself.
    await context.close();
    const closed = Date.now();
    await eventually('no session open', () => ctl.gateway.sessions()['jellyfin']?.open === 0);
    const again = await waitForState(kube(), 'storagenodet3500', 'asleep', 30_000);
    const closedToAsleep = Date.now() - closed;
    expect(again.reason).toMatch(/>= idleAfter 3s/);
    await new Promise<void>((r) => app.close(() => r()));
    console.log(
      `figures: first byte to waiting page ${firstByteToPage.toFixed(1)} ms (last byte, navigation timing), ${firstByteToPaint.toFixed(1)} ms (first contentful paint); ` +
        `app answering to the browser showing it ${appToBrowser} ms; whole wait ${appUp - t0 + appToBrowser} ms; session closed to node asleep ${closedToAsleep} ms (sessionIdleAfter 2s + idleAfter 3s + the sleep)`,
    );
  }, 120_000);
});
