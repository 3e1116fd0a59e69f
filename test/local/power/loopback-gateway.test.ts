// The wake gateway end to end on the loopback lab: jellyfin (wakeOnRequest) lives on
// storagenodet3500; the node sleeps; jellyfin's pending pod alone does not wake it; a user's TCP
// connection to the gateway does (real magic packet, SSH, Ready, uncordon, pod bound), a port scan
// does not, and the bytes the user sent while waiting reach the app once it listens.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestPower } from '../../../src/power/api/requests.js';
import { kubeFor, nodeEvents, powerOf, startTestController, testPod, waitForState, type TestController } from './harness.js';
import { eventually, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';
import { freePort } from '../../helpers/net.js';

const HOST = '127.0.0.61'; // storagenodet3500 in the loopback lab

describe('wake gateway on the loopback lab', () => {
  let lab: LoopbackLab;
  let ctl: TestController | undefined;
  let nodePort: number;
  let gatewayPort: number;
  const closers: Array<() => void> = [];
  beforeAll(async () => {
    nodePort = await freePort(HOST, [30000, 32767]);
    gatewayPort = await freePort('127.0.0.1');
    lab = await startLoopbackLab({ apps: [{ name: 'jellyfin', node: 'storagenodet3500', nodePort, gatewayPort, wakeOnRequest: true }] });
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && ctl) console.log(ctl.logs().split('\n').slice(-60).join('\n'));
    for (const c of closers.splice(0)) c();
    await ctl?.close();
    ctl = undefined;
  });
  afterAll(async () => lab?.stop());

  it("holds a user's connection while the node sleeps, wakes it, and delivers the request to the app", async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath, gateway: { retryMs: 100, connectTimeoutMs: 500 } });
    expect(ctl.gateway.port('jellyfin')).toBe(gatewayPort);
    await eventually('storagenodet3500 Ready', async () => (await powerOf(kube, 'storagenodet3500')).ready);

    await requestPower(kube, 'storagenodet3500', 'sleep', 'manual', 'test', Date.now());
    await waitForState(kube, 'storagenodet3500', 'asleep');
    await eventually('node NotReady', async () => !(await powerOf(kube, 'storagenodet3500')).ready);

    // jellyfin's pod waits for its node; being an app that wakes on request, it does not wake it.
    lab.standin.create(testPod('jellyfin-0', { nodeSelector: { 'vmstation.io/storage': 'true' }, labels: { 'app.kubernetes.io/name': 'jellyfin' } }));
    // Nor does a port scan of the gateway: connections closed without a byte (issue #17).
    for (let i = 0; i < 20; i++) {
      const scan = net.connect(gatewayPort, '127.0.0.1');
      scan.on('error', () => undefined);
      await new Promise((r) => scan.once('connect', r));
      scan.destroy();
    }
    await new Promise((r) => setTimeout(r, 2500)); // past WAKE_AFTER_SILENT_MS
    expect((await powerOf(kube, 'storagenodet3500')).state).toBe('asleep');
    expect(lab.host('storagenodet3500').packets).toHaveLength(0);

    // A user opens jellyfin through the gateway and sends a request at once.
    const connected = Date.now();
    const user = net.connect(gatewayPort, '127.0.0.1');
    closers.push(() => user.destroy());
    let reply = '';
    user.on('data', (d) => (reply += d.toString()));
    user.write('GET /web/index.html\n');

    const awake = await waitForState(kube, 'storagenodet3500', 'awake');
    expect(awake.unschedulable).toBe(false);
    const packets = lab.host('storagenodet3500').packets;
    expect(packets.length).toBeGreaterThan(0);
    expect(packets[0]!.at - connected).toBeLessThan(3000);
    const pod = await eventually('jellyfin-0 bound', async () => {
      const p = await kube.core.readNamespacedPod({ name: 'jellyfin-0', namespace: 'default' });
      return p.spec?.nodeName ? p : undefined;
    });
    expect(pod.spec?.nodeName).toBe('storagenodet3500');
    expect(reply).toBe(''); // nothing answers yet: the app has not started

    // The app starts on its node and answers what the user sent while waiting.
    const app = net.createServer((s) => s.on('data', (d) => s.write(`jellyfin got: ${d.toString()}`)));
    await new Promise<void>((r) => app.listen(nodePort, HOST, () => r()));
    closers.push(() => app.close());
    await eventually('the reply through the gateway', () => reply === 'jellyfin got: GET /web/index.html\n', 10_000);

    const waking = (await nodeEvents(kube, 'storagenodet3500')).find((e) => e.reason === 'PowerWaking');
    expect(waking?.message).toContain('gateway');
    const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
    expect(metrics).toContain('vmstation_gateway_connections_total{app="jellyfin",outcome="woken"} 1');
    expect(metrics).toContain('vmstation_gateway_connections_total{app="jellyfin",outcome="client-gone"} 20');
    expect(metrics).toMatch(/vmstation_gateway_wait_seconds_count\{app="jellyfin"\} 1/);
  });
});
