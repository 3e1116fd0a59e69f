// decide() on requests and bad inputs: a person's sleep request is accepted, refused with its
// reason, or waits; a wake request for a node recorded awake but not Ready wakes it; requests that
// are done or refused are listed so the executor clears them; a window that cannot be evaluated is
// reported and left out while the rest of the decision stands.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/power/core/decide.js';
import { AUTO_SLEEP_OFF_FOR_REQUESTS } from '../../../src/power/core/sleeps.js';
import type { Policy, SleepRequest, WakeRequest } from '../../../src/power/core/types.js';
import { MIN, T0, asleep, controlPlane, examplePolicy, node, observed, pod } from './fixtures.js';

const S = 'storagenodet3500';
const H = 'homelab';
const sleepReq = (n: string, over: Partial<SleepRequest> = {}): SleepRequest => ({ node: n, source: 'manual', at: T0 - 1000, reason: 'vmstation power sleep', ...over });
const wakeReq = (n: string, over: Partial<WakeRequest> = {}): WakeRequest => ({ node: n, source: 'manual', at: T0 - 1000, reason: 'vmstation power wake', ...over });
const reasonsFor = (d: ReturnType<typeof decide>, n: string) => d.skipped.filter((s) => s.node === n).map((s) => s.reason);

describe('sleep requests', () => {
  it('sleeps a busy node a person asked for (activity, idleAfter and minAwake are the automatic policy, not safety)', () => {
    const busy = node(H, { lastActivityAt: T0, power: { state: 'awake', since: T0 - MIN, reason: 'woken', attempts: 0 } });
    const d = decide(observed({ nodes: [busy], pods: [pod('media', 'web-1', { nodeName: H })], sleepRequests: [sleepReq(H)] }), examplePolicy(), T0);
    expect(d.actions).toEqual([{ kind: 'sleep', node: H, reason: 'manual request: vmstation power sleep', evict: [{ namespace: 'media', name: 'web-1' }] }]);
    expect(d.requests).toEqual([{ node: H, action: 'sleep', outcome: 'done', reason: 'manual request: vmstation power sleep' }]);
  });

  it('overrides none of the safety rules, not even autoSleep: false (no suspend key, no Wake-on-LAN readiness there)', () => {
    const p = examplePolicy();
    const noAuto: Policy = { ...p, nodes: { ...p.nodes, [H]: { ...p.nodes[H]!, autoSleep: false } } };
    const refused = decide(observed({ nodes: [node(H)], sleepRequests: [sleepReq(H)] }), noAuto, T0);
    expect(refused.actions).toEqual([]);
    expect(refused.requests).toEqual([{ node: H, action: 'sleep', outcome: 'refused', reason: AUTO_SLEEP_OFF_FOR_REQUESTS }]);
    expect(AUTO_SLEEP_OFF_FOR_REQUESTS).toMatch(/^autoSleep is false: .*set power\.autoSleep: true/);

    const d = decide(observed({ nodes: [controlPlane('masternode')], sleepRequests: [sleepReq('masternode')] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(d.requests).toEqual([{ node: 'masternode', action: 'sleep', outcome: 'refused', reason: expect.stringMatching(/^control-plane node: must stay on; monitoring node: must stay on/) as string }]);
    expect(d.requests[0]!.reason).toContain(AUTO_SLEEP_OFF_FOR_REQUESTS);
    expect(reasonsFor(d, 'masternode')).toEqual([expect.stringMatching(/^manual sleep request refused: control-plane node/)]);
  });

  it('is refused with the PodDisruptionBudget or the pod that cannot move', () => {
    const pods = [pod('db', 'db-0', { nodeName: S, labels: { app: 'db' } })];
    const pdbs = [{ namespace: 'db', name: 'db', selector: { matchLabels: { app: 'db' } }, disruptionsAllowed: 0 }];
    const d = decide(observed({ nodes: [node(S)], pods, pdbs, sleepRequests: [sleepReq(S, { source: 'api' })] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(d.requests).toEqual([{ node: S, action: 'sleep', outcome: 'refused', reason: 'draining would evict 1 pod covered by PodDisruptionBudget db/db, which allows 0 disruptions now' }]);
    const local = [pod('db', 'db-0', { nodeName: S, volumes: [{ name: 'data', kind: 'pvc', localPersistentVolume: true }] })];
    expect(decide(observed({ nodes: [node(S)], pods: local, sleepRequests: [sleepReq(S)] }), examplePolicy(), T0).requests[0]).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('node-local PersistentVolume') as string });
  });

  it('is refused for a node that is not awake, and done when it is already going to sleep', () => {
    const d = decide(observed({ nodes: [asleep(H)], sleepRequests: [sleepReq(H)] }), examplePolicy(), T0);
    expect(d.requests).toEqual([{ node: H, action: 'sleep', outcome: 'refused', reason: 'node is asleep' }]);
    const draining = node(H, { unschedulable: true, cordonedByPowerManager: true, power: { state: 'draining', since: T0 - 5000, reason: 'idle', attempts: 0 } });
    const going = decide(observed({ nodes: [draining], sleepRequests: [sleepReq(H)], inFlight: [{ node: H, kind: 'sleep', startedAt: T0 - 5000 }] }), examplePolicy(), T0);
    expect(going.actions).toEqual([]);
    expect(going.requests).toEqual([{ node: H, action: 'sleep', outcome: 'done', reason: 'already going to sleep' }]);
  });

  it('waits for a transition slot (wakes first), and stays pending meanwhile', () => {
    const d = decide(
      observed({ nodes: [node(H), asleep(S)], wakeRequests: [wakeReq(S)], sleepRequests: [sleepReq(H)] }),
      examplePolicy(),
      T0,
    );
    expect(d.actions.map((a) => `${a.kind} ${a.node}`)).toEqual([`wake ${S}`]);
    expect(reasonsFor(d, H)).toEqual(['manual request: vmstation power sleep; waiting: 1 of 1 transition slot in use']);
    expect(d.requests).toEqual([]);
  });

  it('waits while the node is being repaired this round (left cordoned by the power manager)', () => {
    const cordoned = node(H, { unschedulable: true, cordonedByPowerManager: true });
    const d = decide(observed({ nodes: [cordoned], sleepRequests: [sleepReq(H)] }), examplePolicy(), T0);
    expect(d.actions.map((a) => a.kind)).toEqual(['uncordon']);
    expect(d.requests).toEqual([]);
  });
});

describe('wake requests', () => {
  it('wake a node recorded awake but not Ready (switched off by hand), within the slots', () => {
    const off = node(S, { ready: false });
    const d = decide(observed({ nodes: [off], wakeRequests: [wakeReq(S)] }), examplePolicy(), T0);
    expect(d.actions).toEqual([{ kind: 'wake', node: S, source: 'manual', drivers: ['wol'], attempt: 1, reason: 'manual wake request: vmstation power wake (node not Ready)' }]);
    const full = decide(observed({ nodes: [off, node('other')], wakeRequests: [wakeReq(S)], inFlight: [{ node: 'other', kind: 'sleep', startedAt: T0 - 1000 }] }), examplePolicy(), T0);
    expect(full.actions).toEqual([]);
    expect(reasonsFor(full, S)).toEqual(['manual wake request: vmstation power wake (node not Ready); waiting: 1 of 1 transition slot in use']);
  });

  it('are done once the node is awake and Ready with nothing in flight, not before', () => {
    const d = decide(observed({ nodes: [node(H, { lastActivityAt: T0 }), asleep(S)], wakeRequests: [wakeReq(H), wakeReq(S)] }), examplePolicy({ maxConcurrentTransitions: 2 }), T0);
    expect(d.requests).toEqual([{ node: H, action: 'wake', outcome: 'done', reason: 'awake and Ready' }]);
    expect(d.actions).toMatchObject([{ kind: 'wake', node: S }]);
  });
});

describe('bad inputs are reported and left out; the rest stands', () => {
  // Windows the validator refuses, as a cluster file written by hand or an older vmstation could carry.
  const broken = ['0 0 31 2 *', '*/0 * * * *', '5-1 * * * *', 'H 22 * * *'];

  it.each(broken)('a quiet-hours window "%s": reported, never open; wakes still happen', (start) => {
    const policy = examplePolicy({ quietHours: [{ start, durationSeconds: 3600 }], maxConcurrentTransitions: 2 });
    const transcode = pod('media', 'transcode-7', { phase: 'Pending', nodeSelector: { 'kubernetes.io/hostname': S } });
    const d = decide(observed({ nodes: [node(H), asleep(S)], pods: [transcode] }), policy, T0);
    expect(d.problems).toEqual([{ subject: 'spec.power.quietHours[0]', message: expect.stringMatching(/cannot be evaluated, so it never opens/) as string }]);
    expect(d.actions.map((a) => `${a.kind} ${a.node}`)).toEqual([`wake ${S}`]);
    expect(reasonsFor(d, H)).toEqual([expect.stringMatching(/^outside quiet hours/)]);
  });

  it('a broken keep-awake window next to a good one: the good one still keeps nodes awake and wakes them', () => {
    const policy = examplePolicy({ keepAwake: [{ start: '0 0 31 2 *', durationSeconds: 3600 }, { start: '0 12 * * *', durationSeconds: 3600 }], maxConcurrentTransitions: 2 });
    const d = decide(observed({ nodes: [node(H), asleep(S)] }), policy, T0);
    expect(d.problems.map((p) => p.subject)).toEqual(['spec.power.keepAwake[0]']);
    expect(d.actions).toMatchObject([{ kind: 'wake', node: S, source: 'schedule', reason: expect.stringContaining('"0 12 * * *"') as string }]);
    expect(reasonsFor(d, H)).toEqual([expect.stringMatching(/^inside keep-awake window "0 12 \* \* \*"/)]);
  });

  it('a broken window with an idle node and no other window: the node sleeps, the window is reported', () => {
    const d = decide(observed({ nodes: [node(H)] }), examplePolicy({ keepAwake: [{ start: '*/0 * * * *', durationSeconds: 60 }] }), T0);
    expect(d.actions.map((a) => `${a.kind} ${a.node}`)).toEqual([`sleep ${H}`]);
    expect(d.problems).toHaveLength(1);
  });
});
