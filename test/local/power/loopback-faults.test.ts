// Faults against the controller with real drivers on the loopback lab and the API stand-in:
// lost magic packets, a host that never wakes, 500s and 410s mid-drain, a PodDisruptionBudget
// blocking eviction, two replicas, and a controller killed mid-drain.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requestPower } from '../../../src/power/api/requests.js';
import { eventually, resetLab, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';
import { kubeFor, nodeEvents, powerOf, startTestController, TEST_TOKEN, testPod, waitForState, type TestController } from './harness.js';

describe('power controller faults (loopback lab)', () => {
  let lab: LoopbackLab;
  const controllers: TestController[] = [];
  const start = async (identity = 'controller-a', leaseName = 'vmstation-power-manager') => {
    const c = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath, identity, tuning: { leaseName } });
    controllers.push(c);
    return c;
  };
  beforeAll(async () => {
    lab = await startLoopbackLab({ power: { wakeTimeout: '3s', wakeAttempts: 2, retryFailedAfter: '3s' } });
  });
  afterAll(async () => lab?.stop());
  beforeEach(async () => resetLab(lab));
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') for (const c of controllers) console.log(c.logs().split('\n').filter((l) => !l.includes('left alone')).slice(-40).join('\n'));
    for (const c of controllers.splice(0)) await c.close();
  });

  async function putToSleep(node: string): Promise<void> {
    const kube = kubeFor(lab.kubeconfigPath);
    await requestPower(kube, node, 'sleep', 'manual', 'test setup', Date.now());
    await waitForState(kube, node, 'asleep');
  }

  it('retries when the first magic packets are lost, and the retry wins', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    const ctl = await start();
    await putToSleep('storagenodet3500');
    const host = lab.host('storagenodet3500');
    host.dropPackets = 3; // the whole first attempt
    await requestPower(kube, 'storagenodet3500', 'wake', 'manual', 'test', Date.now());
    const awake = await waitForState(kube, 'storagenodet3500', 'awake');
    expect(awake.reason).toMatch(/^woken \(manual\): Ready .* attempt 2$/);
    expect(host.packets.filter((p) => p.dropped)).toHaveLength(3);
    expect(host.packets.filter((p) => !p.dropped).length).toBeGreaterThanOrEqual(1);
    expect(awake.unschedulable).toBe(false);
    const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
    expect(metrics).toContain('vmstation_power_failures_total{node="storagenodet3500",kind="wake-unreachable"} 1');
  });

  it('marks a host that never wakes failed with a Warning Event and the failure metric, then retries it at the slow rate', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    const ctl = await start();
    await putToSleep('homelab');
    const host = lab.host('homelab');
    host.neverWake = true;
    await requestPower(kube, 'homelab', 'wake', 'manual', 'test', Date.now());
    const failed = await waitForState(kube, 'homelab', 'failed');
    expect(failed.reason).toMatch(/not Ready after 2 wake attempts/);
    expect(failed.unschedulable).toBe(true);
    const events = await nodeEvents(kube, 'homelab');
    const warn = events.find((e) => e.reason === 'PowerWakeFailed');
    expect(warn?.type).toBe('Warning');
    expect(warn?.message).toContain('waking -> failed');
    const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
    expect(metrics).toContain('vmstation_power_failures_total{node="homelab",kind="wake"} 1');
    expect(metrics).toContain('vmstation_node_power_state{node="homelab",state="failed"} 1');
    // The host is fixed: the slow retry (retryFailedAfter 3s) brings it back without anyone asking.
    host.neverWake = false;
    const back = await waitForState(kube, 'homelab', 'awake', 30_000);
    expect(back.unschedulable).toBe(false);
  });

  it('finishes a drain through API 500s and dropped watches (410 Gone)', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    const ctl = await start();
    lab.standin.create(testPod('app-1', { node: 'homelab' }));
    lab.standin.create(testPod('app-2', { node: 'homelab' }));
    await eventually('pods running', async () => (await kube.core.listNamespacedPod({ namespace: 'default' })).items.filter((p) => p.status?.phase === 'Running').length === 2);
    lab.standin.faults.add({ kind: 'delay', delayMs: 400, path: 'eviction', count: 1 });
    lab.standin.faults.add({ kind: 'error', status: 500, path: 'eviction', count: 2 });
    await requestPower(kube, 'homelab', 'sleep', 'manual', 'test', Date.now());
    await waitForState(kube, 'homelab', 'draining');
    // Mid-drain: the next node PATCH fails, every open watch is dropped and re-watching gets 410.
    lab.standin.faults.add({ kind: 'error', status: 500, method: 'PATCH', path: '/api/v1/nodes/homelab', count: 2 });
    lab.standin.faults.expireNextWatches(3);
    const dropped = lab.standin.faults.dropWatches();
    expect(dropped).toBeGreaterThanOrEqual(3);
    const asleep = await waitForState(kube, 'homelab', 'asleep');
    expect(asleep.unschedulable).toBe(true);
    const pods = (await kube.core.listNamespacedPod({ namespace: 'default' })).items.filter((p) => p.spec?.nodeName === 'homelab');
    expect(pods).toHaveLength(0);
    const logs = ctl.logs();
    expect(logs).toContain('"msg":"eviction failed; retrying"');
    expect(logs).toContain('"msg":"API call failed; retrying"');
    // The informers re-listed after the 410s (a list without watch=true after the drop).
    expect(lab.standin.requests().filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes' && !r.query.includes('watch')).length).toBeGreaterThanOrEqual(2);
  });

  it('aborts the sleep and uncordons when a PodDisruptionBudget blocks an eviction (429)', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    await start();
    lab.standin.create(testPod('db-1', { node: 'storagenodet3500', labels: { app: 'db' } }));
    await eventually('db-1 running', async () => (await kube.core.readNamespacedPod({ name: 'db-1', namespace: 'default' })).status?.phase === 'Running');
    // The eviction is slow; the PDB appears after the safety check and before the eviction lands.
    lab.standin.faults.add({ kind: 'delay', delayMs: 1500, path: 'eviction', count: 1 });
    await requestPower(kube, 'storagenodet3500', 'sleep', 'manual', 'test', Date.now());
    await waitForState(kube, 'storagenodet3500', 'draining');
    lab.standin.create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'db' } } } });
    const rolled = await eventually('rolled back', async () => {
      const p = await powerOf(kube, 'storagenodet3500');
      return p.state === 'awake' && p.reason.startsWith('sleep aborted') ? p : undefined;
    });
    expect(rolled.reason).toContain('refused (429)');
    expect(rolled.unschedulable).toBe(false);
    expect(rolled.cordonedByPowerManager).toBe(false);
    expect(lab.host('storagenodet3500').suspends).toBe(0);
    const pod = await kube.core.readNamespacedPod({ name: 'db-1', namespace: 'default' });
    expect(pod.spec?.nodeName).toBe('storagenodet3500');
    const events = await nodeEvents(kube, 'storagenodet3500');
    expect(events.find((e) => e.reason === 'PowerSleepAborted')?.type).toBe('Warning');
  });

  it('refuses a sleep request up front when a PodDisruptionBudget allows no disruption (never cordons)', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    await start();
    lab.standin.create(testPod('db-2', { node: 'storagenodet3500', labels: { app: 'db2' } }));
    lab.standin.create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'db2', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'db2' } } } });
    await eventually('pdb status', async () => (await kube.policy.readNamespacedPodDisruptionBudget({ name: 'db2', namespace: 'default' })).status?.currentHealthy === 1);
    await requestPower(kube, 'storagenodet3500', 'sleep', 'manual', 'test', Date.now());
    const refused = await eventually('refusal event', async () => (await nodeEvents(kube, 'storagenodet3500')).find((e) => e.reason === 'PowerSleepRefused'));
    expect(refused.message).toMatch(/PodDisruptionBudget|db2/);
    const p = await powerOf(kube, 'storagenodet3500');
    expect(p.state).toBe('awake');
    expect(p.unschedulable).toBe(false);
    expect(p.request).toBeUndefined();
  });

  it('refuses to sleep a node holding a pod whose claim is bound to a node-local PersistentVolume', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    await start();
    lab.standin.create({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'homelab-data' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'local',
        local: { path: '/srv/data' },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['homelab'] }] }] } },
      },
    });
    lab.standin.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'local', volumeName: 'homelab-data', resources: { requests: { storage: '1Gi' } } } });
    const pod = testPod('db-local', { node: 'homelab' }) as ReturnType<typeof testPod> & { spec: { volumes?: unknown[] } };
    pod.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }];
    lab.standin.create(pod);
    await requestPower(kube, 'homelab', 'sleep', 'manual', 'test', Date.now());
    const refused = await eventually('refusal event', async () => (await nodeEvents(kube, 'homelab')).find((e) => e.reason === 'PowerSleepRefused'));
    expect(refused.message).toContain('node-local PersistentVolume');
    const p = await powerOf(kube, 'homelab');
    expect(p.state).toBe('awake');
    expect(p.unschedulable).toBe(false);
    await kube.core.deleteNamespacedPersistentVolumeClaim({ name: 'data', namespace: 'default' });
    await kube.core.deletePersistentVolume({ name: 'homelab-data' });
  });

  it('with two replicas only the Lease holder acts; the other takes over when it stops', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    const a = await start('replica-a', 'two-replicas');
    const b = await start('replica-b', 'two-replicas');
    const leader = await eventually('one leader', () => {
      const la = a.controller.leader.isLeader();
      const lb = b.controller.leader.isLeader();
      return la !== lb ? (la ? a : b) : undefined;
    });
    const follower = leader === a ? b : a;
    await putToSleep('homelab');
    expect(follower.controller.dispatched).toHaveLength(0);
    expect(leader.controller.dispatched.some((d) => d.action === 'sleep' || d.node === 'homelab')).toBe(true);
    const instances = new Set((await nodeEvents(kube, 'homelab')).map((e) => e.reportingInstance));
    expect([...instances]).toEqual([leader === a ? 'replica-a' : 'replica-b']);
    // The leader stops (releases the Lease); the follower takes over and acts.
    await leader.close();
    controllers.splice(controllers.indexOf(leader), 1);
    await eventually('follower leads', () => follower.controller.leader.isLeader());
    await requestPower(kube, 'homelab', 'wake', 'manual', 'test', Date.now());
    await waitForState(kube, 'homelab', 'awake');
    expect(follower.controller.dispatched.some((d) => d.action === 'wake' && d.node === 'homelab')).toBe(true);
  });

  it('a controller killed mid-drain leaves nothing cordoned: the restarted one rolls the drain back', async () => {
    const kube = kubeFor(lab.kubeconfigPath);
    lab.standin.create(testPod('slow-1', { node: 'homelab' }));
    await eventually('slow-1 running', async () => (await kube.core.readNamespacedPod({ name: 'slow-1', namespace: 'default' })).status?.phase === 'Running');
    lab.standin.faults.add({ kind: 'delay', delayMs: 4000, path: 'eviction', count: 1 });
    const tokenFile = path.join(lab.dir, 'token');
    writeFileSync(tokenFile, TEST_TOKEN, { mode: 0o600 });
    // The first controller is a separate process running the real CLI verb, killed with SIGKILL.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'cli-entry.ts'), 'power', 'controller', '-f', lab.clusterPath, '--kubeconfig', lab.kubeconfigPath, '--token-file', tokenFile, '--listen', '127.0.0.1:0', '--namespace', 'default', '--identity', 'doomed'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let childLog = '';
    child.stderr?.on('data', (d: Buffer) => (childLog += d.toString()));
    try {
      await eventually('child leads', () => childLog.includes('"became leader"'), 30_000);
      await requestPower(kube, 'homelab', 'sleep', 'manual', 'test', Date.now());
      const draining = await waitForState(kube, 'homelab', 'draining');
      expect(draining.unschedulable).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    // A new controller (the Deployment's replacement pod) waits out the dead one's Lease, then resumes.
    const next = await start('replacement');
    const p = await eventually('rolled back', async () => {
      const s = await powerOf(kube, 'homelab');
      return s.state === 'awake' ? s : undefined;
    }, 40_000);
    expect(p.unschedulable).toBe(false);
    expect(p.cordonedByPowerManager).toBe(false);
    expect(p.reason).toMatch(/rolling back|restarted/);
    expect(next.controller.dispatched.some((d) => d.action === 'cancel-sleep' && d.node === 'homelab')).toBe(true);
    expect(lab.host('homelab').suspends).toBe(0);
  });
});
