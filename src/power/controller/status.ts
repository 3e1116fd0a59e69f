// A Node's power status as `power status` and `GET /status` show it, read from its annotations.
import type { V1Node } from '@kubernetes/client-node';
import type { PowerState } from '../core/types.js';
import type { PowerAnnotations } from './annotations.js';
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
}

export interface ControllerStatus {
  identity: string;
  leader: boolean;
  synced: boolean;
  nodes: NodeStatus[];
}

/** The status of a Node from its parsed power record (a running controller adds live figures). */
export function nodeStatus(node: V1Node, rec: PowerAnnotations): NodeStatus {
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
  };
}

export const byNodeName = (a: NodeStatus, b: NodeStatus): number => (a.node < b.node ? -1 : 1);
