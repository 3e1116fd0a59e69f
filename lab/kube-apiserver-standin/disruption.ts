// PodDisruptionBudget status (the disruption controller's job) and the pods/eviction
// subresource that honours it, as policy/v1 does.
import { asArray, asObject, asString, getPath, isPlainObject, type JsonObject } from './json.js';
import { guarded, rfc3339, type Operations } from './operations.js';
import type { ResourceType } from './resources.js';
import { labelSelectorFromObject, labelsMatch } from './selectors.js';
import { ApiError, successStatus } from './status.js';
import { metaOf, nameOf, namespaceOf } from './store.js';

export interface PdbComputation {
  expectedPods: number;
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
}

export function podIsReady(pod: JsonObject): boolean {
  return asArray(getPath(pod, ['status', 'conditions'])).some((c) => isPlainObject(c) && c['type'] === 'Ready' && c['status'] === 'True');
}

function isTerminal(pod: JsonObject): boolean {
  const phase = getPath(pod, ['status', 'phase']);
  return phase === 'Succeeded' || phase === 'Failed';
}

export function pdbSelects(pdb: JsonObject, pod: JsonObject): boolean {
  if (namespaceOf(pdb) !== namespaceOf(pod)) return false;
  const sel = labelSelectorFromObject(getPath(pdb, ['spec', 'selector']));
  if (sel === 'nothing') return false;
  return labelsMatch(sel, asObject(metaOf(pod)['labels']) as Record<string, string>);
}

function scaled(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.endsWith('%')) {
    const pct = Number(value.slice(0, -1));
    const raw = (pct * total) / 100;
    return roundUp ? Math.ceil(raw) : Math.floor(raw);
  }
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return 0;
}

/** Counts for a PDB over the pods of its namespace (pods being deleted or finished do not count). */
export function computePdb(pdb: JsonObject, pods: readonly JsonObject[]): PdbComputation {
  const matching = pods.filter((p) => pdbSelects(pdb, p) && !isTerminal(p) && metaOf(p)['deletionTimestamp'] === undefined);
  const expectedPods = matching.length;
  const currentHealthy = matching.filter(podIsReady).length;
  const spec = asObject(pdb['spec']);
  let desiredHealthy: number;
  if (spec['maxUnavailable'] !== undefined) {
    desiredHealthy = Math.max(0, expectedPods - scaled(spec['maxUnavailable'], expectedPods, true));
  } else {
    desiredHealthy = scaled(spec['minAvailable'] ?? 1, expectedPods, true);
  }
  return { expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy) };
}

export class DisruptionController {
  private readonly ops: Operations;
  private readonly pods: ResourceType;
  private readonly pdbs: ResourceType;
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(ops: Operations) {
    this.ops = ops;
    const pods = ops.registry.lookup('', 'v1', 'pods');
    const pdbs = ops.registry.lookup('policy', 'v1', 'poddisruptionbudgets');
    if (pods === undefined || pdbs === undefined) throw new Error('pods and poddisruptionbudgets must be registered');
    this.pods = pods;
    this.pdbs = pdbs;
  }

  start(): void {
    const mark = (obj: JsonObject): void => {
      const ns = namespaceOf(obj);
      if (ns !== undefined) this.markDirty(ns);
    };
    this.unsubscribe.push(this.ops.store.subscribe(this.pods.storageKey, (e) => mark(e.object)));
    this.unsubscribe.push(
      this.ops.store.subscribe(this.pdbs.storageKey, (e) => {
        // Our own status writes do not change the inputs.
        if (e.type === 'MODIFIED' && e.previous !== undefined && getPath(e.previous, ['metadata', 'generation']) === getPath(e.object, ['metadata', 'generation'])) return;
        mark(e.object);
      }),
    );
    for (const pdb of this.ops.store.list(this.pdbs.storageKey)) mark(pdb);
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private markDirty(ns: string): void {
    this.dirty.add(ns);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      guarded('DisruptionController', () => this.flush());
    });
  }

  /** Recomputes the status of every PDB in the namespaces that changed. */
  flush(): void {
    const namespaces = [...this.dirty];
    this.dirty.clear();
    for (const ns of namespaces) {
      const pdbs = this.ops.store.list(this.pdbs.storageKey, ns);
      if (pdbs.length === 0) continue;
      const pods = this.ops.store.list(this.pods.storageKey, ns);
      for (const pdb of pdbs) this.writeStatus(pdb, computePdb(pdb, pods));
    }
  }

  private writeStatus(pdb: JsonObject, c: PdbComputation): void {
    const generation = getPath(pdb, ['metadata', 'generation']) ?? 1;
    const allowed = c.disruptionsAllowed > 0;
    const old = asArray(getPath(pdb, ['status', 'conditions'])).filter(isPlainObject).find((x) => x['type'] === 'DisruptionAllowed');
    const conditionStatus = allowed ? 'True' : 'False';
    const transition = old !== undefined && old['status'] === conditionStatus ? old['lastTransitionTime'] : rfc3339(this.ops.now());
    this.ops.mutate(
      this.pdbs,
      namespaceOf(pdb),
      nameOf(pdb),
      (draft) => {
        draft['status'] = {
          observedGeneration: generation,
          disruptionsAllowed: c.disruptionsAllowed,
          currentHealthy: c.currentHealthy,
          desiredHealthy: c.desiredHealthy,
          expectedPods: c.expectedPods,
          conditions: [
            {
              type: 'DisruptionAllowed',
              status: conditionStatus,
              observedGeneration: generation,
              lastTransitionTime: transition,
              reason: allowed ? 'SufficientPods' : 'InsufficientPods',
              message: '',
            },
          ],
        };
      },
      { manager: 'kube-controller-manager', subresource: 'status' },
    );
  }
}

/** POST pods/<name>/eviction: deletes the pod unless that would violate its PodDisruptionBudget. */
export function evictPod(ops: Operations, namespace: string, name: string, body: unknown, dryRun: boolean): JsonObject {
  const pods = ops.registry.lookup('', 'v1', 'pods');
  const pdbs = ops.registry.lookup('policy', 'v1', 'poddisruptionbudgets');
  if (pods === undefined || pdbs === undefined) throw ApiError.internal('pods not registered');
  const eviction = asObject(body);
  const evictionName = asString(getPath(eviction, ['metadata', 'name']));
  if (evictionName !== undefined && evictionName !== name) throw ApiError.badRequest('name in URL does not match name in Eviction object');
  const pod = ops.store.get(pods.storageKey, namespace, name);
  if (pod === undefined) throw ApiError.notFound(pods, name);
  const deleteOptions = asObject(eviction['deleteOptions']);
  const preconditions = asObject(deleteOptions['preconditions']);
  const uid = asString(preconditions['uid']);
  const rv = asString(preconditions['resourceVersion']);
  const doDelete = (): JsonObject => {
    if (!dryRun) {
      ops.delete(pods, namespace, name, {
        preconditions: { ...(uid !== undefined ? { uid } : {}), ...(rv !== undefined ? { resourceVersion: rv } : {}) },
      });
    }
    return successStatus(201);
  };
  const phase = getPath(pod, ['status', 'phase']);
  if (metaOf(pod)['deletionTimestamp'] !== undefined || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending') return doDelete();
  const matching = ops.store.list(pdbs.storageKey, namespace).filter((p) => pdbSelects(p, pod));
  if (matching.length === 0) return doDelete();
  if (matching.length > 1) {
    throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
  }
  const pdb = matching[0] as JsonObject;
  const c = computePdb(pdb, ops.store.list(pods.storageKey, namespace));
  const policy = getPath(pdb, ['spec', 'unhealthyPodEvictionPolicy']);
  if (!podIsReady(pod) && (policy === 'AlwaysAllow' || c.currentHealthy >= c.desiredHealthy)) return doDelete();
  if (c.disruptionsAllowed <= 0) {
    throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
      causes: [
        {
          reason: 'DisruptionBudget',
          message: `The disruption budget ${nameOf(pdb)} needs ${c.desiredHealthy} healthy pods and has ${c.currentHealthy} currently`,
        },
      ],
    });
  }
  return doDelete();
}
