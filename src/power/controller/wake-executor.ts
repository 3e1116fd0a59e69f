// Carries out a `wake` or `retry-wake` action: attempts, each a sequence of named steps over the
// ports (drivers, Kubernetes, clock): record waking and send the drivers in order until TCP 22
// answers, an SSH command, kubelet Ready; then uncordon and record awake with the latency. Between
// attempts it backs off exponentially; after the last one the node is recorded failed.
import { errorMessage } from '../../errors.js';
import type { Policy, WakeDriver, WakeSource } from '../core/types.js';
import type { PowerDrivers } from '../drivers/index.js';
import { parsePowerRequest } from './annotations.js';
import { backoffDelay } from './backoff.js';
import type { Clock } from './clock.js';
import type { ClusterView } from './cluster-view.js';
import type { Logger } from './log.js';
import type { PowerMetrics } from './metrics.js';
import { nodeReady } from './observe.js';
import type { NodeRecorder } from './recorder.js';
import { poll, runSteps, StepFailure, type NamedStep } from './steps.js';
import type { ControllerTuning } from './tuning.js';

export interface WakeExecutorDeps {
  view: ClusterView;
  recorder: NodeRecorder;
  drivers: PowerDrivers;
  clock: Clock;
  log: Logger;
  metrics: PowerMetrics;
  tuning: ControllerTuning;
  policy: Policy;
  /** spec.power.retryFailedAfter as written, for the failure reason. */
  retryFailedAfter: string;
  sshPort(node: string): number;
}

export interface WakeJob {
  node: string;
  reason: string;
  source: WakeSource;
  firstAttempt: number;
  drivers: readonly WakeDriver[];
  /** When the request that asked for it was made (the latency counts from there). */
  requestedAt: number | undefined;
  /** Aborted when leadership is lost or the controller stops: the record stays `waking` for the next leader. */
  signal: AbortSignal;
}

interface Attempt {
  job: WakeJob;
  attempt: number;
  lastError: string;
  triggeredAt: number;
  deadline: number;
  /** The `waking` record, written while the first packets fly. */
  recorded: Promise<unknown>;
}

export class WakeExecutor {
  private readonly steps: ReadonlyArray<NamedStep<Attempt>>;

  constructor(private readonly deps: WakeExecutorDeps) {
    this.steps = [
      { name: 'send the drivers until TCP 22 answers', run: (a) => this.sendUntilReachable(a) },
      { name: 'SSH check', run: (a) => this.sshCheck(a) },
      {
        name: 'kubelet Ready',
        run: async (a) => {
          const left = Math.max(0, a.deadline - deps.clock.now());
          const ready = await deps.view.waitForNode(a.job.node, (n) => n !== undefined && nodeReady(n), left, a.job.signal);
          if (!ready) throw new StepFailure('not-ready', 'SSH works but kubelet did not report the Node Ready');
        },
      },
    ];
  }

  private async sendDriver(node: string, driver: WakeDriver): Promise<void> {
    if (driver === 'wol') await this.deps.drivers.wakeOnLan(node);
    else await this.deps.drivers.ipmiPowerOn(node);
  }

  /**
   * Each driver in order until TCP 22 answers. A driver with a fallback after it gets twice the
   * node's bootSeconds before the fallback is tried; the whole attempt is bounded by wakeTimeout.
   */
  private async sendUntilReachable(a: Attempt): Promise<void> {
    const { clock, log, metrics, policy, tuning, drivers } = this.deps;
    const { node } = a.job;
    const boot = (policy.nodes[node]?.bootSeconds ?? 60) * 1000;
    const tried: string[] = [];
    let reachable = false;
    for (const [i, driver] of a.job.drivers.entries()) {
      try {
        await this.sendDriver(node, driver);
        tried.push(driver);
        log.info('wake sent', { node, driver });
      } catch (err) {
        tried.push(`${driver} (failed: ${errorMessage(err)})`);
        metrics.failures.inc({ node, kind: driver });
        log.warn('wake driver failed', { node, driver, error: errorMessage(err) });
        continue;
      }
      // The `waking` record must be stored before waiting.
      await a.recorded;
      const deadline = i === a.job.drivers.length - 1 ? a.deadline : Math.min(a.deadline, clock.now() + 2 * boot);
      reachable = await poll(clock, tuning.probeBackoff, () => drivers.reachable(node, tuning.probeTimeoutMs), deadline, a.job.signal);
      if (reachable) break;
    }
    await a.recorded;
    if (!reachable) throw new StepFailure('unreachable', `TCP ${this.deps.sshPort(node)} did not answer after ${tried.join(', then ')}`);
  }

  private async sshCheck(a: Attempt): Promise<void> {
    const { clock, tuning, drivers } = this.deps;
    let sshError = '';
    const ok = await poll(
      clock,
      tuning.probeBackoff,
      async () => {
        try {
          await drivers.sshCheck(a.job.node, Math.max(1000, Math.min(10_000, a.deadline - clock.now())));
          return true;
        } catch (err) {
          sshError = errorMessage(err);
          return false;
        }
      },
      Math.min(a.deadline, clock.now() + tuning.sshStepMs),
      a.job.signal,
    );
    if (!ok) throw new StepFailure('ssh', `TCP ${this.deps.sshPort(a.job.node)} answers but SSH fails: ${sshError}`);
  }

  /** One attempt; resolves when the node is Ready, throws a StepFailure when this attempt failed. */
  private async attempt(job: WakeJob, attempt: number, lastError: string, triggeredAt: number): Promise<void> {
    const { recorder, clock, policy } = this.deps;
    // Recorded in parallel with the first driver: a pending pod's wake costs no extra round trip.
    const recorded = recorder.record(job.node, { step: 'wake-attempt', reason: job.reason, source: job.source, attempt, of: policy.wakeAttempts, lastError: lastError || undefined, triggeredAt });
    recorded.catch(() => undefined);
    const a: Attempt = { job, attempt, lastError, triggeredAt, deadline: clock.now() + policy.wakeTimeoutSeconds * 1000, recorded };
    await runSteps(this.steps, a, () => undefined);
  }

  /** Runs the wake; never throws (an interruption leaves `waking` for the next leader). */
  async run(job: WakeJob): Promise<void> {
    const { view, recorder, clock, log, metrics, policy, tuning } = this.deps;
    try {
      if (parsePowerRequest(view.node(job.node)?.metadata?.annotations)?.action === 'wake')
        // Best effort: a request left behind is cleared by decide() once the node is awake and Ready.
        await recorder.clearRequest(job.node).catch((err: unknown) => log.warn('could not clear the power request', { node: job.node, error: errorMessage(err) }));
      const prev = view.record(job.node);
      const triggeredAt = prev.state === 'waking' && prev.wakeTriggeredAt !== undefined ? prev.wakeTriggeredAt : (job.requestedAt ?? clock.now());
      const attempts = policy.wakeAttempts;
      let lastError = '';
      for (let attempt = job.firstAttempt; attempt <= attempts; attempt++) {
        if (attempt > job.firstAttempt) await clock.sleep(backoffDelay(tuning.wakeBackoff, attempt - job.firstAttempt), job.signal);
        try {
          await this.attempt(job, attempt, lastError, triggeredAt);
        } catch (err) {
          if (!(err instanceof StepFailure)) throw err;
          lastError = err.message;
          metrics.failures.inc({ node: job.node, kind: `wake-${err.kind}` });
          log.warn('wake attempt failed', { node: job.node, attempt, of: attempts, kind: err.kind, error: err.message });
          continue;
        }
        await recorder.record(job.node, { step: 'woken', source: job.source, attempt, triggeredAt });
        return;
      }
      await recorder.record(job.node, { step: 'wake-failed', reason: `not Ready after ${attempts} wake attempt${attempts === 1 ? '' : 's'} (${lastError}); retrying every ${this.deps.retryFailedAfter}` });
    } catch (err) {
      // Aborted (leadership lost, stopping): the record stays `waking`; the next leader resumes it.
      log.warn('wake interrupted', { node: job.node, error: errorMessage(err) });
    }
  }
}
