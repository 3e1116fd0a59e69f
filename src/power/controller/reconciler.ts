// The reconciler: observe -> decide -> dispatch. It runs decide() when the cluster changes (at once
// for urgent changes, at most once per routineDelayMs for routine ones) and on a periodic tick,
// then hands every action to a per-node serial work queue: sleeps and wakes to their executors,
// the rest as single recorded steps. It clears the requests decide() settled (with a Warning Event
// for a refusal) and reports the inputs that could not be used. Only the Lease holder acts.
import { errorMessage } from '../../errors.js';
import { decide } from '../core/decide.js';
import { instantStep } from '../core/lifecycle.js';
import type { Action, GatewaySessions, InFlightTransition, NodeActivity, Observed, Policy, RequestOutcome, TransitionKind, WakeSource } from '../core/types.js';
import { parsePowerAnnotations, POWER_ANNOTATIONS } from './annotations.js';
import type { BadInputReporter } from './bad-inputs.js';
import type { HoldReporter } from './hold-reporter.js';
import type { Clock } from './clock.js';
import type { ClusterView } from './cluster-view.js';
import { EVENT_REASONS } from './events.js';
import type { EnergyLedger } from './ledger.js';
import type { Logger } from './log.js';
import type { PowerMetrics } from './metrics.js';
import { NodeWorkQueue } from './queue.js';
import type { NodeRecorder } from './recorder.js';
import type { SleepExecutor } from './sleep-executor.js';
import { StepFailure } from './steps.js';
import type { DemandLearner } from './demand-learner.js';
import type { ControllerTuning } from './tuning.js';
import type { WakeExecutor } from './wake-executor.js';

/** Where CPU and network activity per node come from (Prometheus), when configured. */
export interface ActivitySource {
  fetch(): Promise<Record<string, NodeActivity>>;
}

export interface ReconcilerDeps {
  view: ClusterView;
  policy: Policy;
  recorder: NodeRecorder;
  sleeper: SleepExecutor;
  waker: WakeExecutor;
  ledger: EnergyLedger;
  badInputs: BadInputReporter;
  holds: HoldReporter;
  leader: { isLeader(): boolean };
  clock: Clock;
  log: Logger;
  metrics: PowerMetrics;
  tuning: ControllerTuning;
  activity?: ActivitySource | undefined;
  /** Sessions through this process's wake gateway (decide() reads them; works without Prometheus). */
  sessions?: (() => GatewaySessions[] | undefined) | undefined;
  /** The demand profile for predictive wake: fed before decide(), told what decide() predicted. */
  learner?: DemandLearner | undefined;
}

export interface DispatchRecord {
  at: number;
  action: Action['kind'];
  node: string;
  source?: WakeSource;
}

interface Flight {
  kind: TransitionKind;
  startedAt: number;
  abort: AbortController;
}

const MAX_DISPATCHED = 1000;

export class Reconciler {
  readonly queue: NodeWorkQueue;
  /** The last actions dispatched, newest last (tests and benchmarks read them; bounded). */
  readonly dispatched: DispatchRecord[] = [];
  private readonly inFlight = new Map<string, Flight>();
  /** Requests being cleared (node -> raw annotation), so one is not acted on twice before the watch catches up. */
  private readonly pendingClear = new Map<string, string>();
  private activity: Record<string, NodeActivity> = {};
  private readonly stopping = new AbortController();
  private scheduled = false;
  private running: Promise<void> | undefined;
  private again = false;
  private routine: AbortController | undefined;

  constructor(private readonly deps: ReconcilerDeps) {
    this.queue = new NodeWorkQueue(
      () => deps.clock.now(),
      (job, err) => deps.log.error('job failed', { node: job.node, job: job.key, error: errorMessage(err) }),
    );
  }

  /**
   * Urgent: one reconcile on the next turn of the event loop (a burst of watch events coalesces).
   * Routine (bound pods changing, PDB status): at most one reconcile per `routineDelayMs`, so
   * churn in a large cluster cannot keep decide() busy and delay an urgent wake.
   */
  schedule(urgent = true): void {
    if (!this.deps.view.isSynced() || this.stopping.signal.aborted) return;
    if (!urgent) return this.scheduleRoutine();
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    this.routine?.abort();
    this.routine = undefined;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.reconcile()
        .catch((err: unknown) => this.deps.log.error('reconcile failed', { error: errorMessage(err) }))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
    });
  }

  private scheduleRoutine(): void {
    if (this.routine) return;
    const routine = new AbortController();
    this.routine = routine;
    this.deps.clock.sleep(this.deps.tuning.routineDelayMs, routine.signal).then(
      () => {
        if (this.routine !== routine) return;
        this.routine = undefined;
        this.schedule(true);
      },
      () => undefined,
    );
  }

  private inFlightList(): InFlightTransition[] {
    return [...this.inFlight.entries()].map(([node, f]) => ({ node, kind: f.kind, startedAt: f.startedAt }));
  }

  inFlightKind(node: string): TransitionKind | undefined {
    return this.inFlight.get(node)?.kind;
  }

  private async reconcile(): Promise<void> {
    const { view, policy, clock, log, metrics } = this.deps;
    if (!this.deps.leader.isLeader()) return;
    const end = metrics.reconcile.startTimer();
    const now = clock.now();
    const seen = view.observe(now, this.activity, this.inFlightList(), this.pendingClear);
    const learner = this.deps.learner;
    learner?.observe(seen.pods, now);
    const observed: Observed = { ...seen, sessions: this.deps.sessions?.(), demandProfile: learner?.current() };
    const decision = decide(observed, policy, now);
    learner?.afterDecision(decision, now);
    view.markActive(
      decision.active.map((a) => a.node),
      now,
    );
    for (const s of decision.skipped) log.debug('left alone', { node: s.node, reason: s.reason });
    for (const a of decision.actions) this.dispatch(a, observed);
    this.settle(decision.requests);
    this.deps.badInputs.report([...view.problems(), ...decision.problems]);
    this.deps.holds.report(new Map(observed.nodes.map((n) => [n.name, n.holds ?? []])), now);
    end();
  }

  /** Marks a transition in flight at dispatch time, so the next decide() counts it. */
  private claim(node: string, kind: TransitionKind): AbortController | undefined {
    if (this.inFlight.has(node)) return undefined;
    const abort = new AbortController();
    this.inFlight.set(node, { kind, startedAt: this.deps.clock.now(), abort });
    return abort;
  }

  private release(node: string): void {
    this.inFlight.delete(node);
    this.schedule();
  }

  private enqueue(a: Action, key: string, run: () => Promise<void>): boolean {
    if (!this.queue.enqueue(a.node, key, run)) return false;
    this.dispatched.push({ at: this.deps.clock.now(), action: a.kind, node: a.node, ...(a.kind === 'wake' ? { source: a.source } : {}) });
    if (this.dispatched.length > MAX_DISPATCHED) this.dispatched.splice(0, this.dispatched.length - MAX_DISPATCHED);
    this.deps.log.info('action', { node: a.node, action: a.kind, reason: a.reason });
    return true;
  }

  /** A sleep or wake job: claimed now, run by its executor on the node's queue, released when it ends. */
  private startJob(a: Action, kind: TransitionKind, run: (signal: AbortSignal) => Promise<void>): void {
    const abort = this.claim(a.node, kind);
    if (!abort) return;
    const job = async () => {
      try {
        if (this.deps.leader.isLeader()) await run(abort.signal);
      } finally {
        this.release(a.node);
      }
    };
    if (!this.enqueue(a, kind, job)) this.inFlight.delete(a.node);
  }

  private dispatch(a: Action, observed: Observed): void {
    const { sleeper, waker, recorder, leader } = this.deps;
    if (a.kind === 'cancel-sleep') {
      const f = this.inFlight.get(a.node);
      // A drain in progress is stopped; its executor rolls back.
      if (f?.kind === 'sleep') return void f.abort.abort(new StepFailure('cancelled', a.reason));
    }
    const step = instantStep(a);
    if (step) {
      this.enqueue(a, a.kind === 'cancel-sleep' ? 'rollback' : a.kind, async () => {
        if (leader.isLeader()) await recorder.record(a.node, step);
      });
      return;
    }
    if (a.kind === 'sleep') return this.startJob(a, 'sleep', (signal) => sleeper.run({ node: a.node, reason: a.reason, evict: a.evict, signal }));
    if (a.kind === 'wake' || a.kind === 'retry-wake') {
      const requestedAt = observed.wakeRequests.find((r) => r.node === a.node)?.at;
      this.startJob(a, 'wake', (signal) => waker.run({ node: a.node, reason: a.reason, source: a.source, firstAttempt: a.attempt, drivers: a.drivers, requestedAt, signal }));
    }
  }

  /** Clears each request decide() settled; a refusal also gets a Warning Event. */
  private settle(outcomes: readonly RequestOutcome[]): void {
    const { view, recorder, log } = this.deps;
    for (const o of outcomes) {
      const raw = view.node(o.node)?.metadata?.annotations?.[POWER_ANNOTATIONS.request];
      if (!raw || this.pendingClear.get(o.node) === raw) continue;
      if (o.outcome === 'refused') {
        recorder.emit(o.node, 'Warning', EVENT_REASONS.sleepRefused, `${o.action} request refused: ${o.reason}`);
        log.warn(`${o.action} request refused`, { node: o.node, reason: o.reason });
      }
      this.pendingClear.set(o.node, raw);
      recorder
        .clearRequest(o.node)
        .catch((err: unknown) => log.warn('could not clear the power request', { node: o.node, error: errorMessage(err) }))
        .finally(() => {
          if (this.pendingClear.get(o.node) === raw) this.pendingClear.delete(o.node);
        });
    }
  }

  /** Periodic: activity from Prometheus, the energy ledger, and a reconcile for timers decide() reads. */
  async tickLoop(): Promise<void> {
    const { clock, tuning, activity, leader, log, view, ledger } = this.deps;
    while (!this.stopping.signal.aborted) {
      try {
        await clock.sleep(tuning.tickMs, this.stopping.signal);
      } catch {
        return;
      }
      if (activity && leader.isLeader()) {
        try {
          this.activity = await activity.fetch();
        } catch (err) {
          log.warn('activity query failed; deciding on pods only', { error: errorMessage(err) });
          this.activity = {};
        }
      }
      const now = clock.now();
      ledger.accrue(
        view.nodeList().map((n) => ({ name: n.metadata?.name ?? '', record: parsePowerAnnotations(n.metadata?.annotations, now) })),
        now,
      );
      this.schedule();
      // Never throws: a failed write is a warning and retried at the next tick.
      if (leader.isLeader()) void this.deps.learner?.save();
    }
  }

  /** Aborts every job in flight (leadership lost, stopping): sleeps roll back, wakes stay `waking` for the next leader. */
  abortAll(reason: string): void {
    for (const f of this.inFlight.values()) f.abort.abort(new Error(reason));
  }

  /** Stops scheduling and aborts the jobs; resolves once the queue is idle. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('controller stopping'));
    this.routine?.abort();
    this.abortAll('controller stopping');
    await this.running;
    await this.queue.idle();
  }
}
