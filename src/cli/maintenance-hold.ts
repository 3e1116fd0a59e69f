// The maintenance hold deploy and etcd restore take (src/deploy/hold.ts): the power manager's
// (`vmstation power hold`, Node annotations through the kubeconfig) when the cluster file enables
// it and a kubeconfig exists, otherwise today's wake-first behaviour.
import type { Cluster } from '../config/model.js';
import { kubeIfPresent } from '../deploy/context.js';
import { powerManagerHolds, wakeFirstHolds, type HoldProvider } from '../deploy/hold.js';
import type { WakeOutcome } from '../deploy/wake.js';
import { kubeClient } from '../power/api/client.js';

export async function maintenanceHolds(cluster: Cluster, kubeconfig: string, ensureAwake: (node: string) => Promise<WakeOutcome>, what: string): Promise<HoldProvider> {
  const kube = cluster.spec.power.enabled ? await kubeIfPresent(kubeconfig) : undefined;
  const now = () => Date.now();
  // One id per run, so its release removes only its own hold (a person's `power hold` stays).
  const id = `${what}-${process.pid}-${now().toString(36)}`;
  return powerManagerHolds(kube ? kubeClient(kube, cluster, { now }) : undefined, wakeFirstHolds(ensureAwake), { id, now });
}
