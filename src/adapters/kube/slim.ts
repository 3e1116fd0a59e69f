// The fields the power manager reads, and nothing else. A Pod as served is several KiB
// (managedFields, last-applied annotations, container specs, statuses); 30,000 of them held in
// full cost hundreds of MiB. Every object, listed or watched, is cut down before the informer
// (informer.ts) caches it.
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Pod annotations the power manager reads (its own keys and the mirror-pod marker). */
function keptAnnotations(a: unknown): Record<string, string> | undefined {
  if (!isObj(a)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) if (k.startsWith('vmstation.io/') || k.startsWith('kubernetes.io/config.')) out[k] = String(v);
  return out;
}

function slimMeta(m: unknown, annotations: (a: unknown) => Record<string, string> | undefined = (a) => (isObj(a) ? (a as Record<string, string>) : undefined)): Obj {
  if (!isObj(m)) return {};
  const owners = Array.isArray(m['ownerReferences']) ? (m['ownerReferences'] as Obj[]).map((o) => ({ apiVersion: o['apiVersion'], kind: o['kind'], name: o['name'], uid: o['uid'], controller: o['controller'] })) : undefined;
  return {
    name: m['name'],
    namespace: m['namespace'],
    uid: m['uid'],
    resourceVersion: m['resourceVersion'],
    creationTimestamp: m['creationTimestamp'],
    deletionTimestamp: m['deletionTimestamp'],
    labels: m['labels'],
    annotations: annotations(m['annotations']),
    ownerReferences: owners,
  };
}

export function slimPod(pod: V1Pod): V1Pod {
  const p = pod as unknown as Obj;
  const spec = isObj(p['spec']) ? p['spec'] : {};
  const status = isObj(p['status']) ? p['status'] : {};
  const affinity = isObj(spec['affinity']) && isObj(spec['affinity']['nodeAffinity']) ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: spec['affinity']['nodeAffinity']['requiredDuringSchedulingIgnoredDuringExecution'] } } : undefined;
  const volumes = Array.isArray(spec['volumes'])
    ? (spec['volumes'] as Obj[]).map((v) => {
        const kind = ['hostPath', 'emptyDir', 'persistentVolumeClaim', 'configMap', 'secret', 'projected', 'downwardAPI'].find((k) => v[k] !== undefined);
        return { name: v['name'], ...(kind ? { [kind]: kind === 'persistentVolumeClaim' ? { claimName: (v[kind] as Obj)['claimName'] } : {} } : {}) };
      })
    : undefined;
  const containers = Array.isArray(spec['containers'])
    ? (spec['containers'] as Obj[]).map((c) => ({ name: c['name'], resources: isObj(c['resources']) ? { requests: c['resources']['requests'] } : undefined }))
    : [];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: slimMeta(p['metadata'], keptAnnotations),
    spec: { nodeName: spec['nodeName'], nodeSelector: spec['nodeSelector'], affinity, tolerations: spec['tolerations'], volumes, containers },
    status: { phase: status['phase'] },
  } as unknown as V1Pod;
}

export function slimNode(node: V1Node): V1Node {
  const n = node as unknown as Obj;
  const spec = isObj(n['spec']) ? n['spec'] : {};
  const status = isObj(n['status']) ? n['status'] : {};
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as Obj[]).map((c) => ({ type: c['type'], status: c['status'], reason: c['reason'] })) : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: slimMeta(n['metadata']),
    spec: { unschedulable: spec['unschedulable'], taints: spec['taints'] },
    status: { conditions, allocatable: status['allocatable'], addresses: status['addresses'] },
  } as unknown as V1Node;
}

export function slimPdb(pdb: V1PodDisruptionBudget): V1PodDisruptionBudget {
  const p = pdb as unknown as Obj;
  const spec = isObj(p['spec']) ? p['spec'] : {};
  const status = isObj(p['status']) ? p['status'] : {};
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: slimMeta(p['metadata']), spec: { selector: spec['selector'] }, status: { disruptionsAllowed: status['disruptionsAllowed'] } } as unknown as V1PodDisruptionBudget;
}

export function slimPvc(pvc: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  const p = pvc as unknown as Obj;
  const spec = isObj(p['spec']) ? p['spec'] : {};
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: slimMeta(p['metadata'], () => undefined), spec: { volumeName: spec['volumeName'] } } as unknown as V1PersistentVolumeClaim;
}

/** Keeps only whether the volume is node-local (`local`, `hostPath`, required node affinity). */
export function slimPv(pv: V1PersistentVolume): V1PersistentVolume {
  const p = pv as unknown as Obj;
  const spec = isObj(p['spec']) ? p['spec'] : {};
  const required = isObj(spec['nodeAffinity']) ? spec['nodeAffinity']['required'] : undefined;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: slimMeta(p['metadata'], () => undefined),
    spec: { ...(spec['local'] ? { local: { path: '' } } : {}), ...(spec['hostPath'] ? { hostPath: { path: '' } } : {}), ...(required ? { nodeAffinity: { required } } : {}) },
  } as unknown as V1PersistentVolume;
}
