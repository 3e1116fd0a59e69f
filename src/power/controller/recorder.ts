// Writes what the executors did: a step's outcome (core/lifecycle.ts) becomes one Node patch
// (annotations, and the cordon when it changes), a Kubernetes Event, the transition metrics and a
// log line. Also clears request annotations and retries API calls that fail with 5xx, 429 or a
// broken connection. The only writer of Node power records.
import type { CoreV1Event, V1Node } from '@kubernetes/client-node';
import { httpStatusOf, type KubeClient } from '../../adapters/kube/client.js';
import { errorMessage } from '../../errors.js';
import { applyStep, type Step } from '../core/lifecycle.js';
import { formatPowerAnnotations, POWER_ANNOTATIONS, type PowerAnnotations } from './annotations.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import type { ClusterView } from './cluster-view.js';
import { EVENT_REASONS, nodeEvent, type EventType } from './events.js';
import type { EnergyLedger } from './ledger.js';
import type { Logger } from './log.js';
import type { PowerMetrics } from './metrics.js';

export type KubeWriter = Pick<KubeClient, 'patchNode' | 'createEvent'>;

export interface RecorderDeps {
  kube: KubeWriter;
  view: ClusterView;
  ledger: EnergyLedger;
  clock: Clock;
  log: Logger;
  metrics: PowerMetrics;
  /** This replica's name in Events. */
  identity: string;
  apiBackoff: BackoffPolicy;
  apiRetries: number;
}

type NodePatch = { metadata: { annotations: Record<string, string | null> }; spec?: { unschedulable: boolean | null } };

export class NodeRecorder {
  private eventSeq = 0;

  constructor(private readonly deps: RecorderDeps) {}

  /** Retries a Kubernetes call on 5xx / connection errors with capped backoff; 4xx are final. */
  async withApiRetry<T>(what: string, node: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await call();
      } catch (err) {
        const status = httpStatusOf(err);
        const retriable = status === undefined || status >= 500 || status === 429;
        if (!retriable || retry >= this.deps.apiRetries) throw err;
        const ms = backoffDelay(this.deps.apiBackoff, retry + 1);
        this.deps.log.warn('API call failed; retrying', { what, status, retry: retry + 1, delayMs: ms, error: errorMessage(err) });
        this.deps.metrics.failures.inc({ node, kind: 'api' });
        await this.deps.clock.sleep(ms, signal);
      }
    }
  }

  /**
   * Records the outcome of one step: the new record in the Node's annotations (with the cordon
   * change), the Event, the metrics and the log. Returns the record written (the current one when
   * the step changes nothing).
   */
  async record(name: string, step: Step): Promise<PowerAnnotations> {
    const { view, ledger, metrics } = this.deps;
    const now = this.deps.clock.now();
    const prev = view.record(name);
    const result = applyStep(prev, step, now);
    if (!result) return prev;
    const next = result.record;
    if (prev.state === 'asleep' && next.state !== 'asleep') next.energySavedKwh = ledger.wokeUp(name, prev, now);
    const patch: NodePatch = { metadata: { annotations: formatPowerAnnotations(next) } };
    if (result.cordon !== undefined) patch.spec = { unschedulable: result.cordon ? true : null };
    const updated = view.remember(await this.withApiRetry(`patch ${name}`, name, () => this.deps.kube.patchNode(name, patch)));
    if (step.step === 'wake-failed') metrics.failures.inc({ node: name, kind: 'wake' });
    if (result.wakeLatencySeconds !== undefined) metrics.wakeLatency.observe({ node: name }, result.wakeLatencySeconds);
    if (prev.state !== next.state) metrics.transitions.inc({ node: name, from: prev.state, to: next.state });
    metrics.setState(name, next.state);
    if (next.state !== prev.state || step.step !== 'uncordoned') this.deps.log.info('power transition', { node: name, from: prev.state, to: next.state, reason: next.reason });
    else this.deps.log.info('uncordoned', { node: name, reason: next.reason });
    this.emit(updated, result.event.type, EVENT_REASONS[result.event.kind], result.event.message);
    return next;
  }

  /** Removes the request annotation (it was carried out, refused, or is satisfied). */
  async clearRequest(node: string): Promise<void> {
    const patch = { metadata: { annotations: { [POWER_ANNOTATIONS.request]: null } } };
    this.deps.view.remember(await this.withApiRetry(`clear request on ${node}`, node, () => this.deps.kube.patchNode(node, patch)));
  }

  /** A Kubernetes Event on the Node (best effort: a failure is counted and logged, never thrown). */
  emit(node: V1Node | string, type: EventType, reason: string, message: string): void {
    const target = typeof node === 'string' ? (this.deps.view.node(node) ?? { metadata: { name: node } }) : node;
    const name = target.metadata?.name ?? '';
    const ev: CoreV1Event = nodeEvent({ node: target as V1Node & { metadata: { name: string } }, type, reason, message, now: this.deps.clock.now(), instance: this.deps.identity, seq: this.eventSeq++ });
    void this.withApiRetry(`event ${name}`, name, () => this.deps.kube.createEvent(ev)).catch((err: unknown) => {
      this.deps.metrics.failures.inc({ node: name, kind: 'event' });
      this.deps.log.warn('could not record the event', { node: name, reason, error: errorMessage(err) });
    });
  }
}
