// A small, explainable model of the scheduler's hard filters: node selector, required node
// affinity, taints/tolerations and resource requests against free capacity. Enough to tell
// whether a pending pod can only run on a sleeping node, and to say why in one sentence.
import type { LabelSelector, NodeSelectorRequirement, NodeSelectorTerm, ObservedNode, ObservedPod, PowerState, Resources, Taint, Toleration } from './types.js';

/** Taints Kubernetes itself puts on a cordoned or unreachable node: a sleeping node has them, an awake one will not. */
export const SLEEP_TAINT_KEYS: ReadonlySet<string> = new Set([
  'node.kubernetes.io/not-ready',
  'node.kubernetes.io/unreachable',
  'node.kubernetes.io/unschedulable',
]);

export function podKey(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

export function isDaemonSetPod(pod: ObservedPod): boolean {
  return pod.ownerKind === 'DaemonSet';
}

/** Pods that hold resources on their node (bound and not finished). */
export function holdsResources(pod: ObservedPod): boolean {
  return pod.nodeName !== undefined && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

export function matchesLabelSelector(labels: Record<string, string>, selector: LabelSelector): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(value as string))) return false;
    if (e.operator === 'NotIn' && has && values.includes(value as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function matchesRequirement(value: string | undefined, req: NodeSelectorRequirement): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      const a = Number.parseInt(value, 10);
      const b = Number.parseInt(values[0] as string, 10);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return req.operator === 'Gt' ? a > b : a < b;
    }
  }
}

function matchesTerm(node: ObservedNode, term: NodeSelectorTerm): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  // A term with no requirements matches no node (Kubernetes semantics).
  if (exprs.length === 0 && fields.length === 0) return false;
  return (
    exprs.every((r) => matchesRequirement(node.labels[r.key], r)) &&
    fields.every((r) => matchesRequirement(r.key === 'metadata.name' ? node.name : undefined, r))
  );
}

/** Required node affinity: terms ORed; no terms means no constraint. */
export function matchesNodeAffinity(node: ObservedNode, terms: readonly NodeSelectorTerm[]): boolean {
  return terms.length === 0 || terms.some((t) => matchesTerm(node, t));
}

export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint the pod does not tolerate (ignoring `ignoreKeys`). */
const NO_KEYS: ReadonlySet<string> = new Set();

export function untoleratedTaint(pod: ObservedPod, taints: readonly Taint[], ignoreKeys: ReadonlySet<string> = NO_KEYS): Taint | undefined {
  return taints.find((taint) => taint.effect !== 'PreferNoSchedule' && !ignoreKeys.has(taint.key) && !pod.tolerations.some((t) => tolerates(t, taint)));
}

function formatTaint(t: Taint): string {
  return `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
}

/** Resources requested by the pods bound to each node. */
export function requestedByNode(pods: readonly ObservedPod[]): Map<string, Resources> {
  const used = new Map<string, Resources>();
  for (const p of pods) {
    if (!holdsResources(p)) continue;
    const name = p.nodeName as string;
    const u = used.get(name) ?? { cpuMillis: 0, memoryBytes: 0 };
    u.cpuMillis += p.requests.cpuMillis;
    u.memoryBytes += p.requests.memoryBytes;
    used.set(name, u);
  }
  return used;
}

function formatCpu(m: number): string {
  return m % 1000 === 0 ? `${m / 1000}` : `${m}m`;
}

function formatMem(b: number): string {
  const mi = b / 2 ** 20;
  return mi >= 1024 && Number.isInteger(mi / 1024) ? `${mi / 1024}Gi` : `${Math.round(mi)}Mi`;
}

export type FitFilter = 'selector' | 'affinity' | 'taint' | 'cpu' | 'memory';
export type FitResult = { fits: true } | { fits: false; filter: FitFilter; why: string };

/** The first hard filter that rejects `pod` on `node`, without building any text (hot path). */
export function failingFilter(pod: ObservedPod, node: ObservedNode, used: Resources | undefined, ignoreSleepTaints: boolean): FitFilter | undefined {
  for (const k in pod.nodeSelector) if (node.labels[k] !== pod.nodeSelector[k]) return 'selector';
  if (!matchesNodeAffinity(node, pod.requiredNodeAffinity)) return 'affinity';
  if (node.taints.length > 0 && untoleratedTaint(pod, node.taints, ignoreSleepTaints ? SLEEP_TAINT_KEYS : NO_KEYS)) return 'taint';
  const cpu = node.allocatable.cpuMillis - (used?.cpuMillis ?? 0);
  if (pod.requests.cpuMillis > cpu) return 'cpu';
  const mem = node.allocatable.memoryBytes - (used?.memoryBytes ?? 0);
  if (pod.requests.memoryBytes > mem) return 'memory';
  return undefined;
}

/**
 * Whether the scheduler's hard filters would accept `pod` on `node`, and if not, why.
 * `ignoreSleepTaints` drops the taints a sleeping node carries only because it sleeps
 * (not-ready, unreachable, unschedulable).
 */
export function podFitsNode(pod: ObservedPod, node: ObservedNode, used: Resources | undefined, ignoreSleepTaints: boolean): FitResult {
  const filter = failingFilter(pod, node, used, ignoreSleepTaints);
  switch (filter) {
    case undefined:
      return { fits: true };
    case 'selector': {
      const [k, v] = Object.entries(pod.nodeSelector).find(([key, value]) => node.labels[key] !== value) as [string, string];
      return { fits: false, filter, why: `nodeSelector ${k}=${v} not matched` };
    }
    case 'affinity':
      return { fits: false, filter, why: 'required node affinity not matched' };
    case 'taint': {
      const taint = untoleratedTaint(pod, node.taints, ignoreSleepTaints ? SLEEP_TAINT_KEYS : NO_KEYS) as Taint;
      return { fits: false, filter, why: `taint ${formatTaint(taint)} not tolerated` };
    }
    case 'cpu': {
      const free = node.allocatable.cpuMillis - (used?.cpuMillis ?? 0);
      return { fits: false, filter, why: `needs cpu ${formatCpu(pod.requests.cpuMillis)}, ${formatCpu(Math.max(0, free))} free` };
    }
    case 'memory': {
      const free = node.allocatable.memoryBytes - (used?.memoryBytes ?? 0);
      return { fits: false, filter, why: `needs memory ${formatMem(pod.requests.memoryBytes)}, ${formatMem(Math.max(0, free))} free` };
    }
  }
}

/** The node takes new pods right now: awake, Ready, not cordoned. */
export function isSchedulableAwake(node: ObservedNode): boolean {
  return node.power.state === 'awake' && node.ready && !node.unschedulable;
}

/** A pod waiting for the scheduler (not bound, not finished, not being deleted, not a DaemonSet pod). */
export function isUnscheduledPending(pod: ObservedPod): boolean {
  return pod.phase === 'Pending' && pod.nodeName === undefined && !pod.terminating && !isDaemonSetPod(pod);
}

export interface SleepingCandidate {
  node: string;
  state: PowerState;
}

export interface PodNeed {
  /** True when the pod fits no awake node but fits at least one node that is not awake. */
  needed: boolean;
  /** Non-awake nodes it fits, in name order. */
  candidates: SleepingCandidate[];
  /** One sentence: why it does or does not need a sleeping node. */
  reason: string;
}

/**
 * Whether a pending pod can only be scheduled on a node that is asleep (or on its way to or from
 * sleep), and why. Pure: `pods` gives the requests already bound to each node.
 */
export function podNeedsSleepingNode(
  pod: ObservedPod,
  nodes: readonly ObservedNode[],
  pods: readonly ObservedPod[],
  usedByNode: ReadonlyMap<string, Resources> = requestedByNode(pods),
  /** The caller already sorted `nodes` by name (decide() does). */
  nodesSorted = false,
): PodNeed {
  const who = `pod ${podKey(pod)}`;
  if (!isUnscheduledPending(pod)) return { needed: false, candidates: [], reason: `${who} is not waiting for the scheduler` };
  // Explanations are built for the first few nodes only: a 500-node cluster needs no 500-item reason.
  const awakeMisses: ObservedNode[] = [];
  const awakeFilters = new Set<FitFilter>();
  const otherMisses: ObservedNode[] = [];
  const candidates: SleepingCandidate[] = [];
  const sorted = nodesSorted ? nodes : [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const node of sorted) {
    const awake = isSchedulableAwake(node);
    const filter = failingFilter(pod, node, usedByNode.get(node.name), !awake);
    if (awake) {
      if (filter === undefined) return { needed: false, candidates: [], reason: `${who} pending, fits awake node ${node.name}` };
      awakeMisses.push(node);
      awakeFilters.add(filter);
    } else if (node.power.state === 'awake' || filter !== undefined) {
      // Awake by record but not Ready or cordoned by someone else is not ours to wake.
      otherMisses.push(node);
    } else {
      candidates.push({ node: node.name, state: node.power.state });
    }
  }
  const explain = (list: readonly ObservedNode[], withState: boolean): string => {
    const shown = list.slice(0, MAX_EXPLAINED).map((node) => {
      if (node.power.state === 'awake' && !isSchedulableAwake(node)) return `${node.name}: ${node.ready ? 'cordoned' : 'not Ready'}`;
      const fit = podFitsNode(pod, node, usedByNode.get(node.name), !isSchedulableAwake(node));
      const why = fit.fits ? 'fits' : fit.why;
      return withState ? `${node.name} (${node.power.state}): ${why}` : `${node.name}: ${why}`;
    });
    const more = list.length > MAX_EXPLAINED ? `; and ${list.length - MAX_EXPLAINED} more` : '';
    return shown.join('; ') + more;
  };
  const awakeText = awakeMisses.length > 0 ? `; awake nodes: ${explain(awakeMisses, false)}` : '; no node is awake';
  const rest = otherMisses.length > 0 ? `; others: ${explain(otherMisses, true)}` : '';
  if (candidates.length === 0) return { needed: false, candidates, reason: `${who} pending, fits no node, sleeping or awake${awakeText}${rest}` };
  const constraint = describeConstraint(awakeFilters);
  const listed = candidates.slice(0, MAX_EXPLAINED).map((c) => `${c.node} (${c.state})`).join(', ') + (candidates.length > MAX_EXPLAINED ? ` and ${candidates.length - MAX_EXPLAINED} more` : '');
  return { needed: true, candidates, reason: `${who} pending, ${constraint} only ${listed}${awakeText}${rest}` };
}

/** How many nodes a reason names before it says "and N more". */
export const MAX_EXPLAINED = 5;

const filterWords: Record<FitFilter, string> = {
  selector: 'selector matches',
  affinity: 'node affinity matches',
  taint: 'tolerations admit',
  cpu: 'free cpu fits',
  memory: 'free memory fits',
};

function describeConstraint(awakeFilters: ReadonlySet<FitFilter>): string {
  const [only] = [...awakeFilters];
  return awakeFilters.size === 1 && only ? filterWords[only] : 'fits';
}
