// The rules that keep a node awake no matter how idle it is. Each returns a sentence; a node
// with any blocker is never put to sleep.
import { podKey, isDaemonSetPod, matchesLabelSelector } from './scheduling.js';
import { POWER_LABELS, type NodePolicy, type ObservedNode, type ObservedPdb, type ObservedPod, type PodRef } from './types.js';

const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

function flag(obj: { labels: Record<string, string>; annotations: Record<string, string> }, key: string): boolean {
  return obj.labels[key] === 'true' || obj.annotations[key] === 'true';
}

/** Mirror pods of static manifests: owned by the Node, never evicted, they come back with it. */
export function isMirrorPod(pod: ObservedPod): boolean {
  return pod.ownerKind === 'Node' || Object.hasOwn(pod.annotations, 'kubernetes.io/config.mirror');
}

/** Pods on the node that a drain evicts: bound, not finished, not DaemonSet or mirror pods. */
export function podsToEvict(podsOnNode: readonly ObservedPod[]): ObservedPod[] {
  return podsOnNode
    .filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed' && !p.terminating && !isDaemonSetPod(p) && !isMirrorPod(p))
    .map((p) => ({ key: podKey(p), p }))
    .sort(byKey)
    .map(({ p }) => p);
}

/** Orders by a key computed once per item (keys are built strings: not inside the comparator). */
function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function evictionRefs(pods: readonly ObservedPod[]): PodRef[] {
  return pods.map((p) => ({ namespace: p.namespace, name: p.name }));
}

/** Why an evicted pod would be lost or stuck rather than moved; undefined when it can move. */
export function cannotMove(pod: ObservedPod): string | undefined {
  if (pod.ownerKind === undefined) return 'a bare Pod with no controller (eviction deletes it for good)';
  const local = pod.volumes.find((v) => v.kind === 'hostPath' || v.kind === 'local' || (v.kind === 'pvc' && v.localPersistentVolume === true));
  if (local) return `volume "${local.name}" is ${local.kind === 'pvc' ? 'a node-local PersistentVolume' : local.kind} (its data stays on this node)`;
  return undefined;
}

export interface SleepSafetyInput {
  node: ObservedNode;
  /** Undefined when the node is not in the cluster file. */
  policy: NodePolicy | undefined;
  podsOnNode: readonly ObservedPod[];
  pdbs: readonly ObservedPdb[];
}

/**
 * Every reason this node must not be put to sleep, whatever its activity. Empty: safe to drain
 * and suspend. Order is stable (most fundamental first) so the first reason is the headline.
 */
export function sleepBlockers({ node, policy, podsOnNode, pdbs }: SleepSafetyInput): string[] {
  const out: string[] = [];
  if (!policy) return ['not in the cluster file'];
  if (CONTROL_PLANE_LABELS.some((l) => Object.hasOwn(node.labels, l)) && !policy.alwaysOnReasons.includes('control-plane node')) out.push('control-plane node (by its labels)');
  for (const r of policy.alwaysOnReasons) out.push(`${r}: must stay on`);
  if (!policy.autoSleep) out.push('autoSleep is false');
  if (node.labels[POWER_LABELS.preventSleep] === 'true' || node.annotations[POWER_LABELS.preventSleep] === 'true') out.push(`node has ${POWER_LABELS.preventSleep}=true`);
  if (policy.usableDrivers.length === 0) {
    const why = policy.unusableDrivers.length > 0 ? policy.unusableDrivers.join(', ') : 'no wake driver configured';
    out.push(`no configured driver can wake it (${why})`);
  }
  if (podsOnNode.length === 0) return out;
  for (const p of podsOnNode) {
    if (p.phase === 'Succeeded' || p.phase === 'Failed' || p.terminating) continue;
    if (p.labels[POWER_LABELS.preventSleep] === 'true') out.push(`pod ${podKey(p)} has ${POWER_LABELS.preventSleep}=true`);
  }
  const nodeSleepOk = flag(node, POWER_LABELS.sleepOk);
  const evict = podsToEvict(podsOnNode);
  for (const p of evict) {
    const why = cannotMove(p);
    if (why && !nodeSleepOk && !flag(p, POWER_LABELS.sleepOk)) out.push(`pod ${podKey(p)} cannot move: ${why}; label it ${POWER_LABELS.sleepOk}=true if that is fine`);
  }
  out.push(...pdbViolations(evict, pdbs));
  return out;
}

/** PodDisruptionBudgets that evicting all of `evict` at once would break. */
export function pdbViolations(evict: readonly ObservedPod[], pdbs: readonly ObservedPdb[]): string[] {
  const out: string[] = [];
  const sorted = pdbs.map((p) => ({ key: podKey(p), p })).sort(byKey).map(({ p }) => p);
  for (const pdb of sorted) {
    const covered = evict.filter((p) => p.namespace === pdb.namespace && matchesLabelSelector(p.labels, pdb.selector));
    if (covered.length > pdb.disruptionsAllowed) {
      const allowed = Math.max(0, pdb.disruptionsAllowed);
      out.push(
        `draining would evict ${covered.length} pod${covered.length === 1 ? '' : 's'} covered by PodDisruptionBudget ${podKey(pdb)}, which allows ${allowed} disruption${allowed === 1 ? '' : 's'} now`,
      );
    }
  }
  return out;
}
