// Predictive wake in the controller (issue 15 §4), on an injected clock: eight simulated days
// driven in seconds against the Kubernetes API stand-in (whose object timestamps and kubelet
// emulator run on the same manual clock), with drivers that switch a host "up" and "down" (the
// kubelet emulator's probe reads that switch; no real hosts here, see the loopback lab for those).
// A pod pinned to w1 arrives at 19:00 every day and runs 20 minutes. The first controller learns,
// its profile lands in the ConfigMap; it stops, a second controller (another identity) reads the
// ConfigMap and, from the first day it runs, wakes w1 ahead: w1 is awake and Ready when the pod
// arrives, and the reason cites the evidence. A corrupt ConfigMap is ignored with a warning and
// rewritten.
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { validateText } from '../../../src/config/validate.js';
import { kubeClient } from '../../../src/power/api/client.js';
import { PROFILE_CONFIGMAP, PROFILE_FORMAT, parseProfile } from '../../../src/power/core/profile-codec.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { DEFAULT_TUNING, PowerController } from '../../../src/power/controller/controller.js';
import { DemandLearner } from '../../../src/power/controller/demand-learner.js';
import { PowerMetrics } from '../../../src/power/controller/metrics.js';
import { policyFromCluster } from '../../../src/power/core/policy.js';
import { jsonLogger, silentLogger } from '../../../src/power/controller/log.js';
import type { ControllerStatus } from '../../../src/power/controller/status.js';
import { createPowerApi } from '../../../src/power/api/server.js';
import { runCli } from '../../helpers/cli.js';
import type { PowerDrivers } from '../../../src/power/drivers/index.js';
import { testKube, type TestKube } from '../../helpers/kube-test-client.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const MIN = 60_000;
const DAY = 86_400_000;
const MONDAY = Date.parse('2026-03-02T00:00:00Z');
const NS = 'vmstation-system';

const CLUSTER = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: predict-weeks }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: masternode, address: 127.0.0.63, os: debian-12, roles: [control-plane] }
    - name: w1
      address: 127.0.0.94
      mac: "02:00:7f:00:00:94"
      os: debian-12
      roles: [worker]
      power: { autoSleep: true, bootSeconds: 60, watts: { awake: 100, asleep: 5 } }
  power: { idleAfter: 30m, minAwake: 15m, wakeTimeout: 10m, predict: { threshold: 0.6, unusedAfter: 30m } }
`;

describe('predictive wake in the controller over simulated days', () => {
  let standin: Standin;
  let kube: TestKube;
  const clock = new ManualClock(MONDAY);
  /** Hosts that answer (the kubelet emulator's probe and the drivers read it). */
  const up = new Set<string>(['127.0.0.94']);
  const drivers: PowerDrivers = {
    wakeOnLan: async () => void up.add('127.0.0.94'),
    ipmiPowerOn: async () => undefined,
    reachable: async () => up.has('127.0.0.94'),
    sshCheck: async () => {
      if (!up.has('127.0.0.94')) throw new Error('unreachable');
    },
    suspend: async () => void up.delete('127.0.0.94'),
  };
  const cluster = validateText({ file: 'predict-weeks.yaml', text: CLUSTER }).cluster!;
  let logs = '';

  beforeAll(async () => {
    standin = await startStandin({
      nodes: [{ name: 'masternode', probe: false }, { name: 'w1', address: '127.0.0.94', sshPort: 22, roles: ['worker'] }],
      kubelet: { probeIntervalMs: 5, notReadyGraceMs: 30_000, probe: async (address) => up.has(address), clock: () => clock.now() },
      clock: () => new Date(clock.now()),
    });
    const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'vmstation-predict-weeks-')), 'kubeconfig');
    writeFileSync(kubeconfig, standin.kubeconfig());
    kube = testKube(kubeconfig);
    standin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });
  afterAll(async () => standin?.stop());

  const running = new Set<PowerController>();
  afterEach(async () => {
    for (const c of running) await c.close();
    running.clear();
  });

  function controller(identity: string): PowerController {
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => (logs += d.toString()));
    const ctl = new PowerController({
      cluster,
      kube,
      drivers,
      clock,
      log: jsonLogger(stream, { level: 'info', now: () => clock.now() }),
      identity,
      namespace: NS,
      tuning: { ...DEFAULT_TUNING, tickMs: MIN, leaseRenewMs: MIN, leaseDurationSeconds: 3600, routineDelayMs: 1000, profileSaveMs: 30 * MIN },
    });
    running.add(ctl);
    return ctl;
  }

  /**
   * Moves the manual clock to `until`, letting real I/O (the stand-in, its kubelet emulator's
   * probes) run between steps: 10 s steps while w1 is in a transition (the executors wait on the
   * kubelet), 30 s around the evening demand, 15 min otherwise.
   */
  async function runUntil(ctl: PowerController, until: number): Promise<void> {
    while (clock.now() < until) {
      const minute = (((clock.now() % DAY) + DAY) % DAY) / MIN;
      const w1 = ctl.status().nodes.find((n) => n.node === 'w1');
      const moving = w1?.inFlight !== undefined || (w1 !== undefined && !['awake', 'asleep'].includes(w1.state));
      const busy = minute >= 18 * 60 + 20 && minute < 20 * 60 + 30;
      // To the next multiple of the step, so reconciles fall on whole minutes again after a transition.
      const step = moving ? 5_000 : busy ? 30_000 : 15 * MIN;
      await clock.advance(Math.min((Math.floor(clock.now() / step) + 1) * step, until) - clock.now());
      await new Promise((r) => setTimeout(r, moving ? 15 : busy ? 8 : 3));
    }
  }

  /** `vmstation power status` (table, then --output json) against the real HTTP API serving `ctl`'s status. */
  async function statusCli(ctl: PowerController): Promise<{ table: string; json: ControllerStatus }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-predict-cli-'));
    const token = 'predict-weeks-token-0123456789';
    writeFileSync(path.join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'vmstation.yaml'), CLUSTER);
    const server = createPowerApi({ token, status: () => ctl.status(), nodes: () => ['masternode', 'w1'], request: async () => undefined, hold: async () => undefined, release: async () => undefined, metrics: async () => '', healthy: () => true, log: silentLogger });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const args = ['power', 'status', '-f', path.join(dir, 'vmstation.yaml'), '--url', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, '--token-file', path.join(dir, 'token')];
      const table = await runCli(args);
      const json = await runCli([...args, '--output', 'json']);
      expect([table.code, table.stderr, json.code]).toEqual([0, '', 0]);
      return { table: table.stdout, json: JSON.parse(json.stdout) as ControllerStatus };
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  const state = async () => (await kube.getNode('w1'))?.metadata?.annotations?.[POWER_ANNOTATIONS.state];
  const ready = async () => (await kube.getNode('w1'))?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

  /** Day `d`'s job: a pod pinned to w1 at 19:00 for 20 minutes. What was w1 when it arrived, and which wake got it there. */
  async function eveningJob(ctl: PowerController, d: number): Promise<{ awakeOnArrival: boolean; wakes: string[] }> {
    const day = MONDAY + d * DAY;
    await runUntil(ctl, day + 19 * 60 * MIN);
    const awakeOnArrival = (await state()) === 'awake' && (await ready());
    const name = `job-${d}`;
    standin.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: `uid-${name}`, controller: true }] },
      spec: { nodeSelector: { 'kubernetes.io/hostname': 'w1' }, containers: [{ name: 'c', image: 'x' }] },
    });
    await runUntil(ctl, day + (19 * 60 + 20) * MIN);
    const pod = await kube.core.readNamespacedPod({ name, namespace: 'default' });
    expect(pod.spec?.nodeName, `day ${d}: the pod ran on w1`).toBe('w1');
    await kube.core.deleteNamespacedPod({ name, namespace: 'default', gracePeriodSeconds: 0 });
    const wakes = ctl.dispatched.filter((x) => x.action === 'wake' && x.node === 'w1' && x.at >= day && x.at < day + DAY).map((x) => x.source ?? '');
    return { awakeOnArrival, wakes };
  }

  it('learns from pods, persists the profile, restarts, reloads it and wakes w1 ahead with the evidence', async () => {
    const first = controller('first');
    await first.start();
    const days: Array<{ awakeOnArrival: boolean; wakes: string[] }> = [];
    for (let d = 0; d <= 2; d++) days.push(await eveningJob(first, d));
    // Days 0 and 1: nothing learned yet, the pending pod wakes w1 and waits a boot.
    expect(days[0]).toEqual({ awakeOnArrival: false, wakes: ['pending-pod'] });
    expect(days[1]).toEqual({ awakeOnArrival: false, wakes: ['pending-pod'] });
    // Day 2 (Wednesday): 19:00 on 2 of the last 2 days (time of day, no past Wednesday yet).
    expect(days[2]).toEqual({ awakeOnArrival: true, wakes: ['predicted'] });
    expect(logs).toMatch(/"action".*predicted demand: demand started 18:45-19:15 on 2 of the last 2 days \(chance 100 % >= 60 %\); waking 1m boot ahead/);
    // w1 went back to sleep after each job (idleAfter 30m): the status shows the next wake ahead.
    await runUntil(first, MONDAY + 3 * DAY + 12 * 60 * MIN);
    expect(await state()).toBe('asleep');
    const next = first.status().nodes.find((n) => n.node === 'w1')?.nextPredictedWake;
    expect(next).toEqual({ at: new Date(MONDAY + 3 * DAY + (18 * 60 + 44) * MIN).toISOString(), reason: 'predicted demand: demand started 18:45-19:15 on 3 of the last 3 days (chance 100 % >= 60 %); waking 1m boot ahead' });
    // `power status` through the HTTP API (the controller's status), as a table and as JSON.
    const viaApi = await statusCli(first);
    expect(viaApi.table).toContain(`next predicted wake of w1: ${next!.at.replace('.000Z', 'Z')} (${next!.reason})`);
    expect(viaApi.json.nodes.find((n) => n.node === 'w1')?.nextPredictedWake).toEqual(next);
    await first.close();
    running.delete(first);
    // The kubeconfig path (no controller) reads the same from the ConfigMap the controller wrote.

    const cm = await kube.getConfigMap(NS, PROFILE_CONFIGMAP);
    expect(cm?.data?.['format']).toBe(PROFILE_FORMAT);
    const saved = parseProfile(cm?.data, 'UTC', ['w1']);
    expect(saved.problems).toEqual([]);
    const w1 = saved.profile.nodes['w1']!;
    // Thursday is the last day watched; the 19:00 slot (76) set on Monday, Tuesday and Wednesday.
    expect(w1.days.length).toBe(4);
    expect(w1.days.map((h) => (parseInt(h[19]!, 16) & 1) === 1)).toEqual([true, true, true, false]);
    // Wednesday's predicted wake (sent 18:44) was used by the 19:00 pod.
    expect(w1.outcomes).toEqual([{ at: MONDAY + 2 * DAY + 19 * 60 * MIN, used: true, basis: 'time of day' }]);
    const viaKube = await kubeClient(kube, cluster, { now: () => clock.now() }).status();
    expect(viaKube.nodes.find((n) => n.node === 'w1')?.nextPredictedWake?.at).toBe(next?.at);

    // A new process: it knows only what the ConfigMap holds.
    const second = controller('second');
    await second.start();
    for (let d = 3; d <= 7; d++) days.push(await eveningJob(second, d));
    for (const d of [3, 4, 5, 6, 7]) expect(days[d], `day ${d}`).toEqual({ awakeOnArrival: true, wakes: ['predicted'] });
    expect(logs).toMatch(/"msg":"demand profile loaded".*"nodes":1,"days":4/);
    // Monday again: a past Monday exists, so the evidence is that weekday.
    expect(logs).toMatch(/predicted demand: demand started 18:45-19:15 on 1 of the last 1 Mondays \(chance 100 % >= 60 %\); waking 1m boot ahead/);
    const events = (await kube.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.involvedObject.name === 'w1' && e.reason === 'PowerWaking');
    expect(events.some((e) => (e.message ?? '').includes('predicted demand: demand started 18:45-19:15 on 1 of the last 1 Mondays'))).toBe(true);
    // Every ConfigMap call named the one ConfigMap the RBAC rule allows (create on the collection).
    const calls = standin.requests().filter((r) => r.path.includes('/configmaps'));
    expect(calls.length).toBeGreaterThan(0);
    for (const r of calls) expect(`${r.method} ${r.path.split('?')[0]}`).toMatch(new RegExp(`^(GET|PUT) /api/v1/namespaces/${NS}/configmaps/${PROFILE_CONFIGMAP}$|^POST /api/v1/namespaces/${NS}/configmaps$`));
    await second.close();
    running.delete(second);
    expect(logs).not.toContain('"reconcile failed"');
    expect(logs).not.toContain('demand profile: ');
  }, 240_000);

  it('a write the API refuses (its namespace is missing) is a warning and the metric, tried again at the next save, never a throw', async () => {
    const metrics = new PowerMetrics();
    let out = '';
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => (out += d.toString()));
    const learner = new DemandLearner({ kube, namespace: 'no-such-namespace', policy: policyFromCluster(cluster), log: jsonLogger(stream, { level: 'info' }), metrics, now: () => clock.now() });
    await learner.load();
    learner.gatewayDemand('w1', clock.now());
    await learner.save(true);
    expect(out).toMatch(/"level":"warn".*"msg":"demand profile: could not write it \(.*\); retried at the next save".*"kind":"write"/);
    expect(await metrics.text()).toContain('vmstation_power_profile_problems_total{kind="write"} 1');
    await learner.save(true);
    expect(await metrics.text()).toContain('vmstation_power_profile_problems_total{kind="write"} 2');
    expect(await kube.getConfigMap('no-such-namespace', PROFILE_CONFIGMAP)).toBeUndefined();
  });

  it('ignores a corrupt profile ConfigMap with a warning and the metric, keeps managing, and rewrites it', async () => {
    const cm = (await kube.getConfigMap(NS, PROFILE_CONFIGMAP))!;
    await kube.replaceConfigMap(NS, { metadata: { name: PROFILE_CONFIGMAP, namespace: NS, resourceVersion: cm.metadata?.resourceVersion ?? '' }, data: { format: PROFILE_FORMAT, timezone: 'UTC', 'node.w1': '{not json' } });
    logs = '';
    const ctl = controller('third');
    await ctl.start();
    const d = Math.ceil((clock.now() - MONDAY) / DAY);
    const job = await eveningJob(ctl, d);
    // Nothing learned survives: the pod waits for its wake again.
    expect(job).toEqual({ awakeOnArrival: false, wakes: ['pending-pod'] });
    expect(logs).toMatch(/"level":"warn".*"msg":"demand profile: node w1: entry is not JSON; its learning starts over"/);
    expect(await ctl.metrics.text()).toContain('vmstation_power_profile_problems_total{kind="node"} 1');
    await ctl.close();
    running.delete(ctl);
    const rewritten = parseProfile((await kube.getConfigMap(NS, PROFILE_CONFIGMAP))?.data, 'UTC', ['w1']);
    expect(rewritten.problems).toEqual([]);
    // Learned again from its start (the evening before, no demand seen) to this evening's pod.
    expect(rewritten.profile.nodes['w1']?.days.map((h) => (parseInt(h[19]!, 16) & 1) === 1)).toEqual([false, true]);
    expect(rewritten.profile.nodes['w1']?.outcomes).toEqual([]);
  }, 120_000);
});
