// Asking for a wake or a sleep: a request annotation on the Node that the leading controller acts
// on (and clears). Any replica, the CLI and preflight can write it; only the leader carries it out.
import type { KubeClient } from '../../adapters/kube/client.js';
import type { MaintenanceHold, WakeSource } from '../core/types.js';
import { formatHolds, formatPowerRequest, parseHolds, POWER_ANNOTATIONS, withHold, withoutHold } from '../controller/annotations.js';

export async function requestPower(kube: Pick<KubeClient, 'patchNode'>, node: string, action: 'wake' | 'sleep', source: WakeSource, reason: string, now: number): Promise<void> {
  await kube.patchNode(node, { metadata: { annotations: { [POWER_ANNOTATIONS.request]: formatPowerRequest({ action, source, at: now, reason }) } } });
}

/** A hold to take: on `nodes`, until `until`, with the reason people will see. */
export interface HoldRequestBody {
  id: string;
  reason: string;
  until: number;
}

type HoldKube = Pick<KubeClient, 'patchNode' | 'getNode'>;

async function rewriteHolds(kube: HoldKube, nodes: readonly string[], change: (holds: MaintenanceHold[]) => MaintenanceHold[]): Promise<void> {
  // One node at a time, read then merge-patched: a person and a run writing the same Node at the
  // same instant can lose one write (the next `power hold` or run writes it again).
  for (const node of nodes) {
    const current = await kube.getNode(node);
    if (!current) continue;
    await kube.patchNode(node, { metadata: { annotations: { [POWER_ANNOTATIONS.holds]: formatHolds(change(parseHolds(current.metadata?.annotations))) } } });
  }
}

/** Records the hold on every node of `nodes` (the controller sees it through its Node watch). */
export async function takeHold(kube: HoldKube, nodes: readonly string[], hold: HoldRequestBody, now: number): Promise<void> {
  await rewriteHolds(kube, nodes, (holds) => withHold(holds, hold, now));
}

/** Removes the hold `id` (every hold when undefined) from every node of `nodes`. */
export async function releaseHold(kube: HoldKube, nodes: readonly string[], id: string | undefined, now: number): Promise<void> {
  await rewriteHolds(kube, nodes, (holds) => withoutHold(holds, id, now));
}
