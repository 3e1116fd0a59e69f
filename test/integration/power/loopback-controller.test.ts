// The controller with its real drivers (real sshd, real UDP magic packets, TCP probes) against
// the Kubernetes API stand-in and the loopback power lab.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';
import { kubeFor, nodeEvents, powerOf, startTestController, testPod, waitForState, type TestController } from './harness.js';
import { requestPower } from '../../../src/power/api/requests.js';

describe('power controller on the loopback lab', () => {
  let lab: LoopbackLab;
  let ctl: TestController | undefined;
  beforeAll(async () => {
    lab = await startLoopbackLab();
  });
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
    expect(packets[0]!.at - created).toBeLessThan(1000);
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
});
