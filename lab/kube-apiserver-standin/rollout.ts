// Rollout emulation: Deployments, StatefulSets, ReplicaSets and DaemonSets get the status a
// healthy controller would report once every replica is up, so `kubectl rollout status` and a
// deploy tool's wait finish. No Pods or ReplicaSets are created. DaemonSets count the nodes
// their pods would run on and report as available only those that are Ready. The annotation
// `standin.vmstation.io/rollout: hold` keeps a workload's rollout unfinished (to test timeouts).
import { createHash } from 'node:crypto';
import { asArray, asObject, asStringMap, getPath, isPlainObject, type JsonObject } from './json.js';
import { guarded, rfc3339, type Operations } from './operations.js';
import type { ResourceType } from './resources.js';
import { metaOf, nameOf, namespaceOf } from './store.js';
import { nodeIsReady, toleratesAll, type Taint } from './scheduling.js';

export const HOLD_ANNOTATION = 'standin.vmstation.io/rollout';

function templateHash(obj: JsonObject): string {
  return createHash('sha256')
    .update(JSON.stringify(getPath(obj, ['spec', 'template']) ?? {}))
    .digest('hex')
    .slice(0, 10);
}

function held(obj: JsonObject): boolean {
  return asStringMap(metaOf(obj)['annotations'])[HOLD_ANNOTATION] === 'hold';
}

// DaemonSet pods tolerate these by default (added by the DaemonSet controller).
const DAEMONSET_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' },
];

export class RolloutEmulator {
  private readonly ops: Operations;
  private readonly types: ResourceType[];
  private readonly nodes: ResourceType;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly dirty = new Map<string, { type: ResourceType; ns: string | undefined; name: string }>();
  private scheduled = false;

  constructor(ops: Operations) {
    this.ops = ops;
    const get = (g: string, p: string): ResourceType => {
      const t = ops.registry.lookup(g, 'v1', p);
      if (t === undefined) throw new Error(`${g}/${p} not registered`);
      return t;
    };
    this.types = [get('apps', 'deployments'), get('apps', 'statefulsets'), get('apps', 'replicasets'), get('apps', 'daemonsets')];
    this.nodes = get('', 'nodes');
  }

  start(): void {
    for (const t of this.types) {
      this.unsubscribe.push(
        this.ops.store.subscribe(t.storageKey, (e) => {
          if (e.type === 'DELETED') return;
          const gen = getPath(e.object, ['metadata', 'generation']);
          const observed = getPath(e.object, ['status', 'observedGeneration']);
          const annotationsChanged = e.previous !== undefined && held(e.previous) !== held(e.object);
          if (gen !== observed || annotationsChanged) this.mark(t, e.object);
        }),
      );
      for (const obj of this.ops.store.list(t.storageKey)) this.mark(t, obj);
    }
    const ds = this.types[3] as ResourceType;
    this.unsubscribe.push(
      this.ops.store.subscribe(this.nodes.storageKey, () => {
        for (const obj of this.ops.store.list(ds.storageKey)) this.mark(ds, obj);
      }),
    );
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private mark(type: ResourceType, obj: JsonObject): void {
    const ns = namespaceOf(obj);
    this.dirty.set(`${type.storageKey}|${ns ?? ''}|${nameOf(obj)}`, { type, ns, name: nameOf(obj) });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      guarded('RolloutEmulator', () => this.flush());
    });
  }

  flush(): void {
    const work = [...this.dirty.values()];
    this.dirty.clear();
    for (const w of work) {
      this.ops.mutate(w.type, w.ns, w.name, (draft) => this.computeStatus(w.type, draft), {
        manager: 'kube-controller-manager',
        subresource: 'status',
      });
    }
  }

  private computeStatus(type: ResourceType, obj: JsonObject): void {
    const generation = getPath(obj, ['metadata', 'generation']) ?? 1;
    const replicas = typeof getPath(obj, ['spec', 'replicas']) === 'number' ? (getPath(obj, ['spec', 'replicas']) as number) : 1;
    const hold = held(obj);
    const up = hold ? 0 : replicas;
    const now = rfc3339(this.ops.now());
    const hash = templateHash(obj);
    const name = nameOf(obj);
    switch (type.plural) {
      case 'deployments':
        obj['status'] = {
          observedGeneration: generation,
          replicas,
          updatedReplicas: up,
          readyReplicas: up,
          availableReplicas: up,
          ...(hold ? { unavailableReplicas: replicas } : {}),
          conditions: [
            condition(obj, 'Available', hold ? 'False' : 'True', hold ? 'MinimumReplicasUnavailable' : 'MinimumReplicasAvailable', hold ? 'Deployment does not have minimum availability.' : 'Deployment has minimum availability.', now),
            condition(obj, 'Progressing', 'True', hold ? 'ReplicaSetUpdated' : 'NewReplicaSetAvailable', hold ? `ReplicaSet "${name}-${hash}" is progressing.` : `ReplicaSet "${name}-${hash}" has successfully progressed.`, now),
          ],
        };
        break;
      case 'replicasets':
        obj['status'] = { replicas, fullyLabeledReplicas: replicas, readyReplicas: up, availableReplicas: up, observedGeneration: generation };
        break;
      case 'statefulsets': {
        const prevRevision = getPath(obj, ['status', 'currentRevision']);
        obj['status'] = {
          observedGeneration: generation,
          replicas,
          readyReplicas: up,
          currentReplicas: up,
          updatedReplicas: up,
          availableReplicas: up,
          currentRevision: hold && typeof prevRevision === 'string' ? prevRevision : `${name}-${hash}`,
          updateRevision: `${name}-${hash}`,
          collisionCount: 0,
        };
        break;
      }
      case 'daemonsets': {
        const podSpec = asObject(getPath(obj, ['spec', 'template', 'spec']));
        const selector = asStringMap(podSpec['nodeSelector']);
        const tolerations = [...asArray(podSpec['tolerations']).filter(isPlainObject), ...DAEMONSET_TOLERATIONS] as JsonObject[];
        let desired = 0;
        let ready = 0;
        for (const node of this.ops.store.list(this.nodes.storageKey)) {
          const labels = asStringMap(metaOf(node)['labels']);
          if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) continue;
          const taints = asArray(getPath(node, ['spec', 'taints'])).filter(isPlainObject) as unknown as Taint[];
          if (!toleratesAll(tolerations, taints)) continue;
          desired++;
          if (nodeIsReady(node)) ready++;
        }
        const avail = hold ? 0 : ready;
        obj['status'] = {
          currentNumberScheduled: desired,
          numberMisscheduled: 0,
          desiredNumberScheduled: desired,
          numberReady: avail,
          observedGeneration: generation,
          updatedNumberScheduled: hold ? 0 : desired,
          numberAvailable: avail,
          ...(desired - avail > 0 ? { numberUnavailable: desired - avail } : {}),
        };
        break;
      }
    }
  }
}

function condition(obj: JsonObject, type: string, status: string, reason: string, message: string, now: string): JsonObject {
  const old = asArray(getPath(obj, ['status', 'conditions'])).filter(isPlainObject).find((c) => c['type'] === type);
  const same = old !== undefined && old['status'] === status;
  return {
    type,
    status,
    lastUpdateTime: same && old['reason'] === reason ? old['lastUpdateTime'] : now,
    lastTransitionTime: same ? old['lastTransitionTime'] : now,
    reason,
    message,
  };
}
