// Draining a node before it is removed or upgraded: cordon, then every pod a drain moves is
// evicted through the Eviction API (policy/v1), which honours PodDisruptionBudgets; a refused
// eviction (HTTP 429) is retried until the drain timeout, then the node is uncordoned and the
// drain fails with the pod and the budget's message. The pods chosen are the power manager's
// (one implementation: src/power/core/safety.ts podsToEvict: not DaemonSet or mirror pods, not
// finished). The Kubernetes client, clock and sleep are injected.
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../../adapters/kube/client.js';
import { ExitCode, VmstationError } from '../../errors.js';
import { observePod } from '../../power/controller/observe.js';
import { podsToEvict } from '../../power/core/safety.js';

export interface PodRef {
  namespace: string;
  name: string;
}

const key = (p: PodRef) => `${p.namespace}/${p.name}`;

/** The pods a drain of this node evicts (pure). */
export function podsToDrain(pods: readonly V1Pod[]): PodRef[] {
  return podsToEvict(pods.map((p) => observePod(p))).map((p) => ({ namespace: p.namespace, name: p.name }));
}

export interface DrainDeps {
  kube: Pick<KubeClient, 'patchNode' | 'listPodsOnNode' | 'evictPod'>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** How long refused evictions are retried and evicted pods awaited (default 120 s). */
  timeoutMs?: number;
  /** Between retries (default 5 s, as kubectl drain). */
  retryMs?: number;
  progress?: (line: string) => void;
}

export async function drainNode(node: string, deps: DrainDeps): Promise<string> {
  const timeout = deps.timeoutMs ?? 120_000;
  const retry = deps.retryMs ?? 5000;
  const deadline = deps.now() + timeout;
  await deps.kube.patchNode(node, { spec: { unschedulable: true } });
  deps.progress?.(`${node} cordoned`);
  const evicted = new Set<string>();
  for (;;) {
    const left = podsToDrain(await deps.kube.listPodsOnNode(node));
    if (left.length === 0) return `${node} cordoned and drained (${evicted.size} pod(s) evicted)`;
    const blocked: string[] = [];
    for (const p of left) {
      if (evicted.has(key(p))) continue; // evicted, still terminating
      const r = await deps.kube.evictPod(p.namespace, p.name);
      if (r.outcome === 'evicted' || r.outcome === 'gone') {
        evicted.add(key(p));
        deps.progress?.(`evicted ${key(p)}`);
      } else if (r.outcome === 'blocked') blocked.push(`${key(p)}: ${r.message}`);
      else {
        await uncordon(node, deps);
        throw new VmstationError({ code: 'drain-failed', message: `cannot drain ${node}: the eviction of ${key(p)} failed (HTTP ${r.status ?? '?'}: ${r.message})`, hint: `${node} was uncordoned; fix the cause and run deploy again (it resumes here)`, exitCode: ExitCode.partial });
      }
    }
    if (deps.now() >= deadline) {
      await uncordon(node, deps);
      if (blocked.length > 0)
        throw new VmstationError({
          code: 'drain-blocked',
          message: `cannot drain ${node}: a PodDisruptionBudget refuses to evict ${blocked.map((b) => b.split(':')[0]).join(', ')}`,
          hint: `${node} was uncordoned and nothing was removed; let the budget allow a disruption (more replicas elsewhere, or relax the PodDisruptionBudget), then run deploy again`,
          details: blocked,
          exitCode: ExitCode.partial,
        });
      throw new VmstationError({ code: 'drain-timeout', message: `cannot drain ${node}: evicted pods still on it after ${timeout / 1000} s (${left.map(key).join(', ')})`, hint: `${node} was uncordoned; see why the pods do not terminate, then run deploy again`, exitCode: ExitCode.partial });
    }
    if (blocked.length > 0) deps.progress?.(`waiting for a PodDisruptionBudget: ${blocked[0] ?? ''}`);
    await deps.sleep(retry);
  }
}

export async function uncordon(node: string, deps: Pick<DrainDeps, 'kube'>): Promise<void> {
  await deps.kube.patchNode(node, { spec: { unschedulable: null } });
}
