// Issue 14's "Done when" demo on the lab: real Debian hosts in systemd-nspawn on 10.78.0.0/24, the
// real suspend path (lab-suspend over SSH takes the container down), a real magic packet boots it
// again, the lab's Kubernetes API stand-in, and Debian's chromium (playwright-core, no browser
// download). A STAND-IN FOR JELLYFIN (test/lab/power/fixtures/jellyfin-standin.py, a python3 HTTP
// server, not the Jellyfin image: the lab runs no kubelet) is installed on storagenodet3500 as an
// enabled systemd unit listening on the NodePort 30896, so it comes up by itself when the host
// boots, as the app's pod would; the host's root is an overlay whose upper layer lives in the lab's
// state folder, so the unit survives a suspend and a wake. The power controller with its wake
// gateway runs in this process (the gateway listens on loopback, outside the cluster), with
// storagenodet3500's idleAfter 5s and jellyfin's sessionIdleAfter 3s:
// 1. the node goes to sleep by itself; 2. a browser opening jellyfin's gateway URL sees the waiting
// page at once; 3. the node wakes (a real boot) and the page turns into the stand-in's page with no
// manual reload; 4. the page's own stream (a paused film: a response that stays open, silent) keeps
// the node awake past idleAfter + sessionIdleAfter; 5. the tab closed, the node sleeps again by
// itself and the host is really down. Screenshots go to test-artifacts/browser/lab-*.png; the
// figures are printed. The lab is left as found: hosts on, the unit removed, annotations cleared.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { control, labFixture, labNode, nodeStatus, ssh, waitForPower, waitForSsh } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../lab/run.js';
import type { Cluster } from '../../../src/config/model.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { eventually } from '../../local/power/loopback-lab.js';
import { kubeFor, powerOf, startTestController, waitForState, type TestController } from '../../local/power/harness.js';
import { freePort } from '../../helpers/net.js';
import { faults, labCluster, labKubeconfig, nodeIndex } from './lab-cluster.js';

const NODE = 'storagenodet3500';
const APP_PORT = 30896; // inside the NodePort range, clear of the lab file's jellyfin (30096)
const IDLE_AFTER = '5s';
const SESSION_IDLE_AFTER = '3s';
const ARTIFACTS = path.resolve('test-artifacts/browser');
const STANDIN_SOURCE = path.join(import.meta.dirname, 'fixtures', 'jellyfin-standin.py');
const STANDIN = { unit: 'vmstation-jellyfin-standin.service', script: '/usr/local/lib/vmstation-lab-demo/jellyfin-standin.py', listening: '/run/vmstation-jellyfin-standin.listening' };

const UNIT = `# VMStation lab demo (test/lab/power/lab-demo-browser.test.ts): a STAND-IN FOR JELLYFIN, not Jellyfin.
[Unit]
Description=Jellyfin stand-in for the VMStation lab demo (NodePort ${APP_PORT})
After=network.target

[Service]
ExecStart=/usr/bin/python3 ${STANDIN.script} ${APP_PORT}
Restart=on-failure
RestartSec=1

[Install]
WantedBy=multi-user.target
`;

/** Runs a command on the node with `input` on its stdin (host-key checking on, the lab's ssh config). */
async function sshWithInput(command: string, input: string): Promise<void> {
  const r = await run('ssh', ['-F', labFixture().sshConfig, NODE, command], { input, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`ssh ${NODE} ${command}: exit ${r.code}: ${r.stderr.trim()}`);
}

async function sshOut(command: string): Promise<string> {
  const r = await ssh(NODE, command);
  if (r.code !== 0) throw new Error(`ssh ${NODE} ${command}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function installStandin(): Promise<void> {
  await sshWithInput(`mkdir -p ${path.posix.dirname(STANDIN.script)} && cat > ${STANDIN.script}`, readFileSync(STANDIN_SOURCE, 'utf8'));
  await sshWithInput(`cat > /etc/systemd/system/${STANDIN.unit}`, UNIT);
  await sshOut(`systemctl daemon-reload && systemctl enable --now ${STANDIN.unit}`);
}

async function removeStandin(): Promise<void> {
  await sshOut(`systemctl disable --now ${STANDIN.unit} 2>/dev/null; rm -f /etc/systemd/system/${STANDIN.unit} ${STANDIN.listening} && rm -rf ${path.posix.dirname(STANDIN.script)} && systemctl daemon-reload`);
}

/** The stand-in's page straight from the node (not through the gateway), or undefined while it does not answer. */
async function standinPage(address: string): Promise<string | undefined> {
  try {
    const r = await fetch(`http://${address}:${APP_PORT}/`, { signal: AbortSignal.timeout(2000) });
    return await r.text();
  } catch {
    return undefined;
  }
}

/** The host on, no fault, no power annotation, uncordoned: the lab as other lab tests expect it. */
async function restoreNode(): Promise<void> {
  await faults(NODE, { clear: true });
  if ((await nodeStatus(NODE)).power !== 'on') {
    await control(`/nodes/${NODE}/power`, { method: 'POST', body: JSON.stringify({ action: 'on' }) }).catch(() => undefined);
    await waitForPower(NODE, 'on', 120_000);
  }
  await waitForSsh(NODE, 120_000);
  const clear = Object.fromEntries(Object.values(POWER_ANNOTATIONS).map((k) => [k, null]));
  await kubeFor(labKubeconfig()).patchNode(NODE, { metadata: { annotations: clear }, spec: { unschedulable: null } });
}

/** Navigation Timing and Paint Timing of the page shown now (see the loopback demo). */
async function pageTimings(page: Page): Promise<[number, number]> {
  // The paint entry is queued after the paint, which a loaded machine may not have done yet when
  // `goto` returns: wait for it (a buffered observer sees it whether it came before or after).
  return (await page.evaluate(
    `new Promise((resolve) => {
      const n = performance.getEntriesByType('navigation')[0];
      const done = (p) => resolve([n.responseEnd - n.requestStart, p ? p.startTime - n.requestStart : NaN]);
      new PerformanceObserver((list) => { const p = list.getEntriesByName('first-contentful-paint')[0]; if (p) done(p); }).observe({ type: 'paint', buffered: true });
      setTimeout(() => done(performance.getEntriesByName('first-contentful-paint')[0]), 10000);
    })`,
  )) as [number, number];
}

describe('issue 14 demo on the lab: waiting page, real wake, a stand-in Jellyfin on the host, a session keeps it awake', () => {
  let cluster: Cluster;
  let ctl: TestController | undefined;
  let browser: Browser | undefined;
  let gatewayPort: number;
  let address: string;
  const kube = () => kubeFor(labKubeconfig());

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    address = labNode(NODE).address;
    await restoreNode();
    await installStandin();
    // The stand-in answers on the node's lab address (straight, not through the gateway).
    expect(await eventually('the stand-in answering on the node', () => standinPage(address), 30_000, 250)).toContain('<h1>Jellyfin stand-in</h1>');
    gatewayPort = await freePort('127.0.0.1');
    cluster = labCluster((doc) => {
      doc.setIn(['spec', 'nodes', nodeIndex(doc, NODE), 'power', 'idleAfter'], IDLE_AFTER);
      doc.setIn(['spec', 'apps'], [{ name: 'jellyfin', node: NODE, nodePort: APP_PORT, gatewayPort, wakeOnRequest: true, waitingPage: true, sessionIdleAfter: SESSION_IDLE_AFTER, ignoreUserAgents: ['UptimeRobot'] }]);
    }).cluster;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  }, 180_000);
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && ctl) console.log(ctl.logs().split('\n').filter((l) => l.includes(NODE) && !l.includes('left alone')).slice(-40).join('\n'));
  });
  afterAll(async () => {
    // Leave the lab as found: the host on without the stand-in, the Node awake and uncordoned.
    await browser?.close();
    await ctl?.close();
    await restoreNode();
    await removeStandin();
  }, 300_000);

  it("issue 14's demo on the nspawn lab: asleep, waiting page through the gateway, a real wake into the stand-in app, a paused stream keeps the node awake, closed it sleeps", async () => {
    ctl = await startTestController({ cluster, kubeconfig: labKubeconfig(), identity: 'lab-demo-test', gateway: { retryMs: 100, connectTimeoutMs: 500 }, tuning: { leaseName: 'lab-demo-test', notReadyTimeoutMs: 120_000 } });
    const boots = (await nodeStatus(NODE)).boots;

    // 1. The node sleeps: by itself, after idleAfter, through its real suspend path.
    const slept = await waitForState(kube(), NODE, 'asleep', 150_000);
    expect(slept.reason).toMatch(new RegExp(`>= idleAfter ${IDLE_AFTER}`));
    expect((await nodeStatus(NODE)).power).toBe('asleep');
    expect(await standinPage(address)).toBeUndefined();
    // An uptime checker gets a quick 503 and wakes nothing.
    const probe = await fetch(`http://127.0.0.1:${gatewayPort}/`, { headers: { 'user-agent': 'Mozilla/5.0 (compatible; UptimeRobot/2.0)', accept: 'text/html' } });
    expect(probe.status).toBe(503);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await powerOf(kube(), NODE)).request).toBeUndefined();
    expect((await nodeStatus(NODE)).power).toBe('asleep');

    const context = await browser!.newContext();
    const page = await context.newPage();
    const t0 = Date.now();
    // 2. A browser opens Jellyfin through the gateway and sees the waiting page.
    await page.goto(`http://127.0.0.1:${gatewayPort}/`);
    expect(await page.title()).toBe('jellyfin is waking up');
    const [firstByteToPage, firstByteToPaint] = await pageTimings(page);
    expect(firstByteToPaint).toBeGreaterThan(0);
    await expect(page.locator('#stage').textContent()).resolves.toMatch(/Waking|booting|starting/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'lab-waiting-page.png'), fullPage: true });

    // 3. The node wakes (a real magic packet, a real boot) and the page turns into the app by
    // itself: the stages the page shows meanwhile are recorded, without reloading it.
    const stages: string[] = [];
    const heading = page.getByRole('heading', { name: 'Jellyfin stand-in' });
    const shown = await eventually('the stand-in app shown in the tab', async () => {
      if (await heading.isVisible()) return Date.now();
      const stage = await page.locator('#stage').textContent({ timeout: 1000 }).catch(() => null);
      if (stage && stages.at(-1) !== stage) {
        stages.push(stage);
        if (stage.includes('booting')) await page.screenshot({ path: path.join(ARTIFACTS, 'lab-waiting-page-booting.png'), fullPage: true });
      }
      return undefined;
    }, 180_000, 100);
    // The gateway forwards to the app once the controller records the node awake and the app
    // listens: whichever came last is when the app answered through the gateway.
    const awake = await powerOf(kube(), NODE);
    expect(awake.state).toBe('awake');
    // The gateway asked for this wake (a retried attempt would be dispatched again, as `schedule`).
    expect(ctl.controller.dispatched.find((d) => d.action === 'wake' && d.node === NODE)?.source).toBe('gateway');
    const listening = Number((await sshOut(`cat ${STANDIN.listening}`)).trim());
    expect(listening).toBeGreaterThan(t0); // started by itself on this boot
    expect((await nodeStatus(NODE)).boots).toBe(boots + 1);
    const appAnswering = Math.max(listening, awake.since);
    const appToBrowser = shown - appAnswering;
    expect(stages.some((s) => s.includes('booting'))).toBe(true); // a real boot: the page said so while it lasted
    await eventually('the film playing, then paused', async () => (await page.locator('#film').textContent()) === 'paused', 20_000);
    await page.screenshot({ path: path.join(ARTIFACTS, 'lab-app-after-wake.png') });

    // 4. The open session (the paused film's connection, silent) keeps the node awake past
    // idleAfter (5 s) plus sessionIdleAfter (3 s), with a reason that names it.
    await eventually('the session counted', () => (ctl!.gateway.sessions()['jellyfin']?.open ?? 0) >= 1);
    await new Promise((r) => setTimeout(r, 12_000));
    expect((await powerOf(kube(), NODE)).state).toBe('awake');
    expect((await nodeStatus(NODE)).power).toBe('on');
    expect(ctl.gateway.sessions()['jellyfin']?.open).toBeGreaterThanOrEqual(1);
    expect(await page.locator('#film').textContent()).toBe('paused');
    expect(ctl.logs()).toMatch(/\d+ open sessions? through jellyfin's gateway, last byte [1-9]\d*s ago/);

    // 5. The browser closes the tab: the session ends, and the node sleeps again by itself.
    // sessionIdleAfter and idleAfter both count from the last byte (the film's first frames, long
    // before the close here), so what remains after the close is the next round, the drain and the suspend.
    const lastByteAt = ctl.gateway.sessions()['jellyfin']?.lastByteAt;
    await context.close();
    const closed = Date.now();
    await eventually('no session open', () => ctl!.gateway.sessions()['jellyfin']?.open === 0);
    const again = await waitForState(kube(), NODE, 'asleep', 120_000);
    const closedToAsleep = Date.now() - closed;
    expect(again.reason).toMatch(new RegExp(`>= idleAfter ${IDLE_AFTER}`));
    expect((await nodeStatus(NODE)).power).toBe('asleep');
    console.log(
      `lab figures: first byte to waiting page ${firstByteToPage.toFixed(1)} ms (last byte, navigation timing), ${firstByteToPaint.toFixed(1)} ms (first contentful paint); ` +
        `app answering to the browser showing it ${appToBrowser} ms (stand-in listening ${listening - t0} ms, node recorded awake ${awake.since - t0} ms after the request; last wake latency ${awake.lastWakeLatencySeconds ?? '?'} s); ` +
        `whole wait ${shown - t0} ms; stages shown: ${stages.join(' | ')}; session closed to node asleep ${closedToAsleep} ms (last byte ${lastByteAt === undefined ? '?' : closed - lastByteAt} ms before the close; sessionIdleAfter ${SESSION_IDLE_AFTER} and idleAfter ${IDLE_AFTER} count from it)`,
    );
  }, 420_000);
});
