// The power manager controller: informers (Nodes, Pods, PodDisruptionBudgets) feed the pure
// decide(); its actions run on a per-node serial work queue. Power state lives in Node
// annotations, so a restart (or the other replica) resumes. Only the Lease holder acts.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Cluster } from '../../config/model.js';
import { httpStatusOf, keepInformerRunning, type CachedInformer, type KubeClient } from '../../adapters/kube/client.js';
import { decide, SUSPEND_GRACE_SECONDS } from '../core/decide.js';
import { policyFromCluster } from '../core/policy.js';
import { podsToEvict, sleepBlockers } from '../core/safety.js';
import { podKey } from '../core/scheduling.js';
import type { Action, NodeActivity, Observed, ObservedPod, Policy, PodRef, PowerState, WakeDriver, WakeRequest, WakeSource } from '../core/types.js';
import type { PowerDrivers } from '../drivers/index.js';
import { formatPowerAnnotations, parsePowerAnnotations, parsePowerRequest, POWER_ANNOTATIONS, toWakeRequest, type PowerAnnotations } from './annotations.js';
import { backoffDelay, INFORMER_BACKOFF, PROBE_BACKOFF, WAKE_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import { EVENT_REASONS, nodeEvent, type EventType } from './events.js';
import { LeaderElector } from './leader.js';
import type { Logger } from './log.js';
import { energySavedKwh, PowerMetrics } from './metrics.js';
import { localClaimResolver, nodeReady, observeNode, observePdb, observePod, type LocalClaimResolver } from './observe.js';
import { byNodeName, nodeStatus, type ControllerStatus, type NodeStatus } from './status.js';
import { NodeWorkQueue } from './queue.js';
import { errorMessage } from '../../errors.js';

export interface ControllerTuning {
  /** Periodic reconcile (idle timers, failed-node retries, energy accrual). */
  tickMs: number;
  /** Longest delay of a reconcile caused by routine events (bound pods, PDB status). */
  routineDelayMs: number;
  wakeBackoff: BackoffPolicy;
  probeBackoff: BackoffPolicy;
  /** Retries of a Kubernetes API call that failed with 5xx or a connection error. */
  apiBackoff: BackoffPolicy;
  apiRetries: number;
  /** How long evicted pods may take to leave the node. */
  drainTimeoutMs: number;
  /** How long after the suspend command TCP 22 must stop answering. */
  suspendConfirmMs: number;
  /** How long after TCP 22 went quiet the kubelet may take to report the Node not Ready (node-monitor-grace-period is 40-50 s). */
  notReadyTimeoutMs: number;
  /** Longest SSH check step inside one wake attempt. */
  sshStepMs: number;
  probeTimeoutMs: number;
  leaseName: string;
  leaseDurationSeconds: number;
  leaseRenewMs: number;
}

export const DEFAULT_TUNING: ControllerTuning = {
  tickMs: 10_000,
  routineDelayMs: 1_000,
  wakeBackoff: WAKE_BACKOFF,
  probeBackoff: PROBE_BACKOFF,
  apiBackoff: { initialMs: 200, factor: 2, maxMs: 5_000 },
  apiRetries: 6,
  drainTimeoutMs: 120_000,
  suspendConfirmMs: 60_000,
  notReadyTimeoutMs: SUSPEND_GRACE_SECONDS * 1000,
  sshStepMs: 30_000,
  probeTimeoutMs: 1_000,
  leaseName: 'vmstation-power-manager',
  leaseDurationSeconds: 15,
  leaseRenewMs: 5_000,
};

/** Where CPU and network activity per node come from (Prometheus), when configured. */
export interface ActivitySource {
  fetch(): Promise<Record<string, NodeActivity>>;
}

export interface ControllerDeps {
  cluster: Cluster;
  kube: KubeClient;
  drivers: PowerDrivers;
  clock: Clock;
  log: Logger;
  metrics?: PowerMetrics;
  /** This replica's name in the Lease (the pod name in the cluster). */
  identity: string;
  /** Namespace of the Lease. */
  namespace?: string;
  activity?: ActivitySource;
  tuning?: Partial<ControllerTuning>;
}

class StepFailure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

export class PowerController {
  readonly metrics: PowerMetrics;
  readonly leader: LeaderElector;
  readonly queue: NodeWorkQueue;
  private readonly policy: Policy;
  private readonly tuning: ControllerTuning;
  private readonly nodes;
  private readonly pods;
  private readonly pdbs;
  private readonly pvcs;
  private readonly pvs;
  private readonly localClaim: LocalClaimResolver;
  /** Pods with PVC volumes: re-observed when claims or volumes change. */
  private readonly podsWithClaims = new Map<string, V1Pod>();
  private readonly observedPods = new Map<string, ObservedPod>();
  private readonly firstSeen = new Map<string, number>();
  private readonly lastActivity = new Map<string, number>();
  private readonly energyAccountedTo = new Map<string, number>();
  private readonly inFlight = new Map<string, { kind: 'sleep' | 'wake'; startedAt: number; abort: AbortController }>();
  private readonly nodeWaiters = new Set<{ check: (n: V1Node | undefined) => boolean }>();
  private readonly podWaiters = new Set<{ check: () => boolean }>();
  private activity: Record<string, NodeActivity> = {};
  private readonly stop = new AbortController();
  private reconcileScheduled = false;
  private reconciling: Promise<void> | undefined;
  private reconcileAgain = false;
  private synced = false;
  private eventSeq = 0;
  private readonly background: Array<Promise<unknown>> = [];
  /** The last actions dispatched, newest last (tests and benchmarks read them; bounded). */
  readonly dispatched: Array<{ at: number; action: Action['kind']; node: string; source?: WakeSource }> = [];

  private recordDispatch(entry: { at: number; action: Action['kind']; node: string; source?: WakeSource }): void {
    this.dispatched.push(entry);
    if (this.dispatched.length > 1000) this.dispatched.splice(0, this.dispatched.length - 1000);
  }

  constructor(private readonly deps: ControllerDeps) {
    this.tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    this.policy = policyFromCluster(deps.cluster);
    this.metrics = deps.metrics ?? new PowerMetrics();
    this.queue = new NodeWorkQueue(() => deps.clock.now(), (job, err) => deps.log.error('job failed', { node: job.node, job: job.key, error: errorMessage(err) }));
    this.leader = new LeaderElector(deps.kube, {
      namespace: deps.namespace ?? deps.cluster.spec.power.controller.namespace,
      name: this.tuning.leaseName,
      identity: deps.identity,
      leaseDurationSeconds: this.tuning.leaseDurationSeconds,
      renewIntervalMs: this.tuning.leaseRenewMs,
      clock: deps.clock,
      log: deps.log,
      onChange: (leading) => {
        this.metrics.leader.set(leading ? 1 : 0);
        if (leading) this.scheduleReconcile();
        else for (const f of this.inFlight.values()) f.abort.abort(new Error('lost leadership'));
      },
    });
    this.nodes = deps.kube.nodeInformer();
    this.pods = deps.kube.podInformer();
    this.pdbs = deps.kube.pdbInformer();
    this.pvcs = deps.kube.pvcInformer();
    this.pvs = deps.kube.pvInformer();
    this.localClaim = localClaimResolver((ns, name) => this.pvcs.get(name, ns), (name) => this.pvs.get(name));
  }

  private get log(): Logger {
    return this.deps.log;
  }

  private now(): number {
    return this.deps.clock.now();
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async start(): Promise<void> {
    const { clock } = this.deps;
    const keep = (name: string, inf: CachedInformer<unknown>) =>
      keepInformerRunning(inf, {
        delay: (retry) => backoffDelay(INFORMER_BACKOFF, retry),
        sleep: (ms) => clock.sleep(ms, this.stop.signal),
        isStopped: () => this.stop.signal.aborted,
        onError: (err, retry, delayMs) => this.log.warn('watch failed; restarting', { informer: name, retry, delayMs, status: httpStatusOf(err), error: errorMessage(err) }),
      });
    this.nodes.on('add', (n) => this.onNode(n));
    this.nodes.on('update', (n) => this.onNode(n));
    this.nodes.on('delete', (n) => this.onNode(n));
    this.pods.on('add', (p) => this.onPod(p, false));
    this.pods.on('update', (p) => this.onPod(p, false));
    this.pods.on('delete', (p) => this.onPod(p, true));
    this.pdbs.on('change', () => this.scheduleReconcile(false));
    // A claim binding to a node-local volume changes whether its pods can move.
    const reobserve = () => {
      for (const [key, pod] of this.podsWithClaims) this.observedPods.set(key, observePod(pod, this.localClaim));
      this.scheduleReconcile(false);
    };
    this.pvcs.on('change', reobserve);
    this.pvs.on('change', reobserve);
    keep('nodes', this.nodes);
    keep('pods', this.pods);
    keep('poddisruptionbudgets', this.pdbs);
    keep('persistentvolumeclaims', this.pvcs);
    keep('persistentvolumes', this.pvs);
    // Claims and volumes first, so pods are observed with them.
    await Promise.all([this.pvcs.start(), this.pvs.start()]);
    await Promise.all([this.nodes.start(), this.pods.start(), this.pdbs.start()]);
    this.synced = true;
    this.log.info('informers synced', { nodes: this.nodes.list().length, pods: this.observedPods.size, pdbs: this.pdbs.list().length });
    for (const n of this.nodes.list()) {
      const name = n.metadata?.name ?? '';
      this.metrics.seedEnergy(name, parsePowerAnnotations(n.metadata?.annotations, this.now()).energySavedKwh);
    }
    this.background.push(this.leader.run(this.stop.signal), this.tickLoop());
    this.scheduleReconcile();
  }

  /** Stops acting, releases the Lease, stops the informers. Jobs in flight are aborted (and roll back). */
  async close(): Promise<void> {
    this.stop.abort(new Error('controller stopping'));
    clearTimeout(this.routineTimer);
    for (const f of this.inFlight.values()) f.abort.abort(new Error('controller stopping'));
    await Promise.allSettled(this.background);
    await this.queue.idle();
    await Promise.allSettled([this.nodes.stop(), this.pods.stop(), this.pdbs.stop(), this.pvcs.stop(), this.pvs.stop()]);
  }

  /** Stops at once without cleanup, as a crash would (tests: killed mid-drain). */
  async crash(): Promise<void> {
    this.stop.abort(new Error('crash'));
    clearTimeout(this.routineTimer);
    await Promise.allSettled([this.nodes.stop(), this.pods.stop(), this.pdbs.stop(), this.pvcs.stop(), this.pvs.stop()]);
  }

  private async tickLoop(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.deps.clock.sleep(this.tuning.tickMs, this.stop.signal);
      } catch {
        return;
      }
      if (this.deps.activity && this.leader.isLeader()) {
        try {
          this.activity = await this.deps.activity.fetch();
        } catch (err) {
          this.log.warn('activity query failed; deciding on pods only', { error: errorMessage(err) });
          this.activity = {};
        }
      }
      this.accrueEnergy();
      this.scheduleReconcile();
    }
  }

  // ---- informer callbacks ----------------------------------------------------------------------

  private onNode(node: V1Node): void {
    const name = node.metadata?.name ?? '';
    if (!this.firstSeen.has(name)) this.firstSeen.set(name, this.now());
    const rec = parsePowerAnnotations(node.metadata?.annotations, this.now());
    this.metrics.setState(name, rec.state);
    for (const w of this.nodeWaiters) w.check(node);
    this.scheduleReconcile();
  }

  private onPod(pod: V1Pod, deleted: boolean): void {
    const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    if (deleted) {
      this.observedPods.delete(key);
      this.podsWithClaims.delete(key);
    } else {
      this.observedPods.set(key, observePod(pod, this.localClaim));
      if (pod.spec?.volumes?.some((v) => v.persistentVolumeClaim)) this.podsWithClaims.set(key, pod);
    }
    for (const w of this.podWaiters) w.check();
    // A pod waiting for a node is urgent (it may need a wake); churn of bound pods is not.
    const waiting = !deleted && !pod.spec?.nodeName && (pod.status?.phase ?? 'Pending') === 'Pending';
    this.scheduleReconcile(waiting);
  }

  private routineTimer: NodeJS.Timeout | undefined;

  /**
   * Urgent: one reconcile on the next turn of the event loop (a burst of watch events coalesces).
   * Routine (bound pods changing, PDB status): at most one reconcile per `routineDelayMs`, so
   * churn in a large cluster cannot keep decide() busy and delay an urgent wake.
   */
  scheduleReconcile(urgent = true): void {
    if (!this.synced || this.stop.signal.aborted) return;
    if (!urgent) {
      this.routineTimer ??= setTimeout(() => {
        this.routineTimer = undefined;
        this.scheduleReconcile(true);
      }, this.tuning.routineDelayMs);
      return;
    }
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    if (this.reconcileScheduled) return;
    this.reconcileScheduled = true;
    if (this.routineTimer) {
      clearTimeout(this.routineTimer);
      this.routineTimer = undefined;
    }
    setImmediate(() => {
      this.reconcileScheduled = false;
      this.reconciling = this.reconcile()
        .catch((err: unknown) => this.log.error('reconcile failed', { error: errorMessage(err) }))
        .finally(() => {
          this.reconciling = undefined;
          if (this.reconcileAgain) {
            this.reconcileAgain = false;
            this.scheduleReconcile();
          }
        });
    });
  }

  // ---- observe and decide ----------------------------------------------------------------------

  observe(): Observed {
    const now = this.now();
    const list = this.nodeList();
    const nodes = list.map((n) => {
      const name = n.metadata?.name ?? '';
      return observeNode(n, this.firstSeen.get(name) ?? now, this.lastActivity.get(name));
    });
    const wakeRequests: WakeRequest[] = [];
    for (const n of list) {
      const r = parsePowerRequest(n.metadata?.annotations);
      const w = r && toWakeRequest(n.metadata?.name ?? '', r);
      if (w) wakeRequests.push(w);
    }
    return {
      nodes,
      pods: [...this.observedPods.values()],
      pdbs: this.pdbs.list().map(observePdb),
      activity: this.activity,
      wakeRequests,
      sleepRequests: [],
      inFlight: [...this.inFlight.entries()].map(([node, f]) => ({ node, kind: f.kind, startedAt: f.startedAt })),
    };
  }

  private async reconcile(): Promise<void> {
    if (!this.leader.isLeader()) return;
    const end = this.metrics.reconcile.startTimer();
    const observed = this.observe();
    const now = this.now();
    const decision = decide(observed, this.policy, now);
    for (const a of decision.active) this.lastActivity.set(a.node, now);
    for (const s of decision.skipped) this.log.debug('left alone', { node: s.node, reason: s.reason });
    for (const a of decision.actions) this.dispatch(a, observed);
    this.handleRequests(observed);
    end();
  }

  private dispatch(a: Action, observed: Observed): void {
    const source = a.kind === 'wake' ? a.source : undefined;
    const queued = (key: string, run: () => Promise<void>) => {
      // Wake and sleep jobs check leadership themselves (they must release their claim).
      const guarded = key === 'wake' || key === 'sleep' ? run : async () => (this.leader.isLeader() ? run() : undefined);
      if (this.queue.enqueue(a.node, key, guarded)) {
        this.recordDispatch({ at: this.now(), action: a.kind, node: a.node, ...(source ? { source } : {}) });
        this.log.info('action', { node: a.node, action: a.kind, reason: a.reason });
      }
    };
    switch (a.kind) {
      case 'wake':
      case 'retry-wake': {
        const request = observed.wakeRequests.find((r) => r.node === a.node);
        const claimed = this.claim(a.node, 'wake');
        if (!claimed) return;
        queued('wake', () => this.wakeJob(a.node, a.reason, a.kind === 'wake' ? a.source : 'schedule', a.attempt, a.drivers, request?.at, claimed));
        return;
      }
      case 'sleep': {
        const claimed = this.claim(a.node, 'sleep');
        if (!claimed) return;
        queued('sleep', () => this.sleepJob(a.node, a.reason, a.evict, claimed));
        return;
      }
      case 'cancel-sleep': {
        const f = this.inFlight.get(a.node);
        if (f?.kind === 'sleep') {
          f.abort.abort(new StepFailure('cancelled', a.reason));
          return;
        }
        queued('rollback', () => this.rollback(a.node, a.reason));
        return;
      }
      case 'uncordon':
        queued('uncordon', () => this.uncordon(a.node, a.reason));
        return;
      case 'mark-awake':
        queued('mark-awake', () => this.markAwake(a.node, a.reason));
        return;
      case 'mark-asleep':
        queued('mark-asleep', async () => {
          await this.transition(a.node, 'asleep', a.reason, {}, 'Normal', EVENT_REASONS.asleep);
        });
        return;
      case 'mark-failed':
        queued('mark-failed', () => this.markFailed(a.node, a.reason));
        return;
    }
  }

  /** Marks a transition in flight at dispatch time, so the next decide() counts it. */
  private claim(node: string, kind: 'sleep' | 'wake'): AbortController | undefined {
    if (this.inFlight.has(node)) return undefined;
    const abort = new AbortController();
    this.inFlight.set(node, { kind, startedAt: this.now(), abort });
    return abort;
  }

  private release(node: string): void {
    this.inFlight.delete(node);
    this.scheduleReconcile();
  }

  /** Sleep requests (CLI, API): checked against the safety rules, then run like an automatic sleep. */
  private handleRequests(observed: Observed): void {
    for (const n of this.nodeList()) {
      const name = n.metadata?.name ?? '';
      const req = parsePowerRequest(n.metadata?.annotations);
      if (!req) continue;
      const rec = parsePowerAnnotations(n.metadata?.annotations, this.now());
      if (req.action === 'wake') {
        // Satisfied already: drop it so it does not count as activity forever.
        if (rec.state === 'awake' && nodeReady(n) && !this.inFlight.has(name)) void this.clearRequest(name);
        // Recorded awake but not Ready (switched off by hand, or never managed): a person asked, so wake it.
        else if (rec.state === 'awake' && !nodeReady(n) && !this.inFlight.has(name) && !this.queue.isBusy(name)) {
          const drivers = this.policy.nodes[name]?.usableDrivers ?? [];
          const claimed = drivers.length > 0 ? this.claim(name, 'wake') : undefined;
          if (claimed) {
            if (this.queue.enqueue(name, 'wake', () => this.wakeJob(name, `${req.source} wake request: ${req.reason} (node not Ready)`, req.source, 1, drivers, req.at, claimed)))
              this.recordDispatch({ at: this.now(), action: 'wake', node: name, source: req.source });
            else this.inFlight.delete(name);
          }
        }
        continue;
      }
      if (this.inFlight.has(name) || this.queue.isBusy(name)) continue;
      void this.clearRequest(name);
      const on = observed.nodes.find((o) => o.name === name);
      if (!on) continue;
      if (rec.state !== 'awake') {
        this.emit(n, 'Warning', EVENT_REASONS.sleepRefused, `sleep request refused: node is ${rec.state}`);
        continue;
      }
      const podsOn = observed.pods.filter((p) => p.nodeName === name);
      // A manual request overrides autoSleep: false, never the other rules.
      const blockers = sleepBlockers({ node: on, policy: this.policy.nodes[name], podsOnNode: podsOn, pdbs: observed.pdbs }).filter((b) => b !== 'autoSleep is false');
      if (blockers.length > 0) {
        this.emit(n, 'Warning', EVENT_REASONS.sleepRefused, `sleep request refused: ${blockers.join('; ')}`);
        this.log.warn('sleep request refused', { node: name, reasons: blockers });
        continue;
      }
      const claimed = this.claim(name, 'sleep');
      if (!claimed) continue;
      const evict = podsToEvict(podsOn).map((p) => ({ namespace: p.namespace, name: p.name }));
      if (this.queue.enqueue(name, 'sleep', () => this.sleepJob(name, `${req.source} request: ${req.reason}`, evict, claimed))) {
        this.recordDispatch({ at: this.now(), action: 'sleep', node: name });
        this.log.info('action', { node: name, action: 'sleep', reason: `${req.source} request: ${req.reason}` });
      }
    }
  }

  private async clearRequest(node: string): Promise<void> {
    await this.withApiRetry(`clear request on ${node}`, () => this.deps.kube.patchNode(node, { metadata: { annotations: { [POWER_ANNOTATIONS.request]: null } } }))
      .then((n) => this.remember(n))
      .catch((err: unknown) =>
      this.log.warn('could not clear the power request', { node, error: errorMessage(err) }),
    );
  }

  // ---- transitions -------------------------------------------------------------------------------

  /** Nodes as last written by this controller, until the watch catches up (no double transitions). */
  private readonly written = new Map<string, V1Node>();

  private fresher(informed: V1Node | undefined, name: string): V1Node | undefined {
    const mine = this.written.get(name);
    if (!mine) return informed;
    const rv = (n: V1Node | undefined) => Number(n?.metadata?.resourceVersion ?? NaN);
    if (informed && !(rv(mine) > rv(informed))) {
      this.written.delete(name);
      return informed;
    }
    return mine;
  }

  private node(name: string): V1Node | undefined {
    return this.fresher(this.nodes.get(name), name);
  }

  private nodeList(): V1Node[] {
    return this.nodes.list().map((n) => this.fresher(n, n.metadata?.name ?? '') ?? n);
  }

  private remember(node: V1Node): V1Node {
    if (node.metadata?.name) this.written.set(node.metadata.name, node);
    return node;
  }

  private record(name: string): PowerAnnotations {
    return parsePowerAnnotations(this.node(name)?.metadata?.annotations, this.firstSeen.get(name) ?? this.now());
  }

  /** Retries a Kubernetes call on 5xx / connection errors with capped backoff; 4xx are final. */
  private async withApiRetry<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await call();
      } catch (err) {
        const status = httpStatusOf(err);
        const retriable = status === undefined || status >= 500 || status === 429;
        if (!retriable || retry >= this.tuning.apiRetries) throw err;
        const ms = backoffDelay(this.tuning.apiBackoff, retry + 1);
        this.log.warn('API call failed; retrying', { what, status, retry: retry + 1, delayMs: ms, error: errorMessage(err) });
        this.metrics.failures.inc({ node: what.split(' ').pop() ?? '', kind: 'api' });
        await this.deps.clock.sleep(ms);
      }
    }
  }

  /** Adds the energy a sleeping node saved since it was last counted. */
  private accrueEnergy(): void {
    const now = this.now();
    for (const n of this.nodeList()) {
      const name = n.metadata?.name ?? '';
      const rec = parsePowerAnnotations(n.metadata?.annotations, now);
      if (rec.state !== 'asleep') {
        this.energyAccountedTo.delete(name);
        continue;
      }
      const from = Math.max(rec.since, this.energyAccountedTo.get(name) ?? rec.since);
      const kwh = energySavedKwh(this.policy.nodes[name]?.watts, now - from);
      if (kwh > 0) this.metrics.energySaved.inc({ node: name }, kwh);
      this.energyAccountedTo.set(name, now);
    }
  }

  /** kWh saved by the node's current sleep, up to now (not yet in the annotation). */
  private pendingEnergy(name: string, rec: PowerAnnotations, now: number): number {
    if (rec.state !== 'asleep') return 0;
    return energySavedKwh(this.policy.nodes[name]?.watts, now - rec.since);
  }

  /**
   * Records a new state in the Node's annotations (with optional cordon change), emits the Event,
   * counts the transition and logs it.
   */
  private async transition(
    name: string,
    to: PowerState,
    reason: string,
    extra: Partial<PowerAnnotations> & { unschedulable?: boolean },
    eventType: EventType,
    eventReason: string,
  ): Promise<PowerAnnotations> {
    const now = this.now();
    const prev = this.record(name);
    const { unschedulable, ...fields } = extra;
    let energy = prev.energySavedKwh;
    if (prev.state === 'asleep' && to !== 'asleep') {
      // The counter has what accrueEnergy added up to `countedUpTo`; add the rest. The annotation gets the whole sleep.
      const watts = this.policy.nodes[name]?.watts;
      const countedUpTo = Math.max(prev.since, this.energyAccountedTo.get(name) ?? prev.since);
      const rest = energySavedKwh(watts, now - countedUpTo);
      if (rest > 0) this.metrics.energySaved.inc({ node: name }, rest);
      this.energyAccountedTo.delete(name);
      energy += energySavedKwh(watts, now - prev.since);
    }
    const next: PowerAnnotations = { ...prev, state: to, since: now, reason, energySavedKwh: energy, ...fields };
    const patch: { metadata: { annotations: Record<string, string | null> }; spec?: { unschedulable: boolean | null } } = { metadata: { annotations: formatPowerAnnotations(next) } };
    if (unschedulable !== undefined) patch.spec = { unschedulable: unschedulable ? true : null };
    const updated = this.remember(await this.withApiRetry(`patch ${name}`, () => this.deps.kube.patchNode(name, patch)));
    if (prev.state !== to) this.metrics.transitions.inc({ node: name, from: prev.state, to });
    this.metrics.setState(name, to);
    this.log.info('power transition', { node: name, from: prev.state, to, reason });
    this.emit(updated, eventType, eventReason, `${prev.state} -> ${to}: ${reason}`);
    return next;
  }

  private emit(node: V1Node, type: EventType, reason: string, message: string): void {
    const ev = nodeEvent({ node: node as V1Node & { metadata: { name: string } }, type, reason, message, now: this.now(), instance: this.deps.identity, seq: this.eventSeq++ });
    void this.withApiRetry(`event ${node.metadata?.name ?? ''}`, () => this.deps.kube.createEvent(ev)).catch((err: unknown) => {
      this.metrics.failures.inc({ node: node.metadata?.name ?? '', kind: 'event' });
      this.log.warn('could not record the event', { node: node.metadata?.name, reason, error: errorMessage(err) });
    });
  }

  private async uncordon(name: string, reason: string): Promise<void> {
    const rec = this.record(name);
    if (!rec.cordonedByPowerManager) return;
    this.remember(
      await this.withApiRetry(`uncordon ${name}`, () =>
        this.deps.kube.patchNode(name, { spec: { unschedulable: null }, metadata: { annotations: { [POWER_ANNOTATIONS.cordoned]: null, [POWER_ANNOTATIONS.reason]: reason } } }),
      ),
    );
    const n = this.node(name);
    if (n) this.emit(n, 'Normal', EVENT_REASONS.uncordoned, reason);
    this.log.info('uncordoned', { node: name, reason });
  }

  private async markAwake(name: string, reason: string): Promise<void> {
    const prev = this.record(name);
    const latency = prev.state === 'waking' && prev.wakeTriggeredAt !== undefined ? (this.now() - prev.wakeTriggeredAt) / 1000 : undefined;
    if (latency !== undefined) this.metrics.wakeLatency.observe({ node: name }, latency);
    await this.transition(
      name,
      'awake',
      reason,
      { attempts: 0, cordonedByPowerManager: false, wakeTriggeredAt: undefined, ...(latency !== undefined ? { lastWakeLatencySeconds: latency } : {}), ...(prev.cordonedByPowerManager ? { unschedulable: false } : {}) },
      'Normal',
      EVENT_REASONS.awake,
    );
  }

  private async markFailed(name: string, reason: string): Promise<void> {
    this.metrics.failures.inc({ node: name, kind: 'wake' });
    await this.transition(name, 'failed', reason, { wakeTriggeredAt: undefined }, 'Warning', EVENT_REASONS.failed);
  }

  /** Back to awake from an interrupted or failed sleep: uncordon if we cordoned. */
  private async rollback(name: string, reason: string): Promise<void> {
    const prev = this.record(name);
    await this.transition(name, 'awake', reason, { attempts: 0, cordonedByPowerManager: false, ...(prev.cordonedByPowerManager ? { unschedulable: false } : {}) }, 'Warning', EVENT_REASONS.sleepAborted);
  }

  // ---- waiting on the cluster ---------------------------------------------------------------------

  /** Resolves true when `check` holds for the node (checked now and on every watch event), false at the deadline. */
  private waitForNode(name: string, check: (n: V1Node | undefined) => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (check(this.node(name))) return Promise.resolve(true);
    return this.waitOn(this.nodeWaiters, (n: V1Node | undefined) => (n?.metadata?.name ?? name) === name && check(n), timeoutMs, signal);
  }

  private waitForPods(check: () => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return this.waitOn(this.podWaiters, check, timeoutMs, signal);
  }

  /** Registers a waiter the watch handlers call; true once it holds, false at the deadline, rejects on abort. */
  private waitOn<A extends unknown[]>(waiters: Set<{ check: (...args: A) => boolean }>, holds: (...args: A) => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const timer = new AbortController();
      const waiter = {
        check: (...args: A) => {
          if (!holds(...args)) return false;
          done();
          resolve(true);
          return true;
        },
      };
      const done = () => {
        waiters.delete(waiter);
        timer.abort();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiters.add(waiter);
      this.deps.clock.sleep(timeoutMs, timer.signal).then(
        () => {
          done();
          resolve(false);
        },
        () => undefined,
      );
    });
  }

  /** Polls `probe` with capped backoff until it succeeds or the deadline passes. */
  private async poll(probe: () => Promise<boolean>, deadline: number, signal: AbortSignal): Promise<boolean> {
    for (let retry = 1; ; retry++) {
      if (signal.aborted) throw signal.reason as Error;
      if (await probe()) return true;
      const left = deadline - this.now();
      if (left <= 0) return false;
      await this.deps.clock.sleep(Math.min(left, backoffDelay(this.tuning.probeBackoff, retry)), signal);
    }
  }

  // ---- wake path ----------------------------------------------------------------------------------

  private async sendDriver(name: string, driver: WakeDriver): Promise<void> {
    if (driver === 'wol') await this.deps.drivers.wakeOnLan(name);
    else await this.deps.drivers.ipmiPowerOn(name);
  }

  /**
   * One wake attempt: each driver in order until TCP 22 answers, then an SSH command, then kubelet
   * Ready. The whole attempt is bounded by wakeTimeout; a driver with a fallback after it gets
   * twice the node's bootSeconds before the fallback is tried.
   */
  private async wakeAttempt(name: string, drivers: readonly WakeDriver[], signal: AbortSignal, recorded: Promise<unknown> = Promise.resolve()): Promise<void> {
    const start = this.now();
    const attemptDeadline = start + this.policy.wakeTimeoutSeconds * 1000;
    const boot = (this.policy.nodes[name]?.bootSeconds ?? 60) * 1000;
    const probeMs = this.tuning.probeTimeoutMs;
    let reachable = false;
    const tried: string[] = [];
    for (const [i, driver] of drivers.entries()) {
      try {
        await this.sendDriver(name, driver);
        tried.push(driver);
        this.log.info('wake sent', { node: name, driver });
      } catch (err) {
        tried.push(`${driver} (failed: ${errorMessage(err)})`);
        this.metrics.failures.inc({ node: name, kind: driver });
        this.log.warn('wake driver failed', { node: name, driver, error: errorMessage(err) });
        continue;
      }
      // The `waking` record is written while the first packets fly; it must be stored before waiting.
      await recorded;
      const isLast = i === drivers.length - 1;
      const deadline = isLast ? attemptDeadline : Math.min(attemptDeadline, this.now() + 2 * boot);
      reachable = await this.poll(() => this.deps.drivers.reachable(name, probeMs), deadline, signal);
      if (reachable) break;
    }
    await recorded;
    if (!reachable) throw new StepFailure('unreachable', `TCP ${this.sshPort(name)} did not answer after ${tried.join(', then ')}`);
    let sshError = '';
    const sshOk = await this.poll(
      async () => {
        try {
          await this.deps.drivers.sshCheck(name, Math.max(1000, Math.min(10_000, attemptDeadline - this.now())));
          return true;
        } catch (err) {
          sshError = errorMessage(err);
          return false;
        }
      },
      Math.min(attemptDeadline, this.now() + this.tuning.sshStepMs),
      signal,
    );
    if (!sshOk) throw new StepFailure('ssh', `TCP ${this.sshPort(name)} answers but SSH fails: ${sshError}`);
    const ready = await this.waitForNode(name, (n) => n !== undefined && nodeReady(n), Math.max(0, attemptDeadline - this.now()), signal);
    if (!ready) throw new StepFailure('not-ready', 'SSH works but kubelet did not report the Node Ready');
  }

  private sshPort(name: string): number {
    return this.deps.cluster.spec.nodes.find((n) => n.name === name)?.ssh.port ?? 22;
  }

  private async wakeJob(name: string, reason: string, source: WakeSource, firstAttempt: number, drivers: readonly WakeDriver[], requestedAt: number | undefined, abort: AbortController): Promise<void> {
    try {
      if (!this.leader.isLeader()) return;
      if (parsePowerRequest(this.node(name)?.metadata?.annotations)?.action === 'wake') await this.clearRequest(name);
      const prev = this.record(name);
      const triggeredAt = prev.state === 'waking' && prev.wakeTriggeredAt !== undefined ? prev.wakeTriggeredAt : (requestedAt ?? this.now());
      const attempts = this.policy.wakeAttempts;
      let lastError = '';
      for (let attempt = firstAttempt; attempt <= attempts; attempt++) {
        if (attempt > firstAttempt) await this.deps.clock.sleep(backoffDelay(this.tuning.wakeBackoff, attempt - firstAttempt), abort.signal);
        // Recorded in parallel with the first driver: a pending pod's wake costs no extra round trip.
        const recorded = this.transition(name, 'waking', `${reason} (attempt ${attempt} of ${attempts}${lastError ? `; last: ${lastError}` : ''})`, { attempts: attempt, wakeTriggeredAt: triggeredAt }, 'Normal', EVENT_REASONS.waking);
        recorded.catch(() => undefined);
        try {
          await this.wakeAttempt(name, drivers, abort.signal, recorded);
        } catch (err) {
          if (!(err instanceof StepFailure)) throw err;
          lastError = err.message;
          this.metrics.failures.inc({ node: name, kind: `wake-${err.kind}` });
          this.log.warn('wake attempt failed', { node: name, attempt, of: attempts, kind: err.kind, error: err.message });
          continue;
        }
        const latency = (this.now() - triggeredAt) / 1000;
        this.metrics.wakeLatency.observe({ node: name }, latency);
        const rec = this.record(name);
        await this.transition(
          name,
          'awake',
          `woken (${source}): Ready ${latency.toFixed(1)} s after the trigger, attempt ${attempt}`,
          { attempts: 0, wakeTriggeredAt: undefined, lastWakeLatencySeconds: latency, cordonedByPowerManager: false, ...(rec.cordonedByPowerManager ? { unschedulable: false } : {}) },
          'Normal',
          EVENT_REASONS.awake,
        );
        return;
      }
      await this.markFailed(name, `not Ready after ${attempts} wake attempt${attempts === 1 ? '' : 's'} (${lastError}); retrying every ${this.deps.cluster.spec.power.retryFailedAfter}`);
    } catch (err) {
      // Aborted (leadership lost, stopping): the record stays `waking`; the next leader resumes it.
      this.log.warn('wake interrupted', { node: name, error: errorMessage(err) });
    } finally {
      this.release(name);
    }
  }

  // ---- sleep path ---------------------------------------------------------------------------------

  private podsOn(name: string): ObservedPod[] {
    return [...this.observedPods.values()].filter((p) => p.nodeName === name);
  }

  private async evictAll(name: string, refs: readonly PodRef[], signal: AbortSignal): Promise<void> {
    for (const ref of refs) {
      if (signal.aborted) throw signal.reason as Error;
      for (let retry = 0; ; retry++) {
        const r = await this.deps.kube.evictPod(ref.namespace, ref.name);
        if (r.outcome === 'evicted' || r.outcome === 'gone') break;
        if (r.outcome === 'blocked') {
          this.metrics.failures.inc({ node: name, kind: 'evict' });
          throw new StepFailure('pdb', `eviction of ${podKey(ref)} refused (429): ${r.message}`);
        }
        if (r.status !== undefined && r.status < 500) throw new StepFailure('evict', `eviction of ${podKey(ref)} failed: HTTP ${r.status} ${r.message}`);
        if (retry >= this.tuning.apiRetries) throw new StepFailure('evict', `eviction of ${podKey(ref)} kept failing: ${r.message}`);
        const ms = backoffDelay(this.tuning.apiBackoff, retry + 1);
        this.log.warn('eviction failed; retrying', { node: name, pod: podKey(ref), status: r.status, retry: retry + 1, delayMs: ms, error: r.message });
        await this.deps.clock.sleep(ms, signal);
      }
    }
  }

  private async sleepJob(name: string, reason: string, evict: readonly PodRef[], abort: AbortController): Promise<void> {
    const signal = abort.signal;
    let started = false;
    let suspendSent = false;
    try {
      if (!this.leader.isLeader()) return;
      const node = this.node(name);
      if (!node) return;
      const alreadyCordoned = node.spec?.unschedulable === true;
      started = true;
      // Cordon and record draining in one write: a crash after it is rolled back by decide().
      await this.transition(name, 'draining', reason, { attempts: 0, ...(alreadyCordoned ? {} : { cordonedByPowerManager: true, unschedulable: true }) }, 'Normal', EVENT_REASONS.draining);
      // Pods that landed between decide() and the cordon are evicted too.
      const keys = new Map<string, PodRef>();
      for (const r of [...evict, ...podsToEvict(this.podsOn(name))]) keys.set(podKey(r), { namespace: r.namespace, name: r.name });
      const refs = [...keys.values()].sort((a, b) => (podKey(a) < podKey(b) ? -1 : 1));
      await this.evictAll(name, refs, signal);
      const gone = await this.waitForPods(() => refs.every((r) => this.observedPods.get(podKey(r))?.nodeName !== name), this.tuning.drainTimeoutMs, signal);
      if (!gone) throw new StepFailure('drain-timeout', `evicted pods still on the node after ${this.tuning.drainTimeoutMs / 1000} s`);
      if (signal.aborted) throw signal.reason as Error;
      await this.transition(name, 'suspending', `drained ${refs.length} pod${refs.length === 1 ? '' : 's'}; suspending over SSH`, {}, 'Normal', EVENT_REASONS.suspending);
      // Past the point of no return: once the suspend command may have run, a cancel (a pod
      // needing the node again) must not record it awake; it is woken once asleep instead.
      suspendSent = true;
      try {
        await this.deps.drivers.suspend(name);
      } catch (err) {
        throw new StepFailure('suspend', `suspend command failed: ${errorMessage(err)}`);
      }
      const quiet = await this.poll(async () => !(await this.deps.drivers.reachable(name, this.tuning.probeTimeoutMs)), this.now() + this.tuning.suspendConfirmMs, new AbortController().signal);
      if (!quiet) throw new StepFailure('suspend', `TCP ${this.sshPort(name)} still answers ${this.tuning.suspendConfirmMs / 1000} s after the suspend command`);
      // Asleep once Kubernetes agrees: a node still reported Ready would look woken by hand.
      const notReady = await this.waitForNode(name, (n) => n !== undefined && !nodeReady(n), this.tuning.notReadyTimeoutMs, this.stop.signal);
      if (!notReady) throw new StepFailure('suspend', `TCP ${this.sshPort(name)} is quiet but the Node is still Ready ${this.tuning.notReadyTimeoutMs / 1000} s after the suspend command`);
      await this.transition(name, 'asleep', `suspended: ${reason}`, {}, 'Normal', EVENT_REASONS.asleep);
      this.energyAccountedTo.set(name, this.now());
    } catch (err) {
      if (!started) return;
      const why = errorMessage(signal.aborted && !suspendSent && signal.reason instanceof Error ? signal.reason : err);
      const kind = err instanceof StepFailure ? err.kind : signal.aborted ? 'cancelled' : 'error';
      if (kind !== 'cancelled') this.metrics.failures.inc({ node: name, kind: 'sleep' });
      this.log.warn('sleep aborted; rolling back', { node: name, kind, error: why });
      if (this.stop.signal.aborted) return; // stopping: the next leader rolls back (decide: draining without a sleep in flight)
      try {
        await this.rollback(name, `sleep aborted: ${why}`);
      } catch (e) {
        this.log.error('rollback failed; the next reconcile retries it', { node: name, error: errorMessage(e) });
      }
    } finally {
      this.release(name);
    }
  }

  // ---- status ---------------------------------------------------------------------------------------

  status(): ControllerStatus {
    const now = this.now();
    const nodes = this.nodeList()
      .map((n): NodeStatus => {
        const name = n.metadata?.name ?? '';
        const rec = parsePowerAnnotations(n.metadata?.annotations, this.firstSeen.get(name) ?? now);
        return {
          ...nodeStatus(n, rec),
          energySavedKwh: Math.round((rec.energySavedKwh + this.pendingEnergy(name, rec, now)) * 1e6) / 1e6,
          inFlight: this.inFlight.get(name)?.kind,
        };
      })
      .sort(byNodeName);
    return { identity: this.deps.identity, leader: this.leader.isLeader(), synced: this.synced, nodes };
  }

  /** Whether the node is recorded awake and its kubelet reports Ready (the wake gateway asks). */
  nodeAwake(name: string): boolean {
    const n = this.nodes.get(name);
    if (!n) return false;
    return parsePowerAnnotations(n.metadata?.annotations, this.now()).state === 'awake' && nodeReady(n);
  }

  isSynced(): boolean {
    return this.synced;
  }
}
