// A trivial scheduler ("binder"): pending pods without spec.nodeName are bound to a Ready,
// schedulable node that matches their nodeSelector, required node affinity, tolerations and
// resource requests (least-loaded node wins, ties by name). Pods that fit nowhere get
// PodScheduled=False/Unschedulable with the real scheduler's message shape. It reacts to watch
// events at once (no polling), and retries unschedulable pods when nodes or pods change.
import { asArray, asObject, asString, asStringMap, getPath, isPlainObject, type JsonObject } from './json.js';
import { guarded, rfc3339, type Operations } from './operations.js';
import { parseCpuMillis, parseQuantity } from './quantity.js';
import type { ResourceType } from './resources.js';
import { metaOf, nameOf, namespaceOf, objectKey, type StoreEvent } from './store.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export function nodeIsReady(node: JsonObject): boolean {
  return asArray(getPath(node, ['status', 'conditions'])).some((c) => isPlainObject(c) && c['type'] === 'Ready' && c['status'] === 'True');
}

export function tolerates(toleration: JsonObject, taint: Taint): boolean {
  const effect = asString(toleration['effect']);
  if (effect !== undefined && effect !== '' && effect !== taint.effect) return false;
  const key = asString(toleration['key']);
  const op = asString(toleration['operator']) ?? 'Equal';
  if (key === undefined || key === '') return op === 'Exists';
  if (key !== taint.key) return false;
  if (op === 'Exists') return true;
  return (asString(toleration['value']) ?? '') === (taint.value ?? '');
}

/** True when every NoSchedule/NoExecute taint is tolerated (PreferNoSchedule never blocks). */
export function toleratesAll(tolerations: readonly JsonObject[], taints: readonly Taint[]): boolean {
  return untolerated(tolerations, taints) === undefined;
}

function untolerated(tolerations: readonly JsonObject[], taints: readonly Taint[]): Taint | undefined {
  return taints.find((t) => (t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerations.some((tol) => tolerates(tol, t)));
}

function matchExpression(expr: JsonObject, labels: Record<string, string>): boolean {
  const key = asString(expr['key']) ?? '';
  const op = asString(expr['operator']) ?? '';
  const values = asArray(expr['values']).filter((v): v is string => typeof v === 'string');
  const has = Object.prototype.hasOwnProperty.call(labels, key);
  const v = labels[key];
  switch (op) {
    case 'In':
      return has && values.includes(v ?? '');
    case 'NotIn':
      return !has || !values.includes(v ?? '');
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(v) > Number(values[0]);
    case 'Lt':
      return has && Number(v) < Number(values[0]);
    default:
      return false;
  }
}

function requiredTerms(pod: JsonObject): JsonObject[] {
  return asArray(getPath(pod, ['spec', 'affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms'])).filter(isPlainObject);
}

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity. */
export function nodeMatchesPod(pod: JsonObject, node: JsonObject): boolean {
  const labels = asStringMap(metaOf(node)['labels']);
  const selector = asStringMap(getPath(pod, ['spec', 'nodeSelector']));
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return termsMatch(requiredTerms(pod), labels, nameOf(node));
}

function termsMatch(terms: readonly JsonObject[], labels: Record<string, string>, nodeName: string): boolean {
  if (terms.length === 0) return true;
  const fields = { 'metadata.name': nodeName };
  return terms.some((term) => {
    const exprs = asArray(term['matchExpressions']).filter(isPlainObject);
    const fieldExprs = asArray(term['matchFields']).filter(isPlainObject);
    if (exprs.length === 0 && fieldExprs.length === 0) return false;
    return exprs.every((e) => matchExpression(e, labels)) && fieldExprs.every((e) => matchExpression(e, fields));
  });
}

export interface Requests {
  cpu: number;
  memory: number;
}

export function podRequests(pod: JsonObject): Requests {
  let cpu = 0;
  let memory = 0;
  for (const c of asArray(getPath(pod, ['spec', 'containers'])).filter(isPlainObject)) {
    const res = asObject(c['resources']);
    const req = asObject(res['requests']);
    const lim = asObject(res['limits']);
    cpu += parseCpuMillis(req['cpu'] ?? lim['cpu'] ?? 0);
    memory += parseQuantity(req['memory'] ?? lim['memory'] ?? 0);
  }
  return { cpu, memory };
}

export function effectiveTaints(node: JsonObject): Taint[] {
  const taints = asArray(getPath(node, ['spec', 'taints'])).filter(isPlainObject) as unknown as Taint[];
  if (!nodeIsReady(node) && !taints.some((t) => t.key === 'node.kubernetes.io/unreachable' || t.key === 'node.kubernetes.io/not-ready')) {
    return [...taints, { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }];
  }
  return taints;
}

interface Usage {
  cpu: number;
  memory: number;
  pods: number;
}

function counts(pod: JsonObject): boolean {
  const phase = getPath(pod, ['status', 'phase']);
  return typeof getPath(pod, ['spec', 'nodeName']) === 'string' && phase !== 'Succeeded' && phase !== 'Failed';
}

export type FitResult = { fits: true } | { fits: false; reason: string };

/** What the filters need from a node, parsed once per scheduling pass. */
export interface NodeInfo {
  node: JsonObject;
  name: string;
  unschedulable: boolean;
  taints: Taint[];
  labels: Record<string, string>;
  cpu: number | undefined;
  memory: number | undefined;
  maxPods: number;
}

export function nodeInfo(node: JsonObject): NodeInfo {
  const alloc = asObject(getPath(node, ['status', 'allocatable']));
  return {
    node,
    name: nameOf(node),
    unschedulable: getPath(node, ['spec', 'unschedulable']) === true,
    taints: effectiveTaints(node),
    labels: asStringMap(metaOf(node)['labels']),
    cpu: alloc['cpu'] === undefined ? undefined : parseCpuMillis(alloc['cpu']),
    memory: alloc['memory'] === undefined ? undefined : parseQuantity(alloc['memory']),
    maxPods: alloc['pods'] === undefined ? 110 : parseQuantity(alloc['pods']),
  };
}

/** What the filters need from a pod, parsed once. */
export interface PodInfo {
  pod: JsonObject;
  tolerations: JsonObject[];
  selector: Array<[string, string]>;
  terms: JsonObject[];
  requests: Requests;
}

export function podInfo(pod: JsonObject): PodInfo {
  return {
    pod,
    tolerations: asArray(getPath(pod, ['spec', 'tolerations'])).filter(isPlainObject),
    selector: Object.entries(asStringMap(getPath(pod, ['spec', 'nodeSelector']))),
    terms: requiredTerms(pod),
    requests: podRequests(pod),
  };
}

/** The scheduler's filters in its order: NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit. */
export function fits(p: PodInfo, n: NodeInfo, usage: Usage | undefined): FitResult {
  if (n.unschedulable && !p.tolerations.some((t) => tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))) {
    return { fits: false, reason: 'node(s) were unschedulable' };
  }
  const bad = untolerated(p.tolerations, n.taints);
  if (bad !== undefined) return { fits: false, reason: `node(s) had untolerated taint {${bad.key}: ${bad.value ?? ''}}` };
  for (const [k, v] of p.selector) if (n.labels[k] !== v) return { fits: false, reason: "node(s) didn't match Pod's node affinity/selector" };
  if (!termsMatch(p.terms, n.labels, n.name)) return { fits: false, reason: "node(s) didn't match Pod's node affinity/selector" };
  const u = usage ?? { cpu: 0, memory: 0, pods: 0 };
  if (u.pods + 1 > n.maxPods) return { fits: false, reason: 'Too many pods' };
  if (n.cpu !== undefined && p.requests.cpu > 0 && u.cpu + p.requests.cpu > n.cpu) return { fits: false, reason: 'Insufficient cpu' };
  if (n.memory !== undefined && p.requests.memory > 0 && u.memory + p.requests.memory > n.memory) return { fits: false, reason: 'Insufficient memory' };
  return { fits: true };
}

export function fitsNode(pod: JsonObject, node: JsonObject, usage: Usage | undefined): FitResult {
  return fits(podInfo(pod), nodeInfo(node), usage);
}

export function unschedulableMessage(total: number, reasons: Map<string, number>): string {
  if (total === 0) return 'no nodes available to schedule pods';
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available: ${parts.join(', ')}. preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
}

export class Binder {
  private readonly ops: Operations;
  private readonly pods: ResourceType;
  private readonly nodes: ResourceType;
  private readonly usage = new Map<string, Usage>();
  private readonly queue = new Set<string>();
  /** Pods that did not fit; retried when nodes change or capacity frees up. */
  private readonly unschedulable = new Set<string>();
  private scheduled = false;
  private readonly unsubscribe: Array<() => void> = [];
  bindings = 0;

  constructor(ops: Operations) {
    this.ops = ops;
    const pods = ops.registry.lookup('', 'v1', 'pods');
    const nodes = ops.registry.lookup('', 'v1', 'nodes');
    if (pods === undefined || nodes === undefined) throw new Error('pods and nodes must be registered');
    this.pods = pods;
    this.nodes = nodes;
  }

  start(): void {
    for (const pod of this.ops.store.list(this.pods.storageKey)) {
      this.account(pod, +1);
      this.consider(pod);
    }
    this.unsubscribe.push(this.ops.store.subscribe(this.pods.storageKey, (e) => this.onPod(e)));
    this.unsubscribe.push(
      this.ops.store.subscribe(this.nodes.storageKey, (e) => {
        this.lastNodeChange = e.rv;
        if (e.type !== 'DELETED' && e.previous !== undefined && !nodeSchedulingChanged(e.previous, e.object)) return;
        this.retryUnschedulable();
      }),
    );
    this.kick();
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private account(pod: JsonObject, sign: 1 | -1): void {
    if (!counts(pod)) return;
    const node = asString(getPath(pod, ['spec', 'nodeName'])) ?? '';
    const u = this.usage.get(node) ?? { cpu: 0, memory: 0, pods: 0 };
    const r = podRequests(pod);
    u.cpu += sign * r.cpu;
    u.memory += sign * r.memory;
    u.pods += sign;
    this.usage.set(node, u);
  }

  private onPod(e: StoreEvent): void {
    if (e.previous !== undefined) this.account(e.previous, -1);
    if (e.type !== 'DELETED') {
      this.account(e.object, +1);
      this.consider(e.object);
    } else {
      this.unschedulable.delete(objectKey(namespaceOf(e.object), nameOf(e.object)));
      if (counts(e.object)) this.retryUnschedulable();
    }
  }

  private consider(pod: JsonObject): void {
    if (getPath(pod, ['spec', 'nodeName']) !== undefined) return;
    if (metaOf(pod)['deletionTimestamp'] !== undefined) return;
    const scheduler = getPath(pod, ['spec', 'schedulerName']);
    if (scheduler !== undefined && scheduler !== 'default-scheduler') return;
    const key = objectKey(namespaceOf(pod), nameOf(pod));
    if (this.unschedulable.has(key)) return;
    this.queue.add(key);
    this.kick();
  }

  private lastNodeChange = 0;

  private nodesChangedSince(revision: number): boolean {
    return this.lastNodeChange > revision;
  }

  private retryUnschedulable(): void {
    for (const k of this.unschedulable) this.queue.add(k);
    this.unschedulable.clear();
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.queue.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      guarded('Binder', () => this.flush());
    });
  }

  /** Schedules every queued pod now. */
  flush(): void {
    const keys = [...this.queue].sort();
    this.queue.clear();
    if (keys.length === 0) return;
    let nodes = this.ops.store.list(this.nodes.storageKey).map(nodeInfo);
    let nodesAt = this.ops.store.currentRevision();
    let byLabel = indexByLabel(nodes);
    for (const key of keys) {
      const pod = this.ops.store.getByKey(this.pods.storageKey, key);
      if (pod === undefined || getPath(pod, ['spec', 'nodeName']) !== undefined || metaOf(pod)['deletionTimestamp'] !== undefined) continue;
      if (this.nodesChangedSince(nodesAt)) {
        nodes = this.ops.store.list(this.nodes.storageKey).map(nodeInfo);
        nodesAt = this.ops.store.currentRevision();
        byLabel = indexByLabel(nodes);
      }
      const info = podInfo(pod);
      const reasons = new Map<string, number>();
      let best: { node: JsonObject; load: number } | undefined;
      // A nodeSelector narrows the candidates through the label index; all nodes are checked
      // only when none of those fits, to give the full Unschedulable message.
      const first = info.selector[0];
      const candidates = first === undefined ? nodes : (byLabel.get(`${first[0]}=${first[1]}`) ?? []);
      for (const n of candidates) {
        const u = this.usage.get(n.name);
        if (!fits(info, n, u).fits) continue;
        const load = u?.pods ?? 0;
        if (best === undefined || load < best.load) best = { node: n.node, load };
      }
      for (const n of best === undefined ? nodes : []) {
        const u = this.usage.get(n.name);
        const fit = fits(info, n, u);
        if (!fit.fits) {
          reasons.set(fit.reason, (reasons.get(fit.reason) ?? 0) + 1);
          continue;
        }
        const load = u?.pods ?? 0;
        if (best === undefined || load < best.load) best = { node: n.node, load };
      }
      const ns = namespaceOf(pod);
      const name = nameOf(pod);
      const target = best;
      if (target !== undefined) {
        guarded('Binder', () => {
          bindPod(this.ops, this.pods, ns ?? 'default', name, nameOf(target.node), 'default-scheduler');
          this.bindings++;
        });
      } else {
        this.unschedulable.add(key);
        const message = unschedulableMessage(nodes.length, reasons);
        guarded('Binder', () => this.ops.mutate(
          this.pods,
          ns,
          name,
          (draft) => {
            setCondition(draft, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }, rfc3339(this.ops.now()));
          },
          { manager: 'default-scheduler', subresource: 'status' },
        ));
      }
    }
  }
}

function indexByLabel(nodes: readonly NodeInfo[]): Map<string, NodeInfo[]> {
  const index = new Map<string, NodeInfo[]>();
  for (const n of nodes) {
    for (const [k, v] of Object.entries(n.labels)) {
      const key = `${k}=${v}`;
      const list = index.get(key);
      if (list === undefined) index.set(key, [n]);
      else list.push(n);
    }
  }
  return index;
}

function nodeSchedulingChanged(a: JsonObject, b: JsonObject): boolean {
  return (
    nodeIsReady(a) !== nodeIsReady(b) ||
    JSON.stringify(getPath(a, ['spec'])) !== JSON.stringify(getPath(b, ['spec'])) ||
    JSON.stringify(metaOf(a)['labels']) !== JSON.stringify(metaOf(b)['labels']) ||
    JSON.stringify(getPath(a, ['status', 'allocatable'])) !== JSON.stringify(getPath(b, ['status', 'allocatable']))
  );
}

export function setCondition(obj: JsonObject, cond: { type: string; status: string; reason?: string; message?: string }, now: string): void {
  const status = asObject(obj['status']);
  obj['status'] = status;
  const list = asArray(status['conditions']).filter(isPlainObject);
  const idx = list.findIndex((c) => c['type'] === cond.type);
  const old = idx >= 0 ? list[idx] : undefined;
  const next: JsonObject = {
    type: cond.type,
    status: cond.status,
    lastProbeTime: null,
    lastTransitionTime: old !== undefined && old['status'] === cond.status ? old['lastTransitionTime'] : now,
  };
  if (cond.reason !== undefined) next['reason'] = cond.reason;
  if (cond.message !== undefined) next['message'] = cond.message;
  if (idx >= 0) list[idx] = next;
  else list.push(next);
  status['conditions'] = list;
}

/** The pods/binding subresource: sets spec.nodeName once (409 when already bound). */
export function bindPod(ops: Operations, pods: ResourceType, namespace: string, name: string, nodeName: string, manager: string): void {
  const pod = ops.store.get(pods.storageKey, namespace, name);
  if (pod === undefined) throw new Error(`pod ${namespace}/${name} not found`);
  const current = asString(getPath(pod, ['spec', 'nodeName']));
  if (current !== undefined && current !== '') {
    throw new BindingConflict(`pod ${name} is already assigned to node "${current}"`);
  }
  const now = rfc3339(ops.now());
  ops.mutate(
    pods,
    namespace,
    name,
    (draft) => {
      draft['spec'] = { ...asObject(draft['spec']), nodeName };
      setCondition(draft, { type: 'PodScheduled', status: 'True' }, now);
    },
    { manager, allFields: true },
  );
}

export class BindingConflict extends Error {}
