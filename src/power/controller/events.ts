// A Kubernetes Event on the Node for every power transition, with its reason.
import type { CoreV1Event, V1Node } from '@kubernetes/client-node';

export const REPORTING_COMPONENT = 'vmstation-power-manager';

export type EventType = 'Normal' | 'Warning';

/** Event reasons (CamelCase, as Kubernetes reasons are). */
export const EVENT_REASONS = {
  draining: 'PowerDraining',
  suspending: 'PowerSuspending',
  asleep: 'PowerAsleep',
  waking: 'PowerWaking',
  awake: 'PowerAwake',
  failed: 'PowerWakeFailed',
  sleepAborted: 'PowerSleepAborted',
  sleepRefused: 'PowerSleepRefused',
  uncordoned: 'PowerUncordoned',
  /** An input the controller cannot use and leaves out (a window, an annotation, an object). */
  badInput: 'PowerInputInvalid',
  /** A maintenance hold is in force on the node (taken, or taken again with another end or reason). */
  holdTaken: 'PowerHold',
  /** A maintenance hold was released before its end. */
  holdReleased: 'PowerHoldReleased',
  /** A maintenance hold reached its end without being released (a crashed run's, or a person's `--for`). */
  holdExpired: 'PowerHoldExpired',
} as const;

export function nodeEvent(opts: { node: V1Node | { metadata: { name: string; uid?: string } }; type: EventType; reason: string; message: string; now: number; instance: string; seq: number }): CoreV1Event {
  const name = opts.node.metadata?.name ?? '';
  const at = new Date(opts.now);
  // Unique and sortable: node name, time in hex, a per-process sequence.
  const suffix = `${opts.now.toString(16)}${opts.seq.toString(16).padStart(4, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${name}.${suffix}`, namespace: 'default' },
    involvedObject: { apiVersion: 'v1', kind: 'Node', name, ...(opts.node.metadata?.uid ? { uid: opts.node.metadata.uid } : {}) },
    type: opts.type,
    reason: opts.reason,
    // Kubernetes caps messages at 1 KiB.
    message: opts.message.length > 1024 ? `${opts.message.slice(0, 1021)}...` : opts.message,
    source: { component: REPORTING_COMPONENT },
    reportingComponent: REPORTING_COMPONENT,
    reportingInstance: opts.instance,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}
