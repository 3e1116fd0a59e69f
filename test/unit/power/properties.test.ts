// Property-based tests: for any generated cluster state, decide() never sleeps a protected node,
// never starts transitions beyond the limit, gives every node one word, and is deterministic
// (also under reordering of its inputs).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, TRANSITION_STATES } from '../../../src/power/core/decide.js';
import { POWER_STATES, type NodePolicy, type Observed, type ObservedNode, type ObservedPod, type Policy } from '../../../src/power/core/types.js';
import { MIN, T0, examplePolicy } from './fixtures.js';

const NAMES = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
const NAMESPACES = ['default', 'media', 'kube-system', 'monitoring', 'batch'];

const arbNodePolicy = (name: string) =>
  fc.record({
    autoSleep: fc.boolean(),
    alwaysOn: fc.subarray(['control-plane node', 'monitoring node', 'NTP server', 'syslog server', 'Kerberos KDC'], { maxLength: 2 }),
    usable: fc.boolean(),
    idleAfterSeconds: fc.constantFrom(60, 1800),
    bootSeconds: fc.integer({ min: 5, max: 300 }),
  }).map(
    (r): NodePolicy => ({
      name,
      autoSleep: r.autoSleep,
      alwaysOnReasons: r.alwaysOn,
      wake: ['wol'],
      usableDrivers: r.usable ? ['wol'] : [],
      unusableDrivers: r.usable ? [] : ['wol: no mac'],
      idleAfterSeconds: r.idleAfterSeconds,
      bootSeconds: r.bootSeconds,
      watts: { awake: 100, asleep: 5 },
    }),
  );

const arbNode = (name: string) =>
  fc.record({
    ready: fc.boolean(),
    unschedulable: fc.boolean(),
    cordonedByPowerManager: fc.boolean(),
    controlPlaneLabel: fc.boolean(),
    preventSleep: fc.boolean(),
    sleepOk: fc.boolean(),
    state: fc.constantFrom(...POWER_STATES),
    sinceMin: fc.integer({ min: 0, max: 600 }),
    attempts: fc.integer({ min: 0, max: 4 }),
    lastActivityMin: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
    observedMin: fc.integer({ min: 0, max: 600 }),
    pool: fc.constantFrom('a', 'b'),
    cpu: fc.constantFrom(1000, 4000),
  }).map(
    (r): ObservedNode => ({
      name,
      ready: r.ready,
      unschedulable: r.unschedulable,
      cordonedByPowerManager: r.cordonedByPowerManager,
      labels: {
        'kubernetes.io/hostname': name,
        pool: r.pool,
        ...(r.controlPlaneLabel ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
        ...(r.preventSleep ? { 'vmstation.io/prevent-sleep': 'true' } : {}),
      },
      annotations: r.sleepOk ? { 'vmstation.io/sleep-ok': 'true' } : {},
      taints: [],
      allocatable: { cpuMillis: r.cpu, memoryBytes: 8 * 2 ** 30 },
      power: { state: r.state, since: T0 - r.sinceMin * MIN, reason: 'generated', attempts: r.attempts },
      lastActivityAt: r.lastActivityMin === undefined ? undefined : T0 - r.lastActivityMin * MIN,
      controllerObservedSince: T0 - r.observedMin * MIN,
    }),
  );

const arbPod = (i: number, nodeNames: string[]) =>
  fc.record({
    ns: fc.constantFrom(...NAMESPACES),
    node: fc.option(fc.constantFrom(...nodeNames), { nil: undefined }),
    phase: fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown' as const),
    owner: fc.option(fc.constantFrom('ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'Node'), { nil: undefined }),
    volume: fc.constantFrom('none', 'hostPath', 'local', 'emptyDir', 'pvc', 'local-pvc'),
    preventSleep: fc.boolean(),
    sleepOk: fc.boolean(),
    app: fc.constantFrom('web', 'db', 'jellyfin'),
    selectPool: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    cpu: fc.constantFrom(0, 500, 3000),
    terminating: fc.boolean(),
  }).map(
    (r): ObservedPod => ({
      namespace: r.ns,
      name: `p${i}`,
      nodeName: r.node,
      phase: r.phase,
      ownerKind: r.owner,
      labels: {
        app: r.app,
        ...(r.app === 'jellyfin' ? { 'app.kubernetes.io/name': 'jellyfin' } : {}),
        ...(r.preventSleep ? { 'vmstation.io/prevent-sleep': 'true' } : {}),
        ...(r.sleepOk ? { 'vmstation.io/sleep-ok': 'true' } : {}),
      },
      annotations: {},
      volumes:
        r.volume === 'none'
          ? []
          : r.volume === 'local-pvc'
            ? [{ name: 'v', kind: 'pvc', localPersistentVolume: true }]
            : [{ name: 'v', kind: r.volume as 'hostPath' | 'local' | 'emptyDir' | 'pvc' }],
      nodeSelector: r.selectPool ? { pool: r.selectPool } : {},
      requiredNodeAffinity: [],
      tolerations: [],
      requests: { cpuMillis: r.cpu, memoryBytes: 2 ** 20 },
      createdAt: T0 - i * 1000,
      terminating: r.terminating,
    }),
  );

const arbWorld = fc.integer({ min: 1, max: NAMES.length }).chain((count) => {
  const names = NAMES.slice(0, count);
  return fc.record({
    nodes: fc.tuple(...names.map(arbNode)),
    policies: fc.tuple(...names.map(arbNodePolicy)),
    pods: fc.integer({ min: 0, max: 12 }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => arbPod(i, names)))),
    pdbAllowed: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    activity: fc.dictionary(fc.constantFrom(...names), fc.record({ cpuFraction: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }), networkBytesPerSecond: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }) })),
    inFlight: fc.subarray(names).chain((ns) => fc.tuple(...ns.map((n) => fc.constantFrom('sleep', 'wake' as const).map((kind) => ({ node: n, kind: kind as 'sleep' | 'wake', startedAt: T0 - 1000 }))))),
    requests: fc.subarray(names).chain((ns) => fc.tuple(...ns.map((n) => fc.constantFrom('manual', 'api', 'preflight' as const).map((source) => ({ node: n, source: source as 'manual' | 'api' | 'preflight', at: T0 - 1000, reason: 'test' }))))),
    limit: fc.integer({ min: 1, max: 3 }),
    enabled: fc.boolean(),
    keepAwake: fc.boolean(),
    quiet: fc.boolean(),
  });
});

type World = typeof arbWorld extends fc.Arbitrary<infer T> ? T : never;

function build(w: World): { obs: Observed; policy: Policy } {
  const base = examplePolicy();
  const policy: Policy = {
    ...base,
    enabled: w.enabled,
    maxConcurrentTransitions: w.limit,
    keepAwake: w.keepAwake ? [{ start: '0 12 * * *', durationSeconds: 1800 }] : [],
    quietHours: w.quiet ? [{ start: '0 * * * *', durationSeconds: 1800 }] : [],
    apps: [{ name: 'jellyfin', namespace: 'media', node: 'n1', wakeOnRequest: true }],
    nodes: Object.fromEntries(w.policies.map((p) => [p.name, p])),
  };
  const obs: Observed = {
    nodes: [...w.nodes],
    pods: [...w.pods],
    pdbs: w.pdbAllowed === undefined ? [] : [{ namespace: 'media', name: 'web', selector: { matchLabels: { app: 'web' } }, disruptionsAllowed: w.pdbAllowed }],
    activity: w.activity,
    wakeRequests: [...w.requests],
    sleepRequests: [],
    inFlight: [...w.inFlight],
  };
  return { obs, policy };
}

/** An independent statement of the safety rules, written without the core's helpers. */
function protectedReason(n: ObservedNode, policy: Policy, obs: Observed): string | undefined {
  const np = policy.nodes[n.name];
  if (!np) return 'unknown';
  if ('node-role.kubernetes.io/control-plane' in n.labels) return 'control plane';
  if (np.alwaysOnReasons.length > 0) return 'always on';
  if (!np.autoSleep) return 'autoSleep false';
  if (n.labels['vmstation.io/prevent-sleep'] === 'true') return 'prevent-sleep node';
  if (np.usableDrivers.length === 0) return 'no driver';
  const live = obs.pods.filter((p) => p.nodeName === n.name && p.phase !== 'Succeeded' && p.phase !== 'Failed' && !p.terminating);
  if (live.some((p) => p.labels['vmstation.io/prevent-sleep'] === 'true')) return 'prevent-sleep pod';
  const evicted = live.filter((p) => p.ownerKind !== 'DaemonSet' && p.ownerKind !== 'Node');
  const nodeOk = n.annotations['vmstation.io/sleep-ok'] === 'true' || n.labels['vmstation.io/sleep-ok'] === 'true';
  for (const p of evicted) {
    const ok = nodeOk || p.labels['vmstation.io/sleep-ok'] === 'true';
    const stuck = p.ownerKind === undefined || p.volumes.some((v) => v.kind === 'hostPath' || v.kind === 'local' || v.localPersistentVolume === true);
    if (stuck && !ok) return 'unmovable pod';
  }
  for (const pdb of obs.pdbs) {
    const covered = evicted.filter((p) => p.namespace === pdb.namespace && Object.entries(pdb.selector.matchLabels ?? {}).every(([k, v]) => p.labels[k] === v));
    if (covered.length > pdb.disruptionsAllowed) return 'pdb';
  }
  return undefined;
}

const runs = { numRuns: Number(process.env.POWER_PROPERTY_RUNS ?? 400) };

describe('decide() properties', () => {
  it('never puts a control-plane or otherwise protected node to sleep', () => {
    fc.assert(
      fc.property(arbWorld, (w) => {
        const { obs, policy } = build(w);
        const d = decide(obs, policy, T0);
        for (const a of d.actions) {
          if (a.kind !== 'sleep') continue;
          const n = obs.nodes.find((x) => x.name === a.node)!;
          expect(protectedReason(n, policy, obs), `slept ${a.node}: ${a.reason}`).toBeUndefined();
          expect(n.power.state).toBe('awake');
          expect(policy.enabled).toBe(true);
        }
      }),
      runs,
    );
  });

  it('never starts transitions beyond maxConcurrentTransitions', () => {
    fc.assert(
      fc.property(arbWorld, (w) => {
        const { obs, policy } = build(w);
        const d = decide(obs, policy, T0);
        const inFlight = new Set(obs.inFlight.map((t) => t.node));
        const before = new Set([...inFlight, ...obs.nodes.filter((n) => TRANSITION_STATES.has(n.power.state)).map((n) => n.name)]);
        const freed = new Set(
          d.actions.filter((a) => a.kind === 'mark-asleep' || a.kind === 'mark-awake' || a.kind === 'mark-failed' || (a.kind === 'cancel-sleep' && !inFlight.has(a.node))).map((a) => a.node),
        );
        const starts = d.actions.filter((a) => (a.kind === 'sleep' || a.kind === 'wake' || a.kind === 'retry-wake') && !before.has(a.node)).map((a) => a.node);
        if (starts.length > 0) {
          const after = new Set([...before].filter((n) => !freed.has(n)));
          for (const s of starts) after.add(s);
          expect(after.size).toBeLessThanOrEqual(policy.maxConcurrentTransitions);
        }
      }),
      runs,
    );
  });

  it('gives every node exactly one action or at least one reason, and never two actions', () => {
    fc.assert(
      fc.property(arbWorld, (w) => {
        const { obs, policy } = build(w);
        const d = decide(obs, policy, T0);
        const acted = d.actions.map((a) => a.node);
        expect(new Set(acted).size).toBe(acted.length);
        for (const n of obs.nodes) expect(acted.includes(n.name) || d.skipped.some((s) => s.node === n.name)).toBe(true);
        for (const x of [...d.actions, ...d.skipped]) expect(x.reason.trim().length).toBeGreaterThan(5);
      }),
      runs,
    );
  });

  it('is deterministic, also when its inputs arrive in another order', () => {
    fc.assert(
      fc.property(arbWorld, fc.integer(), (w, seed) => {
        const { obs, policy } = build(w);
        const first = decide(obs, policy, T0);
        expect(decide(structuredClone(obs), structuredClone(policy), T0)).toEqual(first);
        const shuffle = <T>(xs: T[]): T[] => {
          const out = [...xs];
          let s = seed >>> 0;
          for (let i = out.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) >>> 0;
            const j = s % (i + 1);
            [out[i], out[j]] = [out[j] as T, out[i] as T];
          }
          return out;
        };
        const shuffled: Observed = { ...obs, nodes: shuffle(obs.nodes), pods: shuffle(obs.pods), wakeRequests: shuffle(obs.wakeRequests), inFlight: shuffle(obs.inFlight) };
        expect(decide(shuffled, policy, T0)).toEqual(first);
      }),
      runs,
    );
  });

  it('a sleep request never sleeps a node protected by any rule but autoSleep, never exceeds the slots, and every refusal is a skip with its reason', () => {
    const arbWithSleepRequests = arbWorld.chain((w) =>
      fc.subarray(w.nodes.map((n) => n.name)).map((names) => ({ w, sleepRequests: names.map((node) => ({ node, source: 'manual' as const, at: T0 - 500, reason: 'test' })) })),
    );
    fc.assert(
      fc.property(arbWithSleepRequests, ({ w, sleepRequests }) => {
        const { obs: base, policy } = build(w);
        const obs: Observed = { ...base, sleepRequests };
        const d = decide(obs, policy, T0);
        const requested = new Set(sleepRequests.map((r) => r.node));
        for (const a of d.actions) {
          if (a.kind !== 'sleep') continue;
          const n = obs.nodes.find((x) => x.name === a.node)!;
          const why = protectedReason(n, policy, obs);
          if (requested.has(a.node)) expect([undefined, 'autoSleep false'], `slept ${a.node} on request: ${a.reason}`).toContain(why);
          else expect(why).toBeUndefined();
          expect(n.power.state).toBe('awake');
        }
        for (const o of d.requests.filter((x) => x.outcome === 'refused')) {
          expect(requested.has(o.node) || o.action === 'wake').toBe(true);
          expect(d.skipped.some((s) => s.node === o.node && s.reason.includes(o.reason))).toBe(true);
          expect(d.actions.some((a) => a.node === o.node && a.kind === 'sleep')).toBe(false);
        }
        const acted = d.actions.map((a) => a.node);
        expect(new Set(acted).size).toBe(acted.length);
        // Requests share the slots: in flight + mid-transition - freed + started never exceeds the limit.
        const inFlight = new Set(obs.inFlight.map((t) => t.node));
        const before = new Set([...inFlight, ...obs.nodes.filter((n) => TRANSITION_STATES.has(n.power.state)).map((n) => n.name)]);
        const freed = new Set(d.actions.filter((a) => a.kind === 'mark-asleep' || a.kind === 'mark-awake' || a.kind === 'mark-failed' || (a.kind === 'cancel-sleep' && !inFlight.has(a.node))).map((a) => a.node));
        const starts = d.actions.filter((a) => (a.kind === 'sleep' || a.kind === 'wake' || a.kind === 'retry-wake') && !before.has(a.node)).map((a) => a.node);
        if (starts.length > 0) expect(new Set([...[...before].filter((n) => !freed.has(n)), ...starts]).size).toBeLessThanOrEqual(policy.maxConcurrentTransitions);
        expect(decide(structuredClone(obs), policy, T0)).toEqual(d);
      }),
      runs,
    );
  });
});
