// Kubernetes objects (as the informers hold them) -> the core's Observed types. Pure.
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Volume } from '@kubernetes/client-node';
import { cpuMillis, memoryBytes } from '../core/quantity.js';
import type { LabelSelector, NodeSelectorTerm, ObservedNode, ObservedPdb, ObservedPod, ObservedVolume, PodPhase, Taint, Toleration } from '../core/types.js';
import { parsePowerAnnotations } from './annotations.js';

export function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function observeNode(node: V1Node, firstSeenAt: number, lastActivityAt: number | undefined): ObservedNode {
  const annotations = node.metadata?.annotations ?? {};
  const { cordonedByPowerManager, wakeTriggeredAt: _w, energySavedKwh: _e, ...power } = parsePowerAnnotations(annotations, firstSeenAt);
  const alloc = node.status?.allocatable ?? {};
  return {
    name: node.metadata?.name ?? '',
    ready: nodeReady(node),
    unschedulable: node.spec?.unschedulable === true,
    cordonedByPowerManager,
    labels: node.metadata?.labels ?? {},
    annotations,
    taints: (node.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect as Taint['effect'] })),
    allocatable: { cpuMillis: cpuMillis(alloc.cpu), memoryBytes: memoryBytes(alloc.memory) },
    power,
    lastActivityAt,
    controllerObservedSince: firstSeenAt,
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

export function observePod(pod: V1Pod, localClaim?: LocalClaimResolver): ObservedPod {
  const spec = pod.spec;
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  let cpu = 0;
  let mem = 0;
  for (const c of spec?.containers ?? []) {
    cpu += cpuMillis(c.resources?.requests?.cpu);
    mem += memoryBytes(c.resources?.requests?.memory);
  }
  const phase = pod.status?.phase;
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return {
    namespace: pod.metadata?.namespace ?? 'default',
    name: pod.metadata?.name ?? '',
    nodeName: spec?.nodeName || undefined,
    phase: phase && (PHASES as readonly string[]).includes(phase) ? (phase as PodPhase) : 'Pending',
    ownerKind: owner?.kind,
    labels: pod.metadata?.labels ?? {},
    annotations: pod.metadata?.annotations ?? {},
    volumes: (spec?.volumes ?? []).map((v) => volumeOf(v, pod.metadata?.namespace ?? 'default', localClaim)),
    nodeSelector: spec?.nodeSelector ?? {},
    requiredNodeAffinity: terms as NodeSelectorTerm[],
    tolerations: (spec?.tolerations ?? []) as Toleration[],
    requests: { cpuMillis: cpu, memoryBytes: mem },
    createdAt: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : 0,
    terminating: pod.metadata?.deletionTimestamp ? true : undefined,
  };
}

export function observePdb(pdb: V1PodDisruptionBudget): ObservedPdb {
  return {
    namespace: pdb.metadata?.namespace ?? 'default',
    name: pdb.metadata?.name ?? '',
    selector: (pdb.spec?.selector ?? {}) as LabelSelector,
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
