// The controller with its real drivers (real sshd, real UDP magic packets, TCP probes) against
// the Kubernetes API stand-in and the loopback power lab.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { eventually, resetLab, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';
import { kubeFor, nodeEvents, powerOf, startTestController, TEST_TOKEN, testPod, waitForState, type TestController } from './harness.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { ensureAwake } from '../../../src/power/controller/ensure-awake.js';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'cli-entry.ts'), ...args], { timeout: 60_000 });
import { requestPower } from '../../../src/power/api/requests.js';

describe('power controller on the loopback lab', () => {
  let lab: LoopbackLab;
  let ctl: TestController | undefined;
  beforeAll(async () => {
    lab = await startLoopbackLab({ nodePower: { homelab: { idleAfter: '3s' } } });
  });
  beforeEach(async () => resetLab(lab));
  afterAll(async () => lab?.stop());
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && ctl) console.log(ctl.logs().split('\n').slice(-60).join('\n'));
    await ctl?.close();
    ctl = undefined;
  });

  it('sleeps a node over SSH on request, then a pending pod for it wakes it by magic packet: SSH, Ready, uncordon, pod bound', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath });
    await eventually('masternode and workers Ready', async () => (await powerOf(kube, 'storagenodet3500')).ready && (await powerOf(kube, 'homelab')).ready);
    lab.standin.create(testPod('web-1', { node: 'storagenodet3500' }));

    await requestPower(kube, 'storagenodet3500', 'sleep', 'manual', 'test', Date.now());
    const asleep = await waitForState(kube, 'storagenodet3500', 'asleep');
    expect(asleep.unschedulable).toBe(true);
    expect(asleep.cordonedByPowerManager).toBe(true);
    expect(lab.host('storagenodet3500').suspends).toBe(1);
    expect(lab.host('storagenodet3500').isUp()).toBe(false);
    // The pod went through the Eviction API.
    expect(lab.standin.requests().some((r) => r.method === 'POST' && r.path.includes('/pods/web-1/eviction'))).toBe(true);
    await eventually('node NotReady', async () => !(await powerOf(kube, 'storagenodet3500')).ready);

    const created = Date.now();
    lab.standin.create(testPod('media-1', { nodeSelector: { 'vmstation.io/storage': 'true' } }));
    const awake = await waitForState(kube, 'storagenodet3500', 'awake');
    expect(awake.unschedulable).toBe(false);
    expect(awake.cordonedByPowerManager).toBe(false);
    expect(awake.lastWakeLatencySeconds).toBeGreaterThan(0);
    const packets = lab.host('storagenodet3500').packets;
    expect(packets.length).toBeGreaterThanOrEqual(3);
    expect(packets[0]!.at - created).toBeLessThan(3000);
    const pod = await eventually('media-1 bound', async () => {
      const p = await kube.core.readNamespacedPod({ name: 'media-1', namespace: 'default' });
      return p.spec?.nodeName ? p : undefined;
    });
    expect(pod.spec?.nodeName).toBe('storagenodet3500');

    const reasons = (await nodeEvents(kube, 'storagenodet3500')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['PowerDraining', 'PowerSuspending', 'PowerAsleep', 'PowerWaking', 'PowerAwake']));
    const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
    expect(metrics).toContain('vmstation_power_transitions_total{node="storagenodet3500",from="asleep",to="waking"} 1');
    expect(metrics).toContain('vmstation_node_power_state{node="storagenodet3500",state="awake"} 1');
    expect(metrics).toMatch(/vmstation_wake_latency_seconds_count\{node="storagenodet3500"\} 1/);
    expect(metrics).toMatch(/vmstation_energy_saved_kwh_total\{node="storagenodet3500"\} [0-9.e-]+/);
  });

  it('puts an idle node to sleep on its own, never earlier than idleAfter under its own observation (stale timestamps ignored)', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    // A record from long ago, as the original's stale "last activity" file: it must not count.
    await kube.patchNode('homelab', { metadata: { annotations: { [POWER_ANNOTATIONS.state]: 'awake', [POWER_ANNOTATIONS.since]: '2020-01-01T00:00:00.000Z', [POWER_ANNOTATIONS.reason]: 'old' } } });
    const started = Date.now();
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath });
    const asleep = await waitForState(kube, 'homelab', 'asleep');
    const sleepAt = ctl.controller.dispatched.find((d) => d.action === 'sleep' && d.node === 'homelab')?.at ?? 0;
    expect(sleepAt - started).toBeGreaterThanOrEqual(3000);
    expect(asleep.reason).toMatch(/idle .* >= idleAfter 3s/);
    // storagenodet3500 has idleAfter 1h: still awake.
    expect((await powerOf(kube, 'storagenodet3500')).state).toBe('awake');
    // ensureAwake (preflight/deploy) wakes it again through the controller.
    const results = await ensureAwake(lab.cluster, ['homelab', 'storagenodet3500'], { kube, timeoutMs: 30_000, pollMs: 100 });
    expect(results).toEqual([
      { node: 'homelab', ok: true, state: 'awake', woken: true, message: 'woken: awake and Ready' },
      { node: 'storagenodet3500', ok: true, state: 'awake', woken: false, message: 'awake and Ready' },
    ]);
  });

  it('CLI: power sleep/wake --wait/status through the kubeconfig and through the HTTP API', async () => {
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath });
    const tokenFile = path.join(lab.dir, 'cli-token');
    writeFileSync(tokenFile, TEST_TOKEN, { mode: 0o600 });
    const viaKube = ['-f', lab.clusterPath, '--kubeconfig', lab.kubeconfigPath];
    const viaApi = ['-f', lab.clusterPath, '--url', ctl.url, '--token-file', tokenFile];
    await expect(cli(['power', 'sleep', 'storagenodet3500', ...viaKube])).rejects.toMatchObject({ stderr: expect.stringContaining('--yes') });
    await cli(['power', 'sleep', 'storagenodet3500', '--yes', ...viaApi]);
    const kube = kubeFor(lab.kubeconfigPath);
    await waitForState(kube, 'storagenodet3500', 'asleep');
    const status = JSON.parse((await cli(['power', 'status', '--output', 'json', ...viaKube])).stdout) as { nodes: Array<{ node: string; state: string; cordoned: boolean }> };
    expect(status.nodes.map((n) => n.node)).toEqual(['homelab', 'masternode', 'storagenodet3500']);
    expect(status.nodes.find((n) => n.node === 'storagenodet3500')).toMatchObject({ state: 'asleep', cordoned: true });
    const wake = await cli(['power', 'wake', 'storagenodet3500', '--wait', '--timeout', '60', ...viaKube]);
    expect(wake.stdout).toMatch(/storagenodet3500 is awake \(\d+\.\d s\)/);
    const table = (await cli(['power', 'status', ...viaApi])).stdout;
    expect(table.split('\n')[0]).toMatch(/^NODE\s+STATE\s+SINCE\s+LAST-WAKE\s+KWH-SAVED\s+REASON$/);
    expect(table).toMatch(/storagenodet3500\s+awake\s+\S+\s+\d+\.\ds\s+0\.\d{3}\s+woken \(manual\)/);
    const wrongToken = path.join(lab.dir, 'wrong-token');
    writeFileSync(wrongToken, 'not-the-token-0123456789abcdef\n', { mode: 0o600 });
    await expect(cli(['power', 'status', '-f', lab.clusterPath, '--url', ctl.url, '--token-file', wrongToken])).rejects.toMatchObject({ stderr: expect.stringContaining('refused the token') });
  });

  it('a wake request for a node switched off by hand (recorded awake, not Ready) wakes it', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath });
    const host = lab.host('storagenodet3500');
    host.asleep = true; // powered off outside the power manager; a magic packet boots it
    await host.down();
    await eventually('NotReady', async () => !(await powerOf(kube, 'storagenodet3500')).ready);
    expect((await powerOf(kube, 'storagenodet3500')).state).toBe('awake');
    await requestPower(kube, 'storagenodet3500', 'wake', 'manual', 'test', Date.now());
    await eventually('booted by a magic packet', () => host.boots > 0 && host.isUp());
    const awake = await eventually('awake and Ready', async () => {
      const p = await powerOf(kube, 'storagenodet3500');
      return p.state === 'awake' && p.ready && p.reason.includes('woken') ? p : undefined;
    });
    expect(awake.request).toBeUndefined();
    expect(ctl.controller.dispatched.some((d) => d.action === 'wake' && d.source === 'manual')).toBe(true);
  });
});
