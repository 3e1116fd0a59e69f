// The simulator's fake cluster: nodes with a power record, pods, demands and pending requests, and
// the simulated executor that carries out decide()'s actions. Records change only through the
// core's lifecycle (applyStep), the same state machine the controller's executors record with, so
// what decide() reads next round is what the controller would show; only the physics differ (a
// drain takes drainSeconds, a boot the node's boot time, a lost magic packet a wakeTimeout).
import { idleSince } from '../core/activity.js';
import { applyStep, instantStep, type PowerRecord, type Step } from '../core/lifecycle.js';
import type { Action, Decision, InFlightTransition, NodeActivity, Observed, ObservedNode, ObservedPod, Policy, RequestOutcome, SleepRequest, WakeRequest, WakeSource } from '../core/types.js';
import type { Trace, TraceEvent } from './trace.js';

export interface SimOptions {
  drainSeconds: number;
  suspendSeconds: number;
  keepTransitions: boolean;
}

export interface Demand {
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

export interface TransitionRecord {
  t: string;
  node: string;
  action: Action['kind'];
  reason: string;
}

/** A Node's request annotation holds one request at a time; a newer one replaces it. */
type PendingRequest = ({ action: 'wake' } & WakeRequest) | ({ action: 'sleep' } & SleepRequest);

export interface SimNode {
  obs: ObservedNode;
  wakeTriggeredAt: number | undefined;
  /** The transition job in progress: its action's reason, the wake's source, the pods evicted. */
  job: { reason: string; source: WakeSource; evicted: number };
  request: PendingRequest | undefined;
  on: boolean;
  bootSeconds: number;
  failNext: number;
  /** The current wake attempt reaches Ready (false: the magic packet was lost). */
  bootOk: boolean;
  /** When the current physical step finishes (drain, suspend, boot, wake-attempt timeout). */
  dueAt: number | undefined;
  flight: InFlightTransition | undefined;
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

const BUSY: NodeActivity = { cpuFraction: 0.6, networkBytesPerSecond: 4_000_000 };
const QUIET: NodeActivity = { cpuFraction: 0.02, networkBytesPerSecond: 200 };

function simNode(name: string, policy: Policy, trace: Trace): SimNode {
  const np = policy.nodes[name]!;
  const start = trace.header.start;
  return {
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
    wakeTriggeredAt: undefined,
    job: { reason: '', source: 'schedule', evicted: 0 },
    request: undefined,
    on: true,
    bootSeconds: trace.header.bootSeconds[name] ?? np.bootSeconds,
    failNext: 0,
    bootOk: false,
    dueAt: undefined,
    flight: undefined,
    wattMs: 0,
    asleepMs: 0,
    sleeps: 0,
    wakes: 0,
    failedWakes: 0,
    busyUntil: -Infinity,
    wasActive: false,
    watts: np.watts ?? { awake: 0, asleep: 0 },
  };
}

export class SimWorld {
  readonly names: string[];
  readonly nodes = new Map<string, SimNode>();
  readonly demands: Demand[] = [];
  readonly transitions: TransitionRecord[] = [];
  private readonly pods = new Map<string, ObservedPod>();
  private readonly podDemand = new Map<string, Demand>();
  private readonly waiting: Demand[] = [];
  private readonly apps: Map<string, Policy['apps'][number]>;
  /** One activity record, updated in place: decide() only reads it during the call. */
  private readonly activity: Record<string, NodeActivity> = {};

  constructor(
    readonly policy: Policy,
    trace: Trace,
    private readonly opt: SimOptions,
  ) {
    this.names = Object.keys(policy.nodes).sort();
    for (const name of this.names) this.nodes.set(name, simNode(name, policy, trace));
    this.apps = new Map(policy.apps.map((a) => [a.name, a]));
  }

  node(name: string): SimNode {
    return this.nodes.get(name) as SimNode;
  }

  private schedulable(n: SimNode): boolean {
    return n.obs.power.state === 'awake' && n.obs.ready && !n.obs.unschedulable;
  }

  /** Records one step's outcome through the shared lifecycle. */
  private record(n: SimNode, step: Step, now: number): void {
    const prev: PowerRecord = { ...n.obs.power, cordonedByPowerManager: n.obs.cordonedByPowerManager ?? false, wakeTriggeredAt: n.wakeTriggeredAt };
    const result = applyStep(prev, step, now);
    if (!result) return;
    const { cordonedByPowerManager, wakeTriggeredAt, ...power } = result.record;
    n.obs = { ...n.obs, power, cordonedByPowerManager, ...(result.cordon === undefined ? {} : { unschedulable: result.cordon }) };
    n.wakeTriggeredAt = wakeTriggeredAt;
  }

  // ---- the trace ----------------------------------------------------------------------------------

  applyEvent(e: TraceEvent): void {
    switch (e.kind) {
      case 'pod-start':
        return this.podStart(e.t, e.pod, e.node);
      case 'pod-stop':
        return this.podStop(e.t, e.pod);
      case 'request':
        return this.appRequest(e.t, e.app, e.seconds);
      case 'wake-fails':
        this.node(e.node).failNext += e.count;
        return;
      case 'wake-request':
        this.node(e.node).request = { action: 'wake', node: e.node, source: 'manual', at: e.t, reason: 'wake requested in the trace' };
        return;
      case 'sleep-request':
        this.node(e.node).request = { action: 'sleep', node: e.node, source: 'manual', at: e.t, reason: 'sleep requested in the trace' };
        return;
    }
  }

  private podStart(t: number, key: string, node: string): void {
    const [namespace, name] = key.split('/') as [string, string];
    this.pods.set(key, {
      namespace,
      name,
      phase: 'Pending',
      ownerKind: 'Job',
      labels: {},
      annotations: {},
      volumes: [],
      nodeSelector: { 'kubernetes.io/hostname': node },
      requiredNodeAffinity: [],
      tolerations: [],
      requests: { cpuMillis: 100, memoryBytes: 2 ** 27 },
      createdAt: t,
    });
    const d: Demand = { node, arrivedAt: t, pod: key };
    this.demands.push(d);
    this.waiting.push(d);
    this.podDemand.set(key, d);
  }

  private podStop(t: number, key: string): void {
    this.pods.delete(key);
    const d = this.podDemand.get(key);
    this.podDemand.delete(key);
    if (!d) return;
    d.endedAt = t;
    const i = this.waiting.indexOf(d);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Users of an app: served when its node is awake (busy until they leave plus sessionIdleAfter); else the wake gateway (wakeOnRequest) asks for a wake. */
  private appRequest(t: number, appName: string, seconds: number): void {
    const app = this.apps.get(appName);
    const node = app?.node;
    if (!node || !this.nodes.has(node)) return;
    // A session through the gateway keeps the node busy until it ends, plus the app's session idle time.
    const d: Demand = { node, arrivedAt: t, busySeconds: seconds + (app.sessionIdleAfterSeconds ?? 0) };
    this.demands.push(d);
    this.waiting.push(d);
    if (!this.schedulable(this.node(node)) && app.wakeOnRequest) this.node(node).request = { action: 'wake', node, source: 'gateway', at: t, reason: `request for ${appName} (wake gateway)` };
  }

  // ---- physics ---------------------------------------------------------------------------------------

  /** Physical steps that finish at or before `now`. */
  advance(n: SimNode, now: number): void {
    while (n.dueAt !== undefined && n.dueAt <= now) {
      const at = n.dueAt;
      const { state } = n.obs.power;
      if (state === 'draining') {
        this.record(n, { step: 'drained', pods: n.job.evicted }, at);
        n.dueAt = at + this.opt.suspendSeconds * 1000;
      } else if (state === 'suspending') {
        n.on = false;
        n.obs = { ...n.obs, ready: false };
        this.record(n, { step: 'suspended', reason: n.job.reason }, at);
        this.land(n);
      } else if (state === 'waking') this.wakeAttemptEnds(n, at);
      else n.dueAt = undefined;
    }
  }

  private land(n: SimNode): void {
    n.flight = undefined;
    n.dueAt = undefined;
  }

  private wakeAttemptEnds(n: SimNode, at: number): void {
    const { attempts } = n.obs.power;
    if (n.bootOk) {
      n.obs = { ...n.obs, ready: true };
      this.record(n, { step: 'woken', source: n.job.source, attempt: attempts, triggeredAt: n.wakeTriggeredAt ?? at }, at);
      this.land(n);
    } else if (attempts < this.policy.wakeAttempts) {
      this.startAttempt(n, at, attempts + 1, `not Ready ${this.policy.wakeTimeoutSeconds}s after attempt ${attempts}`);
    } else {
      n.on = false;
      n.failedWakes++;
      this.record(n, { step: 'wake-failed', reason: `not Ready after ${attempts} wake attempts` }, at);
      this.land(n);
    }
  }

  private startAttempt(n: SimNode, now: number, attempt: number, lastError?: string): void {
    this.record(n, { step: 'wake-attempt', reason: n.job.reason, source: n.job.source, attempt, of: this.policy.wakeAttempts, lastError, triggeredAt: n.wakeTriggeredAt ?? now }, now);
    n.bootOk = n.failNext === 0;
    if (n.failNext > 0) n.failNext--;
    n.on = n.bootOk;
    n.dueAt = now + (n.bootOk ? n.bootSeconds : this.policy.wakeTimeoutSeconds) * 1000;
  }

  /** Demands waiting for a node that is now schedulable are served. */
  serve(now: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const d = this.waiting[i] as Demand;
      const n = this.node(d.node);
      if (!this.schedulable(n)) continue;
      d.servedAt = now;
      this.waiting.splice(i, 1);
      if (d.pod) {
        const p = this.pods.get(d.pod);
        if (p) this.pods.set(d.pod, { ...p, nodeName: d.node, phase: 'Running' });
      } else if (d.busySeconds !== undefined) n.busyUntil = Math.max(n.busyUntil, now + d.busySeconds * 1000);
    }
  }

  // ---- the executor --------------------------------------------------------------------------------

  /** Carries out one action the way the controller does, on simulated time. */
  apply(a: Action, now: number): void {
    const n = this.node(a.node);
    if (this.opt.keepTransitions) this.transitions.push({ t: new Date(now).toISOString(), node: a.node, action: a.kind, reason: a.reason });
    if (a.kind === 'sleep') return this.startSleep(n, a.evict, a.reason, now);
    if (a.kind === 'wake' || a.kind === 'retry-wake') return this.startWake(n, a, now);
    const step = instantStep(a);
    if (!step) return;
    if (a.kind !== 'mark-asleep') this.land(n);
    if (a.kind === 'mark-failed') n.failedWakes++;
    this.record(n, step, now);
  }

  private startWake(n: SimNode, a: Extract<Action, { kind: 'wake' | 'retry-wake' }>, now: number): void {
    // The wake executor clears the node's request as the job starts.
    if (n.request?.action === 'wake') n.request = undefined;
    n.wakes++;
    n.flight = { node: a.node, kind: 'wake', startedAt: now };
    n.job = { reason: a.reason, source: a.kind === 'wake' ? a.source : 'schedule', evicted: 0 };
    n.wakeTriggeredAt = this.earliestTrigger(a.node, now);
    this.startAttempt(n, now, a.attempt);
  }

  private startSleep(n: SimNode, evict: readonly { namespace: string; name: string }[], reason: string, now: number): void {
    n.sleeps++;
    n.flight = { node: n.obs.name, kind: 'sleep', startedAt: now };
    n.job = { reason, source: 'schedule', evicted: evict.length };
    this.record(n, { step: 'drain-started', reason, alreadyCordoned: n.obs.unschedulable }, now);
    for (const ref of evict) {
      const key = `${ref.namespace}/${ref.name}`;
      const p = this.pods.get(key);
      if (!p) continue;
      this.pods.set(key, { ...p, nodeName: undefined, phase: 'Pending' });
      const d = this.podDemand.get(key);
      if (d) this.waiting.push({ node: d.node, arrivedAt: now, pod: key });
    }
    n.dueAt = now + this.opt.drainSeconds * 1000;
  }

  /** A wake's latency runs from the earliest demand waiting for that node. */
  private earliestTrigger(node: string, now: number): number {
    let t = now;
    for (const d of this.waiting) if (d.node === node && d.arrivedAt < t) t = d.arrivedAt;
    return t;
  }

  /** Requests decide() settled (done or refused) are gone, as the controller clears them. */
  settle(outcomes: readonly RequestOutcome[]): void {
    for (const o of outcomes) {
      const n = this.node(o.node);
      if (n.request?.action === o.action) n.request = undefined;
    }
  }

  // ---- what decide() sees ------------------------------------------------------------------------------

  observe(now: number): Observed {
    const nodes: ObservedNode[] = [];
    const inFlight: InFlightTransition[] = [];
    const wakeRequests: WakeRequest[] = [];
    const sleepRequests: SleepRequest[] = [];
    for (const n of this.nodes.values()) {
      nodes.push(n.obs);
      this.activity[n.obs.name] = n.busyUntil > now ? BUSY : QUIET;
      if (n.flight) inFlight.push(n.flight);
      const { request: r } = n;
      if (r?.action === 'wake') wakeRequests.push({ node: r.node, source: r.source, at: r.at, reason: r.reason });
      if (r?.action === 'sleep') sleepRequests.push({ node: r.node, source: r.source, at: r.at, reason: r.reason });
    }
    return { nodes, pods: [...this.pods.values()], pdbs: [], activity: this.activity, wakeRequests, sleepRequests, inFlight };
  }

  /** decide() reported these nodes active: the controller saw them active until now. */
  noteActivity(decision: Decision, now: number): void {
    for (const n of this.nodes.values()) n.wasActive = false;
    for (const a of decision.active) {
      const n = this.node(a.node);
      n.wasActive = true;
      n.obs.lastActivityAt = now;
    }
  }

  /** The next instant something may change without an event: timers decide() reads. */
  nextTimer(now: number): number {
    let next = Infinity;
    for (const n of this.nodes.values()) {
      if (n.dueAt !== undefined) next = Math.min(next, n.dueAt);
      for (const t of this.policyTimers(n, now)) if (t > now) next = Math.min(next, t);
    }
    return next;
  }

  /** When idleAfter/minAwake, the end of a busy spell, or a failed node's retry may change decide()'s answer. */
  private policyTimers(n: SimNode, now: number): number[] {
    const { state, since } = n.obs.power;
    const np = this.policy.nodes[n.obs.name];
    if (!np) return [];
    if (state === 'failed') return [since + this.policy.retryFailedAfterSeconds * 1000];
    if (state !== 'awake' || !np.autoSleep) return [];
    const requests = n.request?.action === 'wake' ? [n.request] : [];
    const idle = idleSince(n.obs, requests).at + np.idleAfterSeconds * 1000;
    return [Math.max(idle, since + this.policy.minAwakeSeconds * 1000), n.busyUntil > now ? n.busyUntil : -Infinity];
  }

  /** Energy over [from, to). */
  accrue(from: number, to: number): void {
    const dt = to - from;
    for (const n of this.nodes.values()) {
      n.wattMs += (n.on ? n.watts.awake : n.watts.asleep) * dt;
      if (!n.on) n.asleepMs += dt;
    }
  }
}
