// decide(): activity, idle timing, windows, transition limit, wake triggers, failed wakes and
// recovery of records that do not match the node.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/power/core/decide.js';
import type { Action, Policy } from '../../../src/power/core/types.js';
import { MIN, T0, asleep, controlPlane, examplePolicy, exampleNodes, node, nodePolicyOf, observed, pod } from './fixtures.js';

const S = 'storagenodet3500';
const H = 'homelab';
const kinds = (actions: Action[]) => actions.map((a) => `${a.kind} ${a.node}`);
const reasonFor = (d: ReturnType<typeof decide>, n: string) => [...d.actions.filter((a) => a.node === n).map((a) => a.reason), ...d.skipped.filter((s) => s.node === n).map((s) => s.reason)].join(' | ');
const twoSlots = (over: Partial<Policy> = {}) => examplePolicy({ maxConcurrentTransitions: 2, ...over });

describe('activity', () => {
  it.each([
    ['a pod in a counted namespace', { pods: [pod('media', 'jellyfin-0', { nodeName: H })] }, /active: pod media\/jellyfin-0 running/],
    ['a pending pod bound to the node', { pods: [pod('batch', 'job-1', { nodeName: H, phase: 'Pending', ownerKind: 'Job' })] }, /active: pod batch\/job-1 running/],
    ['CPU at the threshold', { activity: { [H]: { cpuFraction: 0.1 } } }, /active: cpu 10% >= 10%/],
    ['network above the threshold', { activity: { [H]: { networkBytesPerSecond: 50_000 } } }, /active: network 48.8 KiB\/s >= 10 KiB\/s/],
  ])('%s keeps the node awake', (_, over, reason) => {
    const d = decide(observed({ nodes: [node(H)], ...over }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toMatch(reason);
    expect(d.active.map((a) => a.node)).toEqual([H]);
  });

  it.each([
    ['pods in ignored namespaces', [pod('kube-system', 'coredns', { nodeName: H }), pod('monitoring', 'loki-0', { nodeName: H, ownerKind: 'StatefulSet' })]],
    ['DaemonSet pods in any namespace', [pod('media', 'agent-x', { nodeName: H, ownerKind: 'DaemonSet' })]],
    ['finished pods', [pod('batch', 'done', { nodeName: H, phase: 'Succeeded', ownerKind: 'Job' })]],
    ['terminating pods', [pod('batch', 'going', { nodeName: H, terminating: true })]],
  ])('%s do not count', (_, pods) => {
    const d = decide(observed({ nodes: [node(H)], pods }), examplePolicy(), T0);
    expect(kinds(d.actions)).toEqual([`sleep ${H}`]);
    expect(d.active).toEqual([]);
  });

  it('CPU and network below the thresholds are idle and said so', () => {
    const d = decide(observed({ nodes: [node(H)], activity: { [H]: { cpuFraction: 0.02, networkBytesPerSecond: 300 } } }), examplePolicy(), T0);
    expect(d.actions).toMatchObject([{ kind: 'sleep', reason: expect.stringContaining('no pods outside ignored namespaces, cpu 2%, network 300 B/s') as string }]);
  });

  it('ignoreNamespaces is editable', () => {
    const pods = [pod('kube-system', 'coredns', { nodeName: H })];
    const d = decide(observed({ nodes: [node(H)], pods }), examplePolicy({ ignoreNamespaces: [] }), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toMatch(/pod kube-system\/coredns running/);
  });

  it('a wake-on-request app pod counts only while no traffic data exists', () => {
    const jf = pod('default', 'jellyfin-abc', { nodeName: S, labels: { 'app.kubernetes.io/name': 'jellyfin' } });
    const without = decide(observed({ nodes: [node(S)], pods: [jf] }), examplePolicy(), T0);
    expect(without.actions).toEqual([]);
    expect(reasonFor(without, S)).toMatch(/pod default\/jellyfin-abc running/);
    const idleTraffic = decide(observed({ nodes: [node(S)], pods: [jf], activity: { [S]: { networkBytesPerSecond: 100, cpuFraction: 0.01 } } }), examplePolicy(), T0);
    expect(idleTraffic.actions).toMatchObject([{ kind: 'sleep', node: S, evict: [{ name: 'jellyfin-abc' }] }]);
  });
});

describe('idle timing', () => {
  it('idleAfter counts from the last activity the controller saw', () => {
    const d = decide(observed({ nodes: [node(H, { lastActivityAt: T0 - 12 * MIN })] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toBe('idle 12m (since last activity) < idleAfter 30m; no pods outside ignored namespaces');
    expect(kinds(decide(observed({ nodes: [node(H, { lastActivityAt: T0 - 31 * MIN })] }), examplePolicy(), T0).actions)).toEqual([`sleep ${H}`]);
  });

  it('a freshly started controller never sleeps a node on a stale timestamp', () => {
    // Annotations say awake for a day and last active a day ago; the controller started 2 minutes ago.
    const fresh = node(H, { lastActivityAt: T0 - 24 * 60 * MIN, controllerObservedSince: T0 - 2 * MIN });
    const d = decide(observed({ nodes: [fresh] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toMatch(/^idle 2m \(since controller started observing\) < idleAfter 30m/);
    expect(kinds(decide(observed({ nodes: [fresh] }), examplePolicy(), T0 + 27 * MIN).actions)).toEqual([]);
    expect(kinds(decide(observed({ nodes: [fresh] }), examplePolicy(), T0 + 28 * MIN + 1).actions)).toEqual([`sleep ${H}`]);
  });

  it('minAwake stops flapping after a wake', () => {
    const woke = node(H, { power: { state: 'awake', since: T0 - 5 * MIN, reason: 'woken', attempts: 0 } });
    const d = decide(observed({ nodes: [woke] }), examplePolicy({ minAwakeSeconds: 900 }), T0);
    expect(reasonFor(d, H)).toBe('awake 5m < minAwake 15m');
  });

  it('a per-node idleAfter overrides the cluster one', () => {
    const p = examplePolicy();
    const policy = { ...p, nodes: { ...p.nodes, [H]: { ...p.nodes[H]!, idleAfterSeconds: 7200 } } };
    const d = decide(observed({ nodes: [node(H, { lastActivityAt: T0 - 60 * MIN })] }), policy, T0);
    expect(reasonFor(d, H)).toMatch(/idle 1h .*< idleAfter 2h/);
  });

  it('a recent wake request restarts the idle clock', () => {
    const d = decide(observed({ nodes: [node(H)], wakeRequests: [{ node: H, source: 'preflight', at: T0 - 10 * MIN, reason: 'deploy' }] }), examplePolicy(), T0);
    expect(reasonFor(d, H)).toMatch(/idle 10m \(since preflight wake request\)/);
  });

  it('spec.power.enabled false never sleeps', () => {
    const d = decide(observed({ nodes: [node(H)] }), examplePolicy({ enabled: false }), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toMatch(/disabled/);
  });
});

describe('windows (cron, time zone)', () => {
  // T0 is Monday 2026-03-02 12:00 UTC = 13:00 in Europe/Berlin.
  it('quiet hours: sleeps only inside', () => {
    const outside = examplePolicy({ quietHours: [{ start: '0 0 * * *', durationSeconds: 6 * 3600 }], timezone: 'Europe/Berlin' });
    expect(reasonFor(decide(observed({ nodes: [node(H)] }), outside, T0), H)).toMatch(/outside quiet hours \("0 0 \* \* \*" for 6h\)/);
    const inside = examplePolicy({ quietHours: [{ start: '0 13 * * 1-5', durationSeconds: 3600 }], timezone: 'Europe/Berlin' });
    const d = decide(observed({ nodes: [node(H)] }), inside, T0);
    expect(d.actions).toMatchObject([{ kind: 'sleep', reason: expect.stringContaining('inside quiet hours "0 13 * * 1-5" for 1h') as string }]);
    // The same cron in UTC opened an hour later: not yet open at 12:00 UTC.
    expect(decide(observed({ nodes: [node(H)] }), { ...inside, timezone: 'UTC' }, T0).actions).toEqual([]);
  });

  it('keep-awake: never sleeps inside', () => {
    const p = examplePolicy({ keepAwake: [{ start: '30 12 * * *', durationSeconds: 2 * 3600 }], timezone: 'Europe/Berlin' });
    expect(reasonFor(decide(observed({ nodes: [node(H)] }), p, T0), H)).toMatch(/inside keep-awake window "30 12 \* \* \*" for 2h until 2026-03-02T13:30:00.000Z/);
  });

  it('keep-awake: does not sleep right before a window opens', () => {
    const p = examplePolicy({ keepAwake: [{ start: '2 12 * * *', durationSeconds: 3600 }] });
    expect(reasonFor(decide(observed({ nodes: [node(H)] }), p, T0), H)).toMatch(/opens within 3m: not worth sleeping/);
  });

  it('keep-awake: wakes ahead by bootSeconds + margin, not earlier', () => {
    const p = examplePolicy({ keepAwake: [{ start: '0 19 * * *', durationSeconds: 4 * 3600 }] });
    const sleeping = [asleep(H)];
    // homelab boots in 60 s, margin 120 s: wake at 18:57:00 at the earliest.
    const early = decide(observed({ nodes: sleeping }), p, Date.parse('2026-03-02T18:56:59Z'));
    expect(early.actions).toEqual([]);
    const due = decide(observed({ nodes: sleeping }), p, Date.parse('2026-03-02T18:57:00Z'));
    expect(due.actions).toEqual([{ kind: 'wake', node: H, source: 'schedule', drivers: ['wol'], attempt: 1, reason: 'keep-awake window "0 19 * * *" for 4h opens in 3m (boot 1m + margin 2m)' }]);
    const inside = decide(observed({ nodes: sleeping }), p, Date.parse('2026-03-02T20:00:00Z'));
    expect(inside.actions).toMatchObject([{ kind: 'wake', source: 'schedule', reason: expect.stringContaining('open until 2026-03-02T23:00:00.000Z') as string }]);
  });
});

describe('transition limit', () => {
  it('sleeps at most maxConcurrentTransitions nodes, longest idle first', () => {
    const nodes = [node('a', { lastActivityAt: T0 - 40 * MIN }), node('b', { lastActivityAt: T0 - 90 * MIN }), node('c', { lastActivityAt: T0 - 60 * MIN })];
    const base = examplePolicy();
    const policy = { ...base, nodes: { a: nodePolicyOf('a'), b: nodePolicyOf('b'), c: nodePolicyOf('c') } };
    expect(kinds(decide(observed({ nodes }), policy, T0).actions)).toEqual(['sleep b']);
    expect(kinds(decide(observed({ nodes }), { ...policy, maxConcurrentTransitions: 2 }, T0).actions)).toEqual(['sleep b', 'sleep c']);
    const d = decide(observed({ nodes, inFlight: [{ node: 'b', kind: 'sleep', startedAt: T0 - 1000 }] }), policy, T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, 'c')).toMatch(/would sleep .* but 1 of 1 transition slot in use/);
  });

  it('wakes go before sleeps when slots are short', () => {
    const nodes = [asleep(S), node(H)];
    const pods = [pod('media', 'transcode-7', { nodeSelector: { 'kubernetes.io/hostname': S }, phase: 'Pending' })];
    const d = decide(observed({ nodes, pods }), examplePolicy(), T0);
    expect(kinds(d.actions)).toEqual([`wake ${S}`]);
    expect(reasonFor(d, H)).toMatch(/transition slot/);
  });
});

describe('wake triggers', () => {
  const transcode = pod('media', 'transcode-7', { phase: 'Pending', nodeSelector: { 'kubernetes.io/hostname': S }, createdAt: T0 - 1000 });

  it('(a) a pending pod whose selector matches only a sleeping node wakes it, with the reason', () => {
    const d = decide(observed({ nodes: exampleNodes({ [S]: asleep(S) }), pods: [transcode] }), twoSlots(), T0);
    expect(d.actions[0]).toEqual({
      kind: 'wake',
      node: S,
      source: 'pending-pod',
      drivers: ['wol'],
      attempt: 1,
      reason: 'pod media/transcode-7 pending, selector matches only storagenodet3500 (asleep); awake nodes: homelab: nodeSelector kubernetes.io/hostname=storagenodet3500 not matched; masternode: nodeSelector kubernetes.io/hostname=storagenodet3500 not matched',
    });
  });

  it('(a) a pending pod that fits an awake node wakes nothing', () => {
    const free = pod('media', 'web', { phase: 'Pending' });
    const d = decide(observed({ nodes: [node(H), asleep(S)], pods: [free] }), examplePolicy(), T0);
    expect(d.actions.filter((a) => a.kind === 'wake')).toEqual([]);
  });

  it('(a) a pod that fits nowhere wakes nothing', () => {
    const huge = pod('media', 'huge', { phase: 'Pending', requests: { cpuMillis: 64_000, memoryBytes: 1 } });
    expect(decide(observed({ nodes: [node(H), asleep(S)], pods: [huge] }), examplePolicy(), T0).actions.filter((a) => a.kind === 'wake')).toEqual([]);
  });

  it('(a) the same pod while the node is already waking adds nothing', () => {
    const waking = asleep(S, { power: { state: 'waking', since: T0 - 20_000, reason: 'x', attempts: 1 } });
    const d = decide(observed({ nodes: [waking], pods: [transcode], inFlight: [{ node: S, kind: 'wake', startedAt: T0 - 20_000 }] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
  });

  it('(a) a node being drained that a new pod needs is rolled back, not slept', () => {
    const draining = node(S, { unschedulable: true, cordonedByPowerManager: true, power: { state: 'draining', since: T0 - 5000, reason: 'idle', attempts: 0 } });
    const d = decide(observed({ nodes: [node(H), draining], pods: [transcode], inFlight: [{ node: S, kind: 'sleep', startedAt: T0 - 5000 }] }), examplePolicy(), T0);
    expect(d.actions).toMatchObject([{ kind: 'cancel-sleep', node: S, reason: expect.stringMatching(/^pod media\/transcode-7 pending, .*needed again while draining/) as string }]);
  });

  it('(c) manual and API requests wake; an awake node needs nothing', () => {
    const d = decide(observed({ nodes: [asleep(S), asleep(H)], wakeRequests: [{ node: H, source: 'api', at: T0, reason: 'POST /wake/homelab' }, { node: S, source: 'manual', at: T0, reason: 'vmstation power wake' }] }), twoSlots(), T0);
    expect(d.actions.map((a) => [a.kind, a.node, a.kind === 'wake' ? a.source : ''])).toEqual([
      ['wake', S, 'manual'],
      ['wake', H, 'api'],
    ]);
    expect(decide(observed({ nodes: [node(H, { lastActivityAt: T0 })], wakeRequests: [{ node: H, source: 'api', at: T0, reason: 'x' }] }), examplePolicy(), T0).actions).toEqual([]);
  });

  it('(d) preflight asks for every sleeping worker', () => {
    const reqs = [S, H].map((n) => ({ node: n, source: 'preflight' as const, at: T0, reason: 'vmstation deploy needs every node' }));
    const d = decide(observed({ nodes: exampleNodes({ [S]: asleep(S), [H]: asleep(H) }), wakeRequests: reqs }), twoSlots(), T0);
    expect(kinds(d.actions)).toEqual([`wake ${H}`, `wake ${S}`]);
    expect(d.actions[0]!.reason).toBe('preflight wake request: vmstation deploy needs every node');
  });

  it('a node no driver can wake is reported, not woken', () => {
    const p = examplePolicy();
    const policy = { ...p, nodes: { ...p.nodes, [H]: { ...p.nodes[H]!, usableDrivers: [], unusableDrivers: ['wol: no mac'] } } };
    const d = decide(observed({ nodes: [asleep(H)], wakeRequests: [{ node: H, source: 'manual', at: T0, reason: 'x' }] }), policy, T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toMatch(/no configured driver can wake it \(wol: no mac\)/);
  });

  it('drivers come in the configured order (wol, then ipmi fallback)', () => {
    const p = examplePolicy();
    const policy = { ...p, nodes: { ...p.nodes, [H]: nodePolicyOf(H, { wake: ['wol', 'ipmi'], usableDrivers: ['wol', 'ipmi'] }) } };
    const d = decide(observed({ nodes: [asleep(H)], wakeRequests: [{ node: H, source: 'manual', at: T0, reason: 'x' }] }), policy, T0);
    expect(d.actions).toMatchObject([{ kind: 'wake', drivers: ['wol', 'ipmi'] }]);
  });
});

describe('failed wakes and recovery', () => {
  const waking = (attempts: number, since = T0 - 6 * MIN) => asleep(H, { power: { state: 'waking', since, reason: 'x', attempts } });

  it('a wake not Ready within wakeTimeout is retried, then marked failed after wakeAttempts', () => {
    expect(decide(observed({ nodes: [waking(1)] }), examplePolicy(), T0).actions).toEqual([{ kind: 'retry-wake', node: H, drivers: ['wol'], attempt: 2, source: 'schedule', reason: 'not Ready 5m after wake attempt 1 of 3' }]);
    expect(decide(observed({ nodes: [waking(3)] }), examplePolicy(), T0).actions).toEqual([{ kind: 'mark-failed', node: H, attempts: 3, reason: 'not Ready after 3 wake attempts; retrying in 30m' }]);
    expect(decide(observed({ nodes: [waking(1, T0 - 4 * MIN)] }), examplePolicy(), T0).actions).toEqual([]);
  });

  it('the next attempt of a wake keeps who asked for it (recorded as woken by the gateway, not by the schedule)', () => {
    const byGateway = asleep(H, { power: { state: 'waking', since: T0 - 6 * MIN, reason: 'x', attempts: 1, wakeSource: 'gateway' } });
    expect(decide(observed({ nodes: [byGateway] }), examplePolicy(), T0).actions).toMatchObject([{ kind: 'retry-wake', node: H, attempt: 2, source: 'gateway' }]);
  });

  it('a failed node is retried at retryFailedAfter, not before (unless a person asks)', () => {
    const failed = (since: number) => asleep(H, { power: { state: 'failed', since, reason: 'not Ready', attempts: 3 } });
    const early = decide(observed({ nodes: [failed(T0 - 10 * MIN)] }), examplePolicy(), T0);
    expect(early.actions).toEqual([]);
    expect(reasonFor(early, H)).toMatch(/failed to wake \(not Ready\); next retry in 20m/);
    expect(decide(observed({ nodes: [failed(T0 - 30 * MIN)] }), examplePolicy(), T0).actions).toMatchObject([{ kind: 'retry-wake', node: H, attempt: 1, source: 'schedule' }]);
    const manual = decide(observed({ nodes: [failed(T0 - 1 * MIN)], wakeRequests: [{ node: H, source: 'manual', at: T0, reason: 'please' }] }), examplePolicy(), T0);
    expect(manual.actions).toMatchObject([{ kind: 'retry-wake', node: H, source: 'manual' }]);
    const podWaits = decide(observed({ nodes: [failed(T0 - 1 * MIN)], pods: [pod('b', 'j', { phase: 'Pending', nodeSelector: { 'kubernetes.io/hostname': H } })] }), examplePolicy(), T0);
    expect(podWaits.actions).toEqual([]);
    expect(reasonFor(podWaits, H)).toMatch(/pod b\/j pending.*node failed to wake 1m ago; next retry in 29m/);
  });

  it.each([
    ['draining with no sleep in flight (restart mid-drain) is rolled back', node(H, { unschedulable: true, cordonedByPowerManager: true, power: { state: 'draining', since: T0 - MIN, reason: 'x', attempts: 0 } }), 'cancel-sleep'],
    ['suspending and NotReady is recorded asleep', asleep(H, { power: { state: 'suspending', since: T0 - MIN, reason: 'x', attempts: 0 } }), 'mark-asleep'],
    ['suspending but still Ready after the grace time is recorded awake', node(H, { unschedulable: true, cordonedByPowerManager: true, power: { state: 'suspending', since: T0 - 3 * MIN, reason: 'x', attempts: 0 } }), 'mark-awake'],
    ['waking and Ready is recorded awake', node(H, { power: { state: 'waking', since: T0 - MIN, reason: 'x', attempts: 1 } }), 'mark-awake'],
    ['asleep but Ready (woken by hand) is recorded awake', node(H, { power: { state: 'asleep', since: T0 - 3 * MIN, reason: 'x', attempts: 0 } }), 'mark-awake'],
    ['awake but left cordoned by us is uncordoned', node(H, { unschedulable: true, cordonedByPowerManager: true }), 'uncordon'],
  ])('%s', (_, n, kind) => {
    const d = decide(observed({ nodes: [n] }), examplePolicy(), T0);
    expect(kinds(d.actions)).toEqual([`${kind} ${H}`]);
    expect(d.actions[0]!.reason.length).toBeGreaterThan(10);
  });

  it('a node that went to sleep a minute ago but still shows Ready (Kubernetes has not noticed) stays asleep', () => {
    const justSlept = node(H, { unschedulable: true, cordonedByPowerManager: true, power: { state: 'asleep', since: T0 - MIN, reason: 'suspended', attempts: 0 } });
    const d = decide(observed({ nodes: [justSlept] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toBe('asleep for 1m; nothing needs it');
    // ...and a pod that needs it wakes it as usual.
    const p = pod('batch', 'j', { phase: 'Pending', nodeSelector: { 'kubernetes.io/hostname': H } });
    expect(decide(observed({ nodes: [justSlept, node('other')], pods: [p] }), examplePolicy(), T0).actions).toMatchObject([{ kind: 'wake', node: H, source: 'pending-pod' }]);
  });

  it('a node cordoned by someone else is left alone', () => {
    const d = decide(observed({ nodes: [node(H, { unschedulable: true })] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
    expect(reasonFor(d, H)).toMatch(/cordoned by someone else/);
  });
});

describe('every node gets a word', () => {
  it('each node of the example appears in actions or skipped with a reason', () => {
    const d = decide(observed({ nodes: exampleNodes({ [S]: asleep(S) }), pods: [pod('media', 'x', { nodeName: H })] }), examplePolicy(), T0);
    const named = new Set([...d.actions.map((a) => a.node), ...d.skipped.map((s) => s.node)]);
    expect([...named].sort()).toEqual(['homelab', 'masternode', S]);
    expect(reasonFor(d, 'masternode')).toMatch(/control-plane node: must stay on; monitoring node: must stay on; NTP server: must stay on; syslog server: must stay on; autoSleep is false/);
    expect(reasonFor(d, S)).toMatch(/^asleep for 1h; nothing needs it$/);
    void controlPlane;
  });
});
