// Carries out a `sleep` action: a sequence of named steps over the ports (Kubernetes, drivers,
// clock). Cordon and record draining, evict through the Eviction API, wait for the pods to leave,
// record suspending, suspend over SSH, confirm TCP 22 went quiet and the Node NotReady, record
// asleep. Any failure before the suspend command rolls back (uncordon, awake, Warning Event).
import type { KubeClient } from '../../adapters/kube/client.js';
import { errorMessage } from '../../errors.js';
import { podsToEvict } from '../core/safety.js';
import { podKey } from '../core/scheduling.js';
import type { PodRef } from '../core/types.js';
import type { PowerDrivers } from '../drivers/index.js';
import { backoffDelay } from './backoff.js';
import type { Clock } from './clock.js';
import type { ClusterView } from './cluster-view.js';
import type { EnergyLedger } from './ledger.js';
import type { Logger } from './log.js';
import type { PowerMetrics } from './metrics.js';
import { nodeReady } from './observe.js';
import type { NodeRecorder } from './recorder.js';
import { poll, runSteps, StepFailure, type NamedStep } from './steps.js';
import type { ControllerTuning } from './tuning.js';

export interface SleepExecutorDeps {
  view: ClusterView;
  recorder: NodeRecorder;
  ledger: EnergyLedger;
  kube: Pick<KubeClient, 'evictPod'>;
  drivers: PowerDrivers;
  clock: Clock;
  log: Logger;
  metrics: PowerMetrics;
  tuning: ControllerTuning;
  /** The controller is stopping: nothing more is written; the next leader resumes. */
  stopping: AbortSignal;
  sshPort(node: string): number;
}

export interface SleepJob {
  node: string;
  reason: string;
  /** Pods decide() listed; pods that landed since are added. */
  evict: readonly PodRef[];
  /** Aborted to cancel the sleep (a pod needs the node again, leadership lost). */
  signal: AbortSignal;
}

interface SleepRun extends SleepJob {
  alreadyCordoned: boolean;
  refs: PodRef[];
  /** Past the point of no return: the suspend command may have run. */
  suspendSent: boolean;
}

type Step = NamedStep<SleepRun>;

export class SleepExecutor {
  private readonly steps: readonly Step[];

  constructor(private readonly deps: SleepExecutorDeps) {
    const d = deps;
    this.steps = [
      {
        name: 'cordon and record draining',
        // One write: a crash after it is rolled back by decide() (draining with no sleep in flight).
        run: async (s) => void (await d.recorder.record(s.node, { step: 'drain-started', reason: s.reason, alreadyCordoned: s.alreadyCordoned })),
      },
      { name: 'evict through the Eviction API', run: (s) => this.evictAll(s) },
      { name: 'wait for the evicted pods to leave', run: (s) => this.waitDrained(s) },
      { name: 'record suspending', run: async (s) => void (await d.recorder.record(s.node, { step: 'drained', pods: s.refs.length })) },
      {
        name: 'suspend over SSH',
        run: async (s) => {
          // A cancel from here on (a pod needing the node again) must not record it awake; it is woken once asleep instead.
          s.suspendSent = true;
          await d.drivers.suspend(s.node).catch((err: unknown) => {
            throw new StepFailure('suspend', `suspend command failed: ${errorMessage(err)}`);
          });
        },
      },
      {
        name: 'confirm TCP 22 stops answering',
        run: async (s) => {
          const quiet = await poll(d.clock, d.tuning.probeBackoff, async () => !(await d.drivers.reachable(s.node, d.tuning.probeTimeoutMs)), d.clock.now() + d.tuning.suspendConfirmMs, d.stopping);
          if (!quiet) throw new StepFailure('suspend', `TCP ${d.sshPort(s.node)} still answers ${d.tuning.suspendConfirmMs / 1000} s after the suspend command`);
        },
      },
      {
        name: 'confirm the Node is NotReady',
        run: async (s) => {
          // Asleep once Kubernetes agrees: a node still reported Ready would look woken by hand.
          const notReady = await d.view.waitForNode(s.node, (n) => n !== undefined && !nodeReady(n), d.tuning.notReadyTimeoutMs, d.stopping);
          if (!notReady) throw new StepFailure('suspend', `TCP ${d.sshPort(s.node)} is quiet but the Node is still Ready ${d.tuning.notReadyTimeoutMs / 1000} s after the suspend command`);
        },
      },
      {
        name: 'record asleep',
        run: async (s) => {
          await d.recorder.record(s.node, { step: 'suspended', reason: s.reason });
          d.ledger.fellAsleep(s.node, d.clock.now());
        },
      },
    ];
  }

  /** Evicts one pod at a time; a PodDisruptionBudget refusal (429) aborts, 5xx answers are retried. */
  private async evictAll(s: SleepRun): Promise<void> {
    const { kube, metrics, log, clock, tuning } = this.deps;
    for (const ref of s.refs) {
      for (let retry = 0; ; retry++) {
        if (s.signal.aborted) throw s.signal.reason as Error;
        const r = await kube.evictPod(ref.namespace, ref.name);
        if (r.outcome === 'evicted' || r.outcome === 'gone') break;
        if (r.outcome === 'blocked') {
          metrics.failures.inc({ node: s.node, kind: 'evict' });
          throw new StepFailure('pdb', `eviction of ${podKey(ref)} refused (429): ${r.message}`);
        }
        if (r.status !== undefined && r.status < 500) throw new StepFailure('evict', `eviction of ${podKey(ref)} failed: HTTP ${r.status} ${r.message}`);
        if (retry >= tuning.apiRetries) throw new StepFailure('evict', `eviction of ${podKey(ref)} kept failing: ${r.message}`);
        const ms = backoffDelay(tuning.apiBackoff, retry + 1);
        log.warn('eviction failed; retrying', { node: s.node, pod: podKey(ref), status: r.status, retry: retry + 1, delayMs: ms, error: r.message });
        await clock.sleep(ms, s.signal);
      }
    }
  }

  private async waitDrained(s: SleepRun): Promise<void> {
    const { view, tuning } = this.deps;
    const gone = await view.waitForPods(() => s.refs.every((r) => view.podNode(podKey(r)) !== s.node), tuning.drainTimeoutMs, s.signal);
    if (!gone) throw new StepFailure('drain-timeout', `evicted pods still on the node after ${tuning.drainTimeoutMs / 1000} s`);
    if (s.signal.aborted) throw s.signal.reason as Error;
  }

  /** Runs the sleep; never throws (a failure is rolled back, or left to the next leader when stopping). */
  async run(job: SleepJob): Promise<void> {
    const node = this.deps.view.node(job.node);
    if (!node) return;
    // Pods that landed between decide() and the cordon are evicted too.
    const keys = new Map<string, PodRef>();
    for (const r of [...job.evict, ...podsToEvict(this.deps.view.podsOn(job.node))]) keys.set(podKey(r), { namespace: r.namespace, name: r.name });
    const refs = [...keys.values()].sort((a, b) => (podKey(a) < podKey(b) ? -1 : 1));
    const s: SleepRun = { ...job, alreadyCordoned: node.spec?.unschedulable === true, refs, suspendSent: false };
    let current = '';
    try {
      await runSteps(this.steps, s, (name) => (current = name));
    } catch (err) {
      await this.rollBack(s, err, current);
    }
  }

  private async rollBack(s: SleepRun, err: unknown, step: string): Promise<void> {
    const { log, metrics, recorder, stopping } = this.deps;
    const cancelled = s.signal.aborted && !s.suspendSent && s.signal.reason instanceof Error;
    const why = errorMessage(cancelled ? s.signal.reason : err);
    const kind = err instanceof StepFailure ? err.kind : s.signal.aborted ? 'cancelled' : 'error';
    if (kind !== 'cancelled') metrics.failures.inc({ node: s.node, kind: 'sleep' });
    log.warn('sleep aborted; rolling back', { node: s.node, step, kind, error: why });
    if (stopping.aborted) return; // the next leader rolls back (decide: draining without a sleep in flight)
    try {
      await recorder.record(s.node, { step: 'sleep-aborted', reason: `sleep aborted: ${why}` });
    } catch (e) {
      log.error('rollback failed; the next reconcile retries it', { node: s.node, error: errorMessage(e) });
    }
  }
}
