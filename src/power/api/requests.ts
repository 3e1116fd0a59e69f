// Asking for a wake or a sleep: a request annotation on the Node that the leading controller acts
// on (and clears). Any replica, the CLI and preflight can write it; only the leader carries it out.
import { httpStatusOf, type KubeClient } from '../../adapters/kube/client.js';
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

/** Tries per node before a write that keeps conflicting is given up (each try reads the Node again). */
export const HOLD_WRITE_TRIES = 5;

/**
 * Rewrites the holds annotation of each node: read, change, then a merge patch that carries the
 * resourceVersion it read, so the API server refuses it (409 Conflict) when anyone wrote the Node
 * in between, as controller-runtime's MergeFromWithOptimisticLock does
 * (kubernetes-sigs/controller-runtime pkg/client/patch.go, MergeFromOptions.OptimisticLock:
 * "includes metadata.resourceVersion into the final patch data. If the resourceVersion field
 * doesn't match what's stored, the operation results in a conflict"). On a conflict the node is read
 * again and the change made on what is there now, so two writers (a person's `power hold`, a
 * deploy's, the controller recording a transition) never lose each other's hold.
 */
async function rewriteHolds(kube: HoldKube, nodes: readonly string[], change: (holds: MaintenanceHold[]) => MaintenanceHold[]): Promise<void> {
  for (const node of nodes) {
    for (let attempt = 1; ; attempt++) {
      const current = await kube.getNode(node);
      if (!current) break;
      const resourceVersion = current.metadata?.resourceVersion;
      const annotations = { [POWER_ANNOTATIONS.holds]: formatHolds(change(parseHolds(current.metadata?.annotations))) };
      try {
        await kube.patchNode(node, { metadata: { ...(resourceVersion ? { resourceVersion } : {}), annotations } });
        break;
      } catch (err) {
        if (httpStatusOf(err) !== 409 || attempt >= HOLD_WRITE_TRIES) throw err;
      }
    }
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
