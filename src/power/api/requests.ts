// Asking for a wake or a sleep: a request annotation on the Node that the leading controller acts
// on (and clears). Any replica, the CLI and preflight can write it; only the leader carries it out.
import type { KubeClient } from '../../adapters/kube/client.js';
import type { WakeSource } from '../core/types.js';
import { formatPowerRequest, POWER_ANNOTATIONS } from '../controller/annotations.js';

export async function requestPower(kube: Pick<KubeClient, 'patchNode'>, node: string, action: 'wake' | 'sleep', source: WakeSource, reason: string, now: number): Promise<void> {
  await kube.patchNode(node, { metadata: { annotations: { [POWER_ANNOTATIONS.request]: formatPowerRequest({ action, source, at: now, reason }) } } });
}
