// What carrying out an Action does to a node's power record, step by step: the state machine the
// controller's executors and the simulator share. The controller performs each step against the
// cluster (cordon, evict, suspend, wake drivers, ...) and then records its outcome with
// applyStep(); the simulator advances its fake clock and records the same outcome the same way.
// So the records decide() reads next round (state, since, attempts, who holds the cordon) cannot
// differ between the two. Pure: no I/O, no clock.
import type { Action, Millis, NodePowerRecord, PowerState, WakeSource } from './types.js';

/** The fields of a power record the executors write (the controller keeps an energy figure beside them). */
export interface PowerRecord extends NodePowerRecord {
  /** The power manager holds the cordon (so it, and only it, uncordons). */
  cordonedByPowerManager: boolean;
  /** When the wake in progress was triggered (wake latency survives a restart). */
  wakeTriggeredAt?: Millis | undefined;
}

/** The outcome of one executor step. */
export type Step =
  /** Sleep begins: cordon (unless someone else already did) and record draining. */
  | { step: 'drain-started'; reason: string; alreadyCordoned: boolean }
  /** The evicted pods have left: the suspend command goes out. */
  | { step: 'drained'; pods: number }
  /** The node went quiet and NotReady after the suspend command. */
  | { step: 'suspended'; reason: string }
  /** A sleep failed or was cancelled before the suspend command: back to awake, uncordon if ours. */
  | { step: 'sleep-aborted'; reason: string }
  /** A wake attempt starts (the drivers are sent). */
  | { step: 'wake-attempt'; reason: string; source: WakeSource; attempt: number; of: number; lastError?: string | undefined; triggeredAt: Millis }
  /** The node is Ready after a wake attempt: uncordon if ours, record awake with the latency. */
  | { step: 'woken'; source: WakeSource; attempt: number; triggeredAt: Millis }
  /** Wake attempts used up. */
  | { step: 'wake-failed'; reason: string }
  /** The node is Ready although the record said otherwise. */
  | { step: 'marked-awake'; reason: string }
  /** The suspend finished while nobody watched. */
  | { step: 'marked-asleep'; reason: string }
  /** Awake but still cordoned by the power manager. */
  | { step: 'uncordoned'; reason: string };

/** Event kinds (the controller maps them to Kubernetes Event reasons). */
export type StepEvent = 'draining' | 'suspending' | 'asleep' | 'waking' | 'awake' | 'failed' | 'sleepAborted' | 'uncordoned';

export interface StepResult<R extends PowerRecord> {
  record: R;
  /** true: cordon the node; false: uncordon it; undefined: leave it as it is. */
  cordon?: boolean | undefined;
  event: { type: 'Normal' | 'Warning'; kind: StepEvent; message: string };
  /** Trigger -> Ready of a wake this step completes. */
  wakeLatencySeconds?: number | undefined;
}

function change<R extends PowerRecord>(prev: R, to: PowerState, reason: string, now: Millis, fields: Partial<PowerRecord>, kind: StepEvent, type: 'Normal' | 'Warning' = 'Normal', cordon?: boolean): StepResult<R> {
  return { record: { ...prev, state: to, since: now, reason, ...fields }, cordon, event: { type, kind, message: `${prev.state} -> ${to}: ${reason}` } };
}

/** Back to awake: attempts reset, and the cordon released when the power manager holds it. */
function backAwake<R extends PowerRecord>(prev: R, reason: string, now: Millis, kind: StepEvent, type: 'Normal' | 'Warning', extra: Partial<PowerRecord> = {}): StepResult<R> {
  return change(prev, 'awake', reason, now, { attempts: 0, cordonedByPowerManager: false, wakeTriggeredAt: undefined, wakeSource: undefined, ...extra }, kind, type, prev.cordonedByPowerManager ? false : undefined);
}

function latencyOf(prev: PowerRecord, now: Millis): number | undefined {
  return prev.state === 'waking' && prev.wakeTriggeredAt !== undefined ? (now - prev.wakeTriggeredAt) / 1000 : undefined;
}

/** The record after `step`, the cordon change and the Event; undefined when the step changes nothing. */
export function applyStep<R extends PowerRecord>(prev: R, step: Step, now: Millis): StepResult<R> | undefined {
  switch (step.step) {
    case 'drain-started':
      return change(prev, 'draining', step.reason, now, { attempts: 0, ...(step.alreadyCordoned ? {} : { cordonedByPowerManager: true }) }, 'draining', 'Normal', step.alreadyCordoned ? undefined : true);
    case 'drained':
      return change(prev, 'suspending', `drained ${step.pods} pod${step.pods === 1 ? '' : 's'}; suspending over SSH`, now, {}, 'suspending');
    case 'suspended':
      return change(prev, 'asleep', `suspended: ${step.reason}`, now, {}, 'asleep');
    case 'sleep-aborted':
      return backAwake(prev, step.reason, now, 'sleepAborted', 'Warning');
    case 'wake-attempt':
      return change(prev, 'waking', `${step.reason} (attempt ${step.attempt} of ${step.of}${step.lastError ? `; last: ${step.lastError}` : ''})`, now, { attempts: step.attempt, wakeTriggeredAt: step.triggeredAt, wakeSource: step.source }, 'waking');
    case 'woken': {
      const latency = (now - step.triggeredAt) / 1000;
      const reason = `woken (${step.source}): Ready ${latency.toFixed(1)} s after the trigger, attempt ${step.attempt}`;
      return { ...backAwake(prev, reason, now, 'awake', 'Normal', { lastWakeLatencySeconds: latency }), wakeLatencySeconds: latency };
    }
    case 'wake-failed':
      return change(prev, 'failed', step.reason, now, { wakeTriggeredAt: undefined, wakeSource: undefined }, 'failed', 'Warning');
    case 'marked-awake': {
      const latency = latencyOf(prev, now);
      return { ...backAwake(prev, step.reason, now, 'awake', 'Normal', latency === undefined ? {} : { lastWakeLatencySeconds: latency }), wakeLatencySeconds: latency };
    }
    case 'marked-asleep':
      return change(prev, 'asleep', step.reason, now, {}, 'asleep');
    case 'uncordoned':
      if (!prev.cordonedByPowerManager) return undefined;
      return { record: { ...prev, reason: step.reason, cordonedByPowerManager: false }, cordon: false, event: { type: 'Normal', kind: 'uncordoned', message: step.reason } };
  }
}

/**
 * The step an action completes at once (no job, nothing to wait for), or undefined for the
 * actions that are jobs: sleep, wake and retry-wake. A cancel-sleep with a sleep in flight stops
 * that job instead; its rollback records `sleep-aborted` the same way.
 */
export function instantStep(a: Action): Step | undefined {
  switch (a.kind) {
    case 'cancel-sleep':
      return { step: 'sleep-aborted', reason: a.reason };
    case 'mark-awake':
      return { step: 'marked-awake', reason: a.reason };
    case 'mark-asleep':
      return { step: 'marked-asleep', reason: a.reason };
    case 'mark-failed':
      return { step: 'wake-failed', reason: a.reason };
    case 'uncordon':
      return { step: 'uncordoned', reason: a.reason };
    case 'sleep':
    case 'wake':
    case 'retry-wake':
      return undefined;
  }
}
