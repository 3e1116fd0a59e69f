// A Node's power status as `power status` and `GET /status` show it, read from its annotations.
import type { V1Node } from '@kubernetes/client-node';
import { activeHolds } from '../core/hold.js';
import type { PowerState } from '../core/types.js';
import { parseHolds, type PowerAnnotations } from './annotations.js';
import { nodeReady } from './observe.js';

export interface NodeStatus {
  node: string;
  state: PowerState;
  since: string;
  reason: string;
  attempts: number;
  ready: boolean;
  cordoned: boolean;
  lastWakeLatencySeconds?: number | undefined;
  energySavedKwh: number;
  /** What the controller is doing with the node right now, if anything. */
  inFlight?: 'sleep' | 'wake' | undefined;
  /** Pods bound to the node, running or pending (namespace/name; a running controller adds them). */
  pods?: string[] | undefined;
  /** Maintenance holds in force on the node (expired ones left out). */
  holds?: HoldStatus[] | undefined;
  /** With spec.power.predict on: the next time within a day the learned profile wakes it ahead (if asleep then), and why. */
  nextPredictedWake?: PredictedWakeStatus | undefined;
}

export interface PredictedWakeStatus {
  /** ISO time at which the wake would be sent (boot time ahead of the predicted demand). */
  at: string;
  reason: string;
}

export interface HoldStatus {
  id: string;
  reason: string;
  until: string;
}

export interface ControllerStatus {
  identity: string;
  leader: boolean;
  synced: boolean;
  nodes: NodeStatus[];
}

/** The status of a Node from its parsed power record (a running controller adds live figures). */
export function nodeStatus(node: V1Node, rec: PowerAnnotations, now: number): NodeStatus {
  const holds = activeHolds({ holds: parseHolds(node.metadata?.annotations) }, now).map((h) => ({ id: h.id, reason: h.reason, until: new Date(h.until).toISOString() }));
  return {
    node: node.metadata?.name ?? '',
    state: rec.state,
    since: new Date(rec.since).toISOString(),
    reason: rec.reason,
    attempts: rec.attempts,
    ready: nodeReady(node),
    cordoned: node.spec?.unschedulable === true,
    lastWakeLatencySeconds: rec.lastWakeLatencySeconds,
    energySavedKwh: rec.energySavedKwh,
    ...(holds.length > 0 ? { holds } : {}),
  };
}

/** The holds in force anywhere, one line each (a hold taken on several nodes counted once), for `power status`. */
export function holdsOf(status: { nodes: readonly NodeStatus[] }): Array<HoldStatus & { nodes: string[] }> {
  const by = new Map<string, HoldStatus & { nodes: string[] }>();
  for (const n of status.nodes)
    for (const h of n.holds ?? []) {
      const seen = by.get(h.id);
      if (seen) seen.nodes.push(n.node);
      else by.set(h.id, { ...h, nodes: [n.node] });
    }
  return [...by.values()].sort((a, b) => (a.until < b.until ? -1 : 1));
}

export const byNodeName = (a: NodeStatus, b: NodeStatus): number => (a.node < b.node ? -1 : 1);
