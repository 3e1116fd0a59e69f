// Kubernetes objects (as the informers hold them) -> the core's Observed types. Pure, and total:
// a field that cannot be read (a quantity that is not one, a timestamp that is not a time) never
// throws; it is read conservatively and reported through `onProblem`, so one odd object can
// neither stop the informers nor hide the rest of the cluster from decide().
import type { V1Container, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import { cpuMillis, memoryBytes } from '../core/quantity.js';
import type { LabelSelector, NodeSelectorTerm, ObservedNode, ObservedPdb, ObservedPod, ObservedVolume, PodPhase, Resources, Taint, Toleration } from '../core/types.js';
import { parseHolds, parsePowerAnnotations } from './annotations.js';

/** Told what could not be read, in a sentence; the object is observed anyway. */
export type ProblemSink = (message: string) => void;

const ignore: ProblemSink = () => undefined;

export function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** A quantity read with `parse`; one that is not a quantity counts as 0 and is reported. */
function quantity(parse: (q: string | number | undefined) => number, value: string | number | undefined, what: string, onProblem: ProblemSink): number {
  try {
    return parse(value);
  } catch {
    onProblem(`${what} ${JSON.stringify(value)} is not a Kubernetes quantity; counted as 0`);
    return 0;
  }
}

function resources(values: Record<string, string | number> | undefined, what: string, onProblem: ProblemSink): Resources {
  return { cpuMillis: quantity(cpuMillis, values?.['cpu'], `${what} cpu`, onProblem), memoryBytes: quantity(memoryBytes, values?.['memory'], `${what} memory`, onProblem) };
}

export function observeNode(node: V1Node, firstSeenAt: number, lastActivityAt: number | undefined, onProblem: ProblemSink = ignore): ObservedNode {
  const annotations = node.metadata?.annotations ?? {};
  const { cordonedByPowerManager, wakeTriggeredAt: _w, energySavedKwh: _e, ...power } = parsePowerAnnotations(annotations, firstSeenAt);
  return {
    name: node.metadata?.name ?? '',
    ready: nodeReady(node),
    unschedulable: node.spec?.unschedulable === true,
    cordonedByPowerManager,
    labels: node.metadata?.labels ?? {},
    annotations,
    taints: (node.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect as Taint['effect'] })),
    allocatable: resources(node.status?.allocatable, 'allocatable', onProblem),
    power,
    lastActivityAt,
    controllerObservedSince: firstSeenAt,
    holds: parseHolds(annotations),
  };
}

/** Whether claim `namespace/claim` is bound to a node-local PersistentVolume (undefined: not known). */
export type LocalClaimResolver = (namespace: string, claim: string) => boolean | undefined;

function volumeOf(v: V1Volume, namespace: string, localClaim: LocalClaimResolver | undefined): ObservedVolume {
  if (v.hostPath) return { name: v.name, kind: 'hostPath' };
  if (v.emptyDir) return { name: v.name, kind: 'emptyDir' };
  if (v.persistentVolumeClaim) {
    const local = localClaim?.(namespace, v.persistentVolumeClaim.claimName);
    return { name: v.name, kind: 'pvc', ...(local === undefined ? {} : { localPersistentVolume: local }) };
  }
  if (v.configMap) return { name: v.name, kind: 'configMap' };
  if (v.secret) return { name: v.name, kind: 'secret' };
  if (v.projected || v.downwardAPI) return { name: v.name, kind: 'projected' };
  return { name: v.name, kind: 'other' };
}

const PHASES: readonly PodPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

/** The controller owner's kind (ReplicaSet, DaemonSet, ...), else the first owner's; undefined for a bare Pod. */
function ownerKind(pod: V1Pod): string | undefined {
  const owners = pod.metadata?.ownerReferences ?? [];
  return (owners.find((o) => o.controller) ?? owners[0])?.kind;
}

/** Sum of the containers' requests (init containers ignored, as decide() models them). */
function podRequests(containers: readonly V1Container[], onProblem: ProblemSink): Resources {
  const total = { cpuMillis: 0, memoryBytes: 0 };
  for (const c of containers) {
    const r = resources(c.resources?.requests, `container ${c.name} request`, onProblem);
    total.cpuMillis += r.cpuMillis;
    total.memoryBytes += r.memoryBytes;
  }
  return total;
}

function phaseOf(pod: V1Pod): PodPhase {
  const phase = pod.status?.phase;
  return phase && (PHASES as readonly string[]).includes(phase) ? (phase as PodPhase) : 'Pending';
}

/** creationTimestamp in ms; a missing or unreadable one is 0 (oldest, so the pod is never starved). */
function createdAt(pod: V1Pod, onProblem: ProblemSink): number {
  const raw = pod.metadata?.creationTimestamp;
  if (!raw) return 0;
  const t = new Date(raw).getTime();
  if (Number.isNaN(t)) onProblem(`creationTimestamp ${JSON.stringify(raw)} is not a time; counted as the oldest`);
  return Number.isNaN(t) ? 0 : t;
}

/** What the scheduler's hard filters read: node selector, required node affinity, tolerations. */
function placement(spec: V1PodSpec | undefined): Pick<ObservedPod, 'nodeSelector' | 'requiredNodeAffinity' | 'tolerations'> {
  return {
    nodeSelector: spec?.nodeSelector ?? {},
    requiredNodeAffinity: (spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) as NodeSelectorTerm[],
    tolerations: (spec?.tolerations ?? []) as Toleration[],
  };
}

export function observePod(pod: V1Pod, localClaim?: LocalClaimResolver, onProblem: ProblemSink = ignore): ObservedPod {
  const spec = pod.spec;
  const meta = pod.metadata ?? {};
  const namespace = meta.namespace ?? 'default';
  return {
    namespace,
    name: meta.name ?? '',
    nodeName: spec?.nodeName || undefined,
    phase: phaseOf(pod),
    ownerKind: ownerKind(pod),
    labels: meta.labels ?? {},
    annotations: meta.annotations ?? {},
    volumes: (spec?.volumes ?? []).map((v) => volumeOf(v, namespace, localClaim)),
    ...placement(spec),
    requests: podRequests(spec?.containers ?? [], onProblem),
    createdAt: createdAt(pod, onProblem),
    terminating: meta.deletionTimestamp ? true : undefined,
  };
}

/**
 * What stands for a pod observePod could not read at all: bound where the object says, counted as
 * running and as a bare pod, so its node is neither thought idle nor drained.
 */
export function unreadablePod(pod: V1Pod): ObservedPod {
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    nodeName: pod.spec?.nodeName || undefined,
    phase: 'Unknown',
    ownerKind: undefined,
    labels: {},
    annotations: {},
    volumes: [],
    nodeSelector: {},
    requiredNodeAffinity: [],
    tolerations: [],
    requests: { cpuMillis: 0, memoryBytes: 0 },
    createdAt: 0,
  };
}

export function observePdb(pdb: V1PodDisruptionBudget): ObservedPdb {
  return {
    namespace: pdb.metadata?.namespace ?? 'default',
    name: pdb.metadata?.name ?? '',
    selector: (pdb.spec?.selector ?? {}) as LabelSelector,
    // Unknown (no status yet): no disruption allowed.
    disruptionsAllowed: pdb.status?.disruptionsAllowed ?? 0,
  };
}

/** A PersistentVolume whose data lives on one node: `local`, `hostPath`, or pinned by node affinity. */
export function isNodeLocalVolume(pv: V1PersistentVolume): boolean {
  return Boolean(pv.spec?.local || pv.spec?.hostPath || pv.spec?.nodeAffinity?.required);
}

/** Resolves claims through the PVC and PV caches. */
export function localClaimResolver(pvc: (ns: string, name: string) => V1PersistentVolumeClaim | undefined, pv: (name: string) => V1PersistentVolume | undefined): LocalClaimResolver {
  return (ns, claim) => {
    const volumeName = pvc(ns, claim)?.spec?.volumeName;
    if (!volumeName) return undefined;
    const v = pv(volumeName);
    return v ? isNodeLocalVolume(v) : undefined;
  };
}
