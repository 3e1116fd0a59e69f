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
export function untoleratedTaint(pod: ObservedPod, taints: readonly Taint[], ignoreKeys: ReadonlySet<string> = new Set()): Taint | undefined {
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

/**
 * Whether the scheduler's hard filters would accept `pod` on `node`. `ignoreSleepTaints` drops the
 * taints a sleeping node carries only because it sleeps (not-ready, unreachable, unschedulable).
 */
export function podFitsNode(pod: ObservedPod, node: ObservedNode, used: Resources | undefined, ignoreSleepTaints: boolean): FitResult {
  for (const [k, v] of Object.entries(pod.nodeSelector)) {
    if (node.labels[k] !== v) return { fits: false, filter: 'selector', why: `nodeSelector ${k}=${v} not matched` };
  }
  if (!matchesNodeAffinity(node, pod.requiredNodeAffinity)) return { fits: false, filter: 'affinity', why: 'required node affinity not matched' };
  const taint = untoleratedTaint(pod, node.taints, ignoreSleepTaints ? SLEEP_TAINT_KEYS : new Set());
  if (taint) return { fits: false, filter: 'taint', why: `taint ${formatTaint(taint)} not tolerated` };
  const u = used ?? { cpuMillis: 0, memoryBytes: 0 };
  const freeCpu = node.allocatable.cpuMillis - u.cpuMillis;
  const freeMem = node.allocatable.memoryBytes - u.memoryBytes;
  if (pod.requests.cpuMillis > freeCpu) return { fits: false, filter: 'cpu', why: `needs cpu ${formatCpu(pod.requests.cpuMillis)}, ${formatCpu(Math.max(0, freeCpu))} free` };
  if (pod.requests.memoryBytes > freeMem) return { fits: false, filter: 'memory', why: `needs memory ${formatMem(pod.requests.memoryBytes)}, ${formatMem(Math.max(0, freeMem))} free` };
  return { fits: true };
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
): PodNeed {
  const who = `pod ${podKey(pod)}`;
  if (!isUnscheduledPending(pod)) return { needed: false, candidates: [], reason: `${who} is not waiting for the scheduler` };
  const awakeMisses: string[] = [];
  const awakeFilters = new Set<FitFilter>();
  const otherMisses: string[] = [];
  const candidates: SleepingCandidate[] = [];
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const node of sorted) {
    const awake = isSchedulableAwake(node);
    const fit = podFitsNode(pod, node, usedByNode.get(node.name), !awake);
    if (awake) {
      if (fit.fits) return { needed: false, candidates: [], reason: `${who} pending, fits awake node ${node.name}` };
      awakeMisses.push(`${node.name}: ${fit.why}`);
      awakeFilters.add(fit.filter);
    } else if (node.power.state === 'awake') {
      // Awake by record but not Ready or cordoned by someone else: not ours to wake.
      otherMisses.push(`${node.name}: ${node.ready ? 'cordoned' : 'not Ready'}`);
    } else if (fit.fits) {
      candidates.push({ node: node.name, state: node.power.state });
    } else {
      otherMisses.push(`${node.name} (${node.power.state}): ${fit.why}`);
    }
  }
  const awakeText = awakeMisses.length > 0 ? `; awake nodes: ${awakeMisses.join('; ')}` : '; no node is awake';
  const rest = otherMisses.length > 0 ? `; others: ${otherMisses.join('; ')}` : '';
  if (candidates.length === 0) return { needed: false, candidates, reason: `${who} pending, fits no node, sleeping or awake${awakeText}${rest}` };
  const constraint = describeConstraint(awakeFilters);
  const list = candidates.map((c) => `${c.node} (${c.state})`).join(', ');
  return { needed: true, candidates, reason: `${who} pending, ${constraint} only ${list}${awakeText}${rest}` };
}

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
