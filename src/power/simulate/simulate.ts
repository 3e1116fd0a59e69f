// The power simulator: replays a workload trace against a fake cluster with a fake clock,
// calling the same decide() as the controller and carrying out its actions the way the
// controller does (drain, suspend, wake attempts with timeouts, uncordon). Pure: no I/O, no
// real time; the same cluster and trace always give the same report.
//
// Model of the world:
// - every node starts awake and Ready at the trace start, with the controller just started;
// - a pod-start is a pod pinned to its node (nodeSelector kubernetes.io/hostname), Pending
//   until that node is awake and schedulable, then Running until its pod-stop;
// - a request is users of an app: served at once when the app's node is awake, otherwise the
//   wake gateway (apps with wakeOnRequest) asks for a wake; the node is busy (CPU and network
//   above the idle thresholds) for `seconds` from the moment it serves the request;
// - a sleep takes drainSeconds to evict and suspendSeconds to power down; a wake takes the
//   node's boot time (trace header, else bootSeconds) to Ready, unless `wake-fails` said the
//   attempt is lost, in which case the controller retries after wakeTimeout and marks the node
//   failed after wakeAttempts;
// - decide() runs at every event, at every state change, when an idle or minAwake timer
//   expires, and on a periodic tick (for keep-awake and quiet-hours windows).
import type { Cluster } from '../../config/model.js';
import { decide } from '../core/decide.js';
import { idleSince } from '../core/activity.js';
import { policyFromCluster } from '../core/policy.js';
import type { Action, InFlightTransition, NodeActivity, Observed, ObservedNode, ObservedPod, Policy, WakeRequest } from '../core/types.js';
import { oracleEnergy, type Interval } from './oracle.js';
import type { Trace, TraceEvent } from './trace.js';

export interface SimulateOptions {
  /** Time to cordon and evict (seconds). */
  drainSeconds?: number;
  /** Time from the suspend command until the node is off (seconds). */
  suspendSeconds?: number;
  /** Periodic re-evaluation when windows are configured (seconds). Idle timers are exact regardless. */
  tickSeconds?: number;
  /** Keep the list of every action decide() took (large for big clusters). */
  keepTransitions?: boolean;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  max: number;
}

export interface NodeReport {
  name: string;
  maySleep: boolean;
  energyKwh: number;
  alwaysOnKwh: number;
  oracleKwh: number;
  /** Share of the oracle's saving this node's policy captured (1 when the oracle saves nothing). */
  capturedShare: number;
  asleepHours: number;
  oracleAsleepHours: number;
  sleeps: number;
  wakes: number;
  failedWakes: number;
  demands: number;
  missedDemands: number;
}

export interface TransitionRecord {
  t: string;
  node: string;
  action: Action['kind'];
  reason: string;
}

export interface SimulationReport {
  start: string;
  end: string;
  hours: number;
  energyKwh: number;
  alwaysOnKwh: number;
  oracleKwh: number;
  savedKwh: number;
  oracleSavedKwh: number;
  /** (alwaysOn - energy) / (alwaysOn - oracle), clamped to 0..1; 1 when the oracle saves nothing. */
  capturedShare: number;
  wakes: number;
  sleeps: number;
  failedWakes: number;
  demands: number;
  /** Demands that arrived while their node was not awake and had to wait. */
  delayedDemands: number;
  /** Demands never served before their end or the end of the trace. */
  missedDemands: number;
  /** Arrival at a node that was not awake until that node was Ready (delayed demands only; 0 when none). */
  latencySeconds: LatencySummary;
  /** Nodes without power.watts: counted at 0 W. */
  nodesWithoutWatts: string[];
  nodes: NodeReport[];
  transitions?: TransitionRecord[];
}

const DEFAULTS = { drainSeconds: 10, suspendSeconds: 5, tickSeconds: 60 };
const BUSY: NodeActivity = { cpuFraction: 0.6, networkBytesPerSecond: 4_000_000 };
const QUIET: NodeActivity = { cpuFraction: 0.02, networkBytesPerSecond: 200 };

interface Demand {
  node: string;
  arrivedAt: number;
  /** Set once the node serves it. */
  servedAt?: number;
  /** Requests: how long users keep the node busy once served. */
  busySeconds?: number;
  /** Pods: the demand ends at pod-stop. */
  pod?: string;
  endedAt?: number;
}

interface SimNode {
  obs: ObservedNode;
  on: boolean;
  bootSeconds: number;
  failNext: number;
  /** The current wake attempt reaches Ready (false: the magic packet was lost). */
  bootOk: boolean;
  /** When the current physical step finishes (drain, suspend, boot, wake-attempt timeout). */
  dueAt: number | undefined;
  flight: InFlightTransition | undefined;
  wakeTriggeredAt: number | undefined;
  /** Energy so far (watt-milliseconds). */
  wattMs: number;
  asleepMs: number;
  sleeps: number;
  wakes: number;
  failedWakes: number;
  busyUntil: number;
  wasActive: boolean;
  watts: { awake: number; asleep: number };
}

const HOUR_MS = 3_600_000;
/** Actions the simulated executor completes instantly. */
const INSTANT: ReadonlySet<Action['kind']> = new Set(['cancel-sleep', 'mark-awake', 'mark-asleep', 'uncordon', 'mark-failed']);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function share(alwaysOn: number, energy: number, oracle: number): number {
  const possible = alwaysOn - oracle;
  if (possible <= 1e-12) return 1;
  return Math.min(1, Math.max(0, (alwaysOn - energy) / possible));
}

/** Runs `trace` against the cluster's power policy. */
export function simulate(cluster: Cluster, trace: Trace, options: SimulateOptions = {}): SimulationReport {
  return simulatePolicy(policyFromCluster(cluster), trace, options);
}

export function simulatePolicy(policy: Policy, trace: Trace, options: SimulateOptions = {}): SimulationReport {
  const opt = { ...DEFAULTS, ...options };
  const { start, end } = trace.header;
  const names = Object.keys(policy.nodes).sort();
  const nodes = new Map<string, SimNode>();
  const nodesWithoutWatts: string[] = [];
  for (const name of names) {
    const np = policy.nodes[name]!;
    if (!np.watts) nodesWithoutWatts.push(name);
    nodes.set(name, {
      obs: {
        name,
        ready: true,
        unschedulable: false,
        cordonedByPowerManager: false,
        labels: { 'kubernetes.io/hostname': name, ...(np.alwaysOnReasons.includes('control-plane node') ? { 'node-role.kubernetes.io/control-plane': '' } : {}) },
        annotations: {},
        taints: [],
        allocatable: { cpuMillis: 64_000, memoryBytes: 256 * 2 ** 30 },
        power: { state: 'awake', since: start, reason: 'simulation start', attempts: 0 },
        controllerObservedSince: start,
      },
      on: true,
      bootSeconds: trace.header.bootSeconds[name] ?? np.bootSeconds,
      failNext: 0,
      bootOk: false,
      dueAt: undefined,
      flight: undefined,
      wakeTriggeredAt: undefined,
      wattMs: 0,
      asleepMs: 0,
      sleeps: 0,
      wakes: 0,
      failedWakes: 0,
      busyUntil: -Infinity,
      wasActive: false,
      watts: np.watts ?? { awake: 0, asleep: 0 },
    });
  }
  const appNode = new Map(policy.apps.map((a) => [a.name, a]));
  const pods = new Map<string, ObservedPod>();
  const podDemand = new Map<string, Demand>();
  const demands: Demand[] = [];
  const waiting: Demand[] = [];
  const wakeRequests: WakeRequest[] = [];
  const transitions: TransitionRecord[] = [];

  const nodeOf = (name: string) => nodes.get(name) as SimNode;
  const schedulable = (n: SimNode) => n.obs.power.state === 'awake' && n.obs.ready && !n.obs.unschedulable;

  const setState = (n: SimNode, state: ObservedNode['power']['state'], now: number, reason: string, attempts = 0) => {
    n.obs = { ...n.obs, power: { ...n.obs.power, state, since: now, reason, attempts } };
  };

  const serve = (now: number) => {
    // Like the controller: a wake request is done once its node is awake and Ready.
    for (let i = wakeRequests.length - 1; i >= 0; i--) if (schedulable(nodeOf((wakeRequests[i] as WakeRequest).node))) wakeRequests.splice(i, 1);
    for (let i = waiting.length - 1; i >= 0; i--) {
      const d = waiting[i] as Demand;
      const n = nodeOf(d.node);
      if (!schedulable(n)) continue;
      d.servedAt = now;
      waiting.splice(i, 1);
      if (d.pod) {
        const p = pods.get(d.pod);
        if (p) pods.set(d.pod, { ...p, nodeName: d.node, phase: 'Running' });
      } else if (d.busySeconds !== undefined) {
        const until = now + d.busySeconds * 1000;
        n.busyUntil = Math.max(n.busyUntil, until);
      }
    }
  };

  const applyEvent = (e: TraceEvent) => {
    switch (e.kind) {
      case 'pod-start': {
        const [namespace, name] = e.pod.split('/') as [string, string];
        pods.set(e.pod, {
          namespace,
          name,
          phase: 'Pending',
          ownerKind: 'Job',
          labels: {},
          annotations: {},
          volumes: [],
          nodeSelector: { 'kubernetes.io/hostname': e.node },
          requiredNodeAffinity: [],
          tolerations: [],
          requests: { cpuMillis: 100, memoryBytes: 2 ** 27 },
          createdAt: e.t,
        });
        const d: Demand = { node: e.node, arrivedAt: e.t, pod: e.pod };
        demands.push(d);
        waiting.push(d);
        podDemand.set(e.pod, d);
        break;
      }
      case 'pod-stop': {
        pods.delete(e.pod);
        const d = podDemand.get(e.pod);
        podDemand.delete(e.pod);
        if (d) {
          d.endedAt = e.t;
          const i = waiting.indexOf(d);
          if (i >= 0) waiting.splice(i, 1);
        }
        break;
      }
      case 'request': {
        const app = appNode.get(e.app);
        const node = app?.node;
        if (!node || !nodes.has(node)) break;
        const d: Demand = { node, arrivedAt: e.t, busySeconds: e.seconds };
        demands.push(d);
        waiting.push(d);
        if (!schedulable(nodeOf(node)) && app.wakeOnRequest) wakeRequests.push({ node, source: 'gateway', at: e.t, reason: `request for ${e.app} (wake gateway)` });
        break;
      }
      case 'wake-fails':
        nodeOf(e.node).failNext += e.count;
        break;
    }
  };

  /** Physical steps that finish at or before `now`. */
  const advancePhysics = (n: SimNode, now: number) => {
    while (n.dueAt !== undefined && n.dueAt <= now) {
      const at = n.dueAt;
      const { state, attempts } = n.obs.power;
      if (state === 'draining') {
        setState(n, 'suspending', at, 'drained; suspend command sent');
        n.dueAt = at + opt.suspendSeconds * 1000;
      } else if (state === 'suspending') {
        n.on = false;
        n.obs = { ...n.obs, ready: false };
        setState(n, 'asleep', at, 'suspended');
        n.flight = undefined;
        n.dueAt = undefined;
      } else if (state === 'waking') {
        if (n.bootOk) {
          n.obs = { ...n.obs, ready: true, unschedulable: false, cordonedByPowerManager: false };
          const latency = n.wakeTriggeredAt !== undefined ? (at - n.wakeTriggeredAt) / 1000 : undefined;
          n.obs = { ...n.obs, power: { state: 'awake', since: at, reason: 'Ready after wake; uncordoned', attempts: 0, lastWakeLatencySeconds: latency } };
          n.flight = undefined;
          n.dueAt = undefined;
          n.wakeTriggeredAt = undefined;
        } else if (attempts < policy.wakeAttempts) {
          startAttempt(n, at, attempts + 1, `not Ready ${policy.wakeTimeoutSeconds}s after attempt ${attempts}`);
        } else {
          n.on = false;
          n.failedWakes++;
          setState(n, 'failed', at, `not Ready after ${attempts} wake attempts`, attempts);
          n.flight = undefined;
          n.dueAt = undefined;
          n.wakeTriggeredAt = undefined;
        }
      } else {
        n.dueAt = undefined;
      }
    }
  };

  const startAttempt = (n: SimNode, now: number, attempt: number, reason: string) => {
    setState(n, 'waking', now, `${reason} (attempt ${attempt} of ${policy.wakeAttempts})`, attempt);
    if (n.failNext > 0) {
      n.failNext--;
      n.bootOk = false;
      n.on = false;
      n.dueAt = now + policy.wakeTimeoutSeconds * 1000;
    } else {
      n.bootOk = true;
      n.on = true;
      n.dueAt = now + n.bootSeconds * 1000;
    }
  };

  const apply = (a: Action, now: number) => {
    const n = nodeOf(a.node);
    if (opt.keepTransitions) transitions.push({ t: new Date(now).toISOString(), node: a.node, action: a.kind, reason: a.reason });
    switch (a.kind) {
      case 'sleep':
        n.sleeps++;
        n.flight = { node: a.node, kind: 'sleep', startedAt: now };
        n.obs = { ...n.obs, unschedulable: true, cordonedByPowerManager: true };
        setState(n, 'draining', now, a.reason);
        for (const ref of a.evict) {
          const key = `${ref.namespace}/${ref.name}`;
          const p = pods.get(key);
          if (p) {
            pods.set(key, { ...p, nodeName: undefined, phase: 'Pending' });
            const d = podDemand.get(key);
            if (d) waiting.push({ node: d.node, arrivedAt: now, pod: key });
          }
        }
        n.dueAt = now + opt.drainSeconds * 1000;
        break;
      case 'cancel-sleep':
      case 'mark-awake':
      case 'uncordon':
        n.flight = undefined;
        n.dueAt = undefined;
        n.obs = { ...n.obs, unschedulable: false, cordonedByPowerManager: false };
        if (n.obs.power.state !== 'awake') setState(n, 'awake', now, a.reason);
        break;
      case 'mark-asleep':
        setState(n, 'asleep', now, a.reason);
        break;
      case 'mark-failed':
        n.failedWakes++;
        n.flight = undefined;
        n.dueAt = undefined;
        setState(n, 'failed', now, a.reason, a.attempts);
        break;
      case 'wake':
      case 'retry-wake':
        n.wakes++;
        n.flight = { node: a.node, kind: 'wake', startedAt: now };
        n.wakeTriggeredAt = earliestTrigger(a.node, now);
        startAttempt(n, now, a.kind === 'wake' ? 1 : a.attempt, a.reason);
        break;
    }
  };

  /** A wake's latency runs from the earliest demand or request waiting for that node. */
  const earliestTrigger = (node: string, now: number): number => {
    let t = now;
    for (const d of waiting) if (d.node === node && d.arrivedAt < t) t = d.arrivedAt;
    return t;
  };

  // One activity record, updated in place: decide() only reads it during the call.
  const activity: Record<string, NodeActivity> = {};
  const observe = (now: number): Observed => {
    const obsNodes: ObservedNode[] = [];
    const inFlight: InFlightTransition[] = [];
    for (const n of nodes.values()) {
      obsNodes.push(n.obs);
      activity[n.obs.name] = n.busyUntil > now ? BUSY : QUIET;
      if (n.flight) inFlight.push(n.flight);
    }
    return { nodes: obsNodes, pods: [...pods.values()], pdbs: [], activity, wakeRequests: [...wakeRequests], sleepRequests: [], inFlight };
  };

  /** The next instant something may change without an event: timers decide() reads. */
  const nextTimer = (now: number): number => {
    let next = Infinity;
    for (const n of nodes.values()) {
      if (n.dueAt !== undefined) next = Math.min(next, n.dueAt);
      const { state, since } = n.obs.power;
      const np = policy.nodes[n.obs.name];
      if (!np) continue;
      if (state === 'awake' && np.autoSleep) {
        const idle = idleSince(n.obs, wakeRequests).at + np.idleAfterSeconds * 1000;
        const minAwake = since + policy.minAwakeSeconds * 1000;
        const t = Math.max(idle, minAwake);
        if (t > now) next = Math.min(next, t);
        if (n.busyUntil > now) next = Math.min(next, n.busyUntil);
      } else if (state === 'failed') {
        const t = since + policy.retryFailedAfterSeconds * 1000;
        if (t > now) next = Math.min(next, t);
      }
    }
    return next;
  };

  // ---- the loop -------------------------------------------------------------------------------
  const events = trace.events;
  let ei = 0;
  let now = start;
  let nextTick = start;
  const tickMs = opt.tickSeconds * 1000;
  const hasWindows = policy.keepAwake.length > 0 || policy.quietHours.length > 0;
  for (;;) {
    while (ei < events.length && (events[ei] as TraceEvent).t <= now) applyEvent(events[ei++] as TraceEvent);
    for (const n of nodes.values()) {
      // Activity during the last step lasted until now: the controller saw it until now.
      if (n.wasActive) n.obs.lastActivityAt = now;
      advancePhysics(n, now);
    }
    serve(now);
    // decide() again at the same instant only after actions that change the world at once
    // (a rollback or a corrected record may make room for a wake or serve a demand).
    for (let round = 0; round < 4; round++) {
      const decision = decide(observe(now), policy, now);
      for (const n of nodes.values()) n.wasActive = false;
      for (const a of decision.active) {
        const n = nodeOf(a.node);
        n.wasActive = true;
        n.obs.lastActivityAt = now;
      }
      for (const a of decision.actions) apply(a, now);
      serve(now);
      if (!decision.actions.some((a) => INSTANT.has(a.kind))) break;
    }
    if (now >= end) break;
    // Without windows nothing changes between events and timers, so no tick is needed.
    if (hasWindows) while (nextTick <= now) nextTick += tickMs;
    let next = Math.min(end, hasWindows ? nextTick : Infinity, nextTimer(now));
    if (ei < events.length) next = Math.min(next, (events[ei] as TraceEvent).t);
    if (!(next > now)) next = now + 1000;
    // Energy over [now, next).
    const dt = next - now;
    for (const n of nodes.values()) {
      n.wattMs += (n.on ? n.watts.awake : n.watts.asleep) * dt;
      if (!n.on) n.asleepMs += dt;
    }
    now = next;
  }

  // ---- report --------------------------------------------------------------------------------
  for (const d of demands) if (d.servedAt === undefined && d.endedAt === undefined) d.endedAt = end;
  const latencies = demands.filter((d) => d.servedAt !== undefined && d.servedAt > d.arrivedAt).map((d) => ((d.servedAt as number) - d.arrivedAt) / 1000).sort((a, b) => a - b);
  const missed = demands.filter((d) => d.servedAt === undefined);
  const demandIntervals = new Map<string, Interval[]>();
  for (const d of demands) {
    const to = d.busySeconds !== undefined ? d.arrivedAt + d.busySeconds * 1000 : (d.endedAt ?? end);
    demandIntervals.set(d.node, [...(demandIntervals.get(d.node) ?? []), { from: d.arrivedAt, to }]);
  }
  const nodeReports: NodeReport[] = [];
  for (const name of names) {
    const n = nodeOf(name);
    const np = policy.nodes[name]!;
    const maySleep = np.autoSleep && np.alwaysOnReasons.length === 0 && np.usableDrivers.length > 0;
    const oracle = oracleEnergy({ start, end, demand: demandIntervals.get(name) ?? [], bootSeconds: n.bootSeconds, goDownSeconds: opt.drainSeconds + opt.suspendSeconds, watts: n.watts, maySleep });
    const alwaysOnKwh = (n.watts.awake * (end - start)) / HOUR_MS / 1000;
    const energyKwh = n.wattMs / HOUR_MS / 1000;
    nodeReports.push({
      name,
      maySleep,
      energyKwh: round(energyKwh, 4),
      alwaysOnKwh: round(alwaysOnKwh, 4),
      oracleKwh: round(oracle.kwh, 4),
      capturedShare: round(share(alwaysOnKwh, energyKwh, oracle.kwh), 4),
      asleepHours: round(n.asleepMs / HOUR_MS, 3),
      oracleAsleepHours: round(oracle.asleepSeconds / 3600, 3),
      sleeps: n.sleeps,
      wakes: n.wakes,
      failedWakes: n.failedWakes,
      demands: demands.filter((d) => d.node === name).length,
      missedDemands: missed.filter((d) => d.node === name).length,
    });
  }
  const sum = (f: (r: NodeReport) => number) => nodeReports.reduce((acc, r) => acc + f(r), 0);
  const energyKwh = names.reduce((acc, name) => acc + nodeOf(name).wattMs / HOUR_MS / 1000, 0);
  const alwaysOnKwh = names.reduce((acc, name) => acc + (nodeOf(name).watts.awake * (end - start)) / HOUR_MS / 1000, 0);
  const oracleKwh = sum((r) => r.oracleKwh);
  const report: SimulationReport = {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    hours: round((end - start) / HOUR_MS, 3),
    energyKwh: round(energyKwh, 4),
    alwaysOnKwh: round(alwaysOnKwh, 4),
    oracleKwh: round(oracleKwh, 4),
    savedKwh: round(alwaysOnKwh - energyKwh, 4),
    oracleSavedKwh: round(alwaysOnKwh - oracleKwh, 4),
    capturedShare: round(share(alwaysOnKwh, energyKwh, oracleKwh), 4),
    wakes: sum((r) => r.wakes),
    sleeps: sum((r) => r.sleeps),
    failedWakes: sum((r) => r.failedWakes),
    demands: demands.length,
    delayedDemands: latencies.length,
    missedDemands: missed.length,
    latencySeconds: { p50: round(percentile(latencies, 50), 3), p95: round(percentile(latencies, 95), 3), max: round(latencies[latencies.length - 1] ?? 0, 3) },
    nodesWithoutWatts,
    nodes: nodeReports,
  };
  if (opt.keepTransitions) report.transitions = transitions;
  return report;
}
