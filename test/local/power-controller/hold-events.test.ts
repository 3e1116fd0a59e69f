// Issue 13 section 4, "the reason shows in power status, in the metrics and in an Event": a real
// PowerController against the Kubernetes API stand-in (lab/kube-apiserver-standin, in-process)
// announces each maintenance hold with a PowerHold Event on every held Node and the gauge
// vmstation_power_hold{node,id,reason}, then PowerHoldReleased when it is released before its end
// and PowerHoldExpired when its end passes; the series goes with it. And two writers racing on the
// holds annotation: the merge patch carries the resourceVersion read, a 409 is read again and
// retried, so neither hold is lost (before, the last write won).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { KubeApiError } from '../../../src/adapters/kube/rest.js';
import { validateText } from '../../../src/config/validate.js';
import { HOLD_WRITE_TRIES, releaseHold, takeHold } from '../../../src/power/api/requests.js';
import { parseHolds } from '../../../src/power/controller/annotations.js';
import { systemClock } from '../../../src/power/controller/clock.js';
import { DEFAULT_TUNING, PowerController } from '../../../src/power/controller/controller.js';
import { holdEventMessage } from '../../../src/power/controller/hold-reporter.js';
import { jsonLogger } from '../../../src/power/controller/log.js';
import type { PowerDrivers } from '../../../src/power/drivers/index.js';
import { testKube, type TestKube } from '../../helpers/kube-test-client.js';
import { waitFor as eventually } from '../kube-standin/helpers.js';

const CLUSTER = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: hold-events }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: masternode, address: 127.0.0.63, os: debian-12, roles: [control-plane] }
    - { name: w1, address: 127.0.0.97, mac: "02:00:7f:00:00:97", os: debian-12, roles: [worker], power: { autoSleep: true } }
  power:
    idleAfter: 1h
`;
const NODES = ['masternode', 'w1'];

describe('maintenance holds seen by the controller', () => {
  let standin: Standin;
  let kube: TestKube;
  beforeAll(async () => {
    standin = await startStandin({ nodes: [{ name: 'masternode', probe: false }, { name: 'w1', probe: false }] });
    const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'vmstation-hold-events-')), 'kubeconfig');
    writeFileSync(kubeconfig, standin.kubeconfig());
    kube = testKube(kubeconfig);
  });
  afterAll(async () => standin?.stop());

  const holdEvents = async (node: string) =>
    (await kube.core.listNamespacedEvent({ namespace: 'default' })).items
      .filter((e) => e.involvedObject.name === node && (e.reason ?? '').startsWith('PowerHold'))
      .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
      .map((e) => `${e.type} ${e.reason}: ${e.message}`);

  it('a hold gives a PowerHold Event on each Node and the gauge; release and expiry give their Events and the series goes', async () => {
    const cluster = validateText({ file: 'hold-events.yaml', text: CLUSTER }).cluster!;
    const drivers: PowerDrivers = { wakeOnLan: async () => undefined, ipmiPowerOn: async () => undefined, reachable: async () => true, sshCheck: async () => undefined, suspend: async () => undefined };
    const ctl = new PowerController({ cluster, kube, drivers, clock: systemClock, log: jsonLogger(new PassThrough(), { level: 'error' }), identity: 'hold-events-test', namespace: 'default', tuning: { ...DEFAULT_TUNING, leaseRenewMs: 200, tickMs: 200 } });
    try {
      await ctl.start();
      await eventually('leading', () => ctl.leader.isLeader(), 10_000);
      expect(await ctl.metrics.text()).not.toMatch(/^vmstation_power_hold\{/m);

      const until = Date.now() + 3_600_000;
      const untilIso = new Date(until).toISOString();
      await takeHold(kube, NODES, { id: 'manual', reason: 'UPS test', until }, Date.now());
      const taken = `Normal PowerHold: maintenance hold manual: UPS test, until ${untilIso}: the node is woken and not put to sleep`;
      for (const node of NODES) await eventually(`PowerHold on ${node}`, async () => ((await holdEvents(node)).includes(taken) ? true : undefined), 10_000);
      const text = await ctl.metrics.text();
      for (const node of NODES) {
        expect(text).toContain(`vmstation_power_hold{node="${node}",id="manual",reason="UPS test"} 1`);
        expect(text).toContain(`vmstation_power_hold_expiry_timestamp_seconds{node="${node}",id="manual"} ${until / 1000}`);
      }

      // A run's short hold beside it: it expires on its own; the person's is released.
      const short = Date.now() + 1500;
      await takeHold(kube, NODES, { id: 'deploy-42', reason: 'vmstation deploy of hold-events', until: short }, Date.now());
      const expired = `Normal PowerHoldExpired: maintenance hold deploy-42: vmstation deploy of hold-events: ended at ${new Date(short).toISOString()} without being released; the power policy applies again`;
      await eventually('PowerHoldExpired on w1', async () => ((await holdEvents('w1')).includes(expired) ? true : undefined), 10_000);
      expect(await ctl.metrics.text()).not.toContain('id="deploy-42"');

      await releaseHold(kube, NODES, 'manual', Date.now());
      const released = `Normal PowerHoldReleased: maintenance hold manual: UPS test: released (it would have ended at ${untilIso}); the power policy applies again`;
      await eventually('PowerHoldReleased on w1', async () => ((await holdEvents('w1')).includes(released) ? true : undefined), 10_000);
      expect(await ctl.metrics.text()).not.toMatch(/^vmstation_power_hold(_expiry_timestamp_seconds)?\{/m);
      // Each announced once, in order, however many rounds ran meanwhile.
      const w1 = await holdEvents('w1');
      expect(w1.filter((e) => e.includes('PowerHold:'))).toHaveLength(2);
      expect(w1.indexOf(taken)).toBeLessThan(w1.indexOf(released));
      expect(w1.filter((e) => e === released)).toHaveLength(1);
    } finally {
      await ctl.close();
    }
  });

  it('two writers taking holds at the same instant both keep theirs (resourceVersion-conditional patch, retried on 409)', async () => {
    const until = Date.now() + 3_600_000;
    await Promise.all(Array.from({ length: 4 }, (_, i) => takeHold(kube, NODES, { id: `writer-${i}`, reason: `writer ${i}`, until }, Date.now())));
    for (const node of NODES) expect(parseHolds((await kube.getNode(node))?.metadata?.annotations).map((h) => h.id).sort()).toEqual(['writer-0', 'writer-1', 'writer-2', 'writer-3']);
    // Four writers: each conflicts at most three times (only when another one's write landed), within HOLD_WRITE_TRIES.
    // The stand-in saw the conflicts (the race happened) and each was retried.
    expect(standin.requests().filter((r) => r.method === 'PATCH' && r.status === 409).length).toBeGreaterThan(0);
    await Promise.all([releaseHold(kube, NODES, 'writer-1', Date.now()), releaseHold(kube, NODES, 'writer-3', Date.now()), takeHold(kube, NODES, { id: 'late', reason: 'late', until }, Date.now())]);
    expect(parseHolds((await kube.getNode('w1'))?.metadata?.annotations).map((h) => h.id).sort()).toEqual(['late', 'writer-0', 'writer-2']);
    await releaseHold(kube, NODES, undefined, Date.now());
  });

  it('a write that keeps conflicting is given up after a bounded number of tries, with the API\'s error', async () => {
    let patches = 0;
    const conflicting = {
      getNode: async () => ({ metadata: { name: 'w1', resourceVersion: String(patches + 1), annotations: {} } }),
      patchNode: async (_n: string, patch: { metadata: { resourceVersion?: string } }) => {
        patches++;
        expect(patch.metadata.resourceVersion).toBe(String(patches));
        throw new KubeApiError(409, 'Operation cannot be fulfilled on nodes "w1": the object has been modified', 'Conflict', 'PATCH', '/api/v1/nodes/w1');
      },
    };
    await expect(takeHold(conflicting as never, ['w1'], { id: 'x', reason: 'x', until: Date.now() + 1000 }, Date.now())).rejects.toThrow('the object has been modified');
    expect(patches).toBe(HOLD_WRITE_TRIES);
  });

  it('Event messages name the hold, its reason and its end', () => {
    const hold = { id: 'manual', reason: 'disk swap', until: Date.parse('2026-12-04T18:00:00Z') };
    expect(holdEventMessage({ node: 'w1', kind: 'taken', hold })).toBe('maintenance hold manual: disk swap, until 2026-12-04T18:00:00.000Z: the node is woken and not put to sleep');
    expect(holdEventMessage({ node: 'w1', kind: 'expired', hold })).toBe('maintenance hold manual: disk swap: ended at 2026-12-04T18:00:00.000Z without being released; the power policy applies again');
  });
});
