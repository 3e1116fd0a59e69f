// The power manager against the full lab: real Debian hosts in systemd-nspawn on 10.78.0.0/24,
// their real suspend path (lab-suspend over SSH), real magic packets to 10.78.0.255:9, IPMI
// through ipmi_sim, and the lab's Kubernetes API stand-in whose kubelets follow the hosts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { control, events, labSecrets, nodeStatus, waitForPower, waitForSsh } from '../../../lab/test/lab-fixture.js';
import type { Cluster } from '../../../src/config/model.js';
import { requestPower } from '../../../src/power/api/requests.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { eventually } from '../../local/power/loopback-lab.js';
import { kubeFor, nodeEvents, powerOf, startTestController, testPod, waitForState, type TestController } from '../../local/power/harness.js';
import { faults, labCluster, labKubeconfig } from './lab-cluster.js';

describe('power manager on the lab (real hosts, real suspend, real magic packets, ipmi_sim)', () => {
  let ctl: TestController | undefined;
  let cluster: Cluster;
  const kube = () => kubeFor(labKubeconfig());

  beforeAll(async () => {
    cluster = labCluster().cluster;
    for (const n of ['storagenodet3500', 'homelab']) await faults(n, { clear: true });
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && ctl) console.log(ctl.logs().split('\n').filter((l) => !l.includes('left alone')).slice(-40).join('\n'));
    await ctl?.close();
    ctl = undefined;
  });
  afterAll(async () => {
    // Leave the lab as found: hosts on, Nodes awake and uncordoned, no test pods.
    for (const n of ['storagenodet3500', 'homelab']) {
      await faults(n, { clear: true });
      if ((await nodeStatus(n)).power !== 'on') {
        await control(`/nodes/${n}/power`, { method: 'POST', body: JSON.stringify({ action: 'on' }) }).catch(() => undefined);
        await waitForSsh(n, 120_000).catch(() => undefined);
      }
      const clear = Object.fromEntries(Object.values(POWER_ANNOTATIONS).map((k) => [k, null]));
      await kube().patchNode(n, { metadata: { annotations: clear }, spec: { unschedulable: null } });
    }
    for (const p of ['lab-media-1', 'lab-web-1']) await kube().core.deleteNamespacedPod({ name: p, namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
  });

  it('sleeps storagenodet3500 through its real suspend path, and a pod selecting it wakes it by a real magic packet: SSH, Ready, uncordon, bound', async () => {
    const k = kube();
    ctl = await startTestController({ cluster, kubeconfig: labKubeconfig(), identity: 'lab-power-test', secrets: labSecrets(), tuning: { leaseName: 'lab-power-test', notReadyTimeoutMs: 120_000 } });
    await eventually('storagenodet3500 Ready', async () => (await powerOf(k, 'storagenodet3500')).ready, 120_000, 500);
    const from = (await events()).last;
    await requestPower(k, 'storagenodet3500', 'sleep', 'manual', 'lab test', Date.now());
    const asleep = await waitForState(k, 'storagenodet3500', 'asleep', 180_000);
    expect(asleep.unschedulable).toBe(true);
    expect((await nodeStatus('storagenodet3500')).power).toBe('asleep');
    const suspendEvents = (await events(from)).events.filter((e) => e.node === 'storagenodet3500' && e.kind === 'power:asleep');
    expect(suspendEvents[0]?.detail?.['reason']).toBe('suspend command');

    const created = Date.now();
    await k.core.createNamespacedPod({ namespace: 'default', body: testPod('lab-media-1', { nodeSelector: { 'vmstation.io/storage': 'true' } }) as never });
    await waitForPower('storagenodet3500', 'on', 120_000);
    const boots = (await events(from)).events.filter((e) => e.node === 'storagenodet3500' && e.kind === 'power:booting');
    expect(boots.at(-1)?.detail?.['source']).toBe('wol');
    const awake = await waitForState(k, 'storagenodet3500', 'awake', 180_000);
    expect(awake.unschedulable).toBe(false);
    expect(awake.reason).toContain('woken (pending-pod)');
    const pod = await eventually('lab-media-1 bound', async () => {
      const p = await k.core.readNamespacedPod({ name: 'lab-media-1', namespace: 'default' });
      return p.spec?.nodeName ? p : undefined;
    }, 120_000, 500);
    expect(pod.spec?.nodeName).toBe('storagenodet3500');
    const dispatchedWake = ctl.controller.dispatched.find((d) => d.action === 'wake' && d.node === 'storagenodet3500');
    expect(dispatchedWake?.source).toBe('pending-pod');
    expect(dispatchedWake!.at - created).toBeLessThan(2000);
    const reasons = (await nodeEvents(k, 'storagenodet3500')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['PowerDraining', 'PowerSuspending', 'PowerAsleep', 'PowerWaking', 'PowerAwake']));
  });

  it('wakes homelab through its BMC (ipmi_sim) when Wake-on-LAN does not bring it up', async () => {
    const k = kube();
    ctl = await startTestController({ cluster, kubeconfig: labKubeconfig(), identity: 'lab-power-test', secrets: labSecrets(), tuning: { leaseName: 'lab-power-test', notReadyTimeoutMs: 120_000 } });
    await eventually('homelab Ready', async () => (await powerOf(k, 'homelab')).ready, 120_000, 500);
    await requestPower(k, 'homelab', 'sleep', 'manual', 'lab test', Date.now());
    await waitForState(k, 'homelab', 'asleep', 180_000);
    await faults('homelab', { neverWake: true });
    const from = (await events()).last;
    await requestPower(k, 'homelab', 'wake', 'manual', 'lab test', Date.now());
    const awake = await waitForState(k, 'homelab', 'awake', 240_000);
    expect(awake.unschedulable).toBe(false);
    const boots = (await events(from)).events.filter((e) => e.node === 'homelab' && e.kind === 'power:booting');
    expect(boots.map((e) => e.detail?.['source'])).toEqual(['ipmi']);
    expect(ctl.logs()).toContain('"msg":"wake sent","identity":"lab-power-test","node":"homelab","driver":"ipmi"');
  });
});
