// API semantics on top of the store: defaulting, validation, generation, status subresource
// rules, optimistic concurrency, finalizers, managedFields, patches and server-side apply.
import { randomUUID } from 'node:crypto';
import { asObject, asString, deepClone, deepEqual, isPlainObject, type JsonObject } from './json.js';
import { applyConfiguration, conflictMessage, formatPath, recordUpdate } from './managed-fields.js';
import { jsonPatch, mergePatch, strategicMergePatch, type PatchType } from './patch.js';
import { fieldValues, type ResourceRegistry, type ResourceType } from './resources.js';
import { fieldsMatch, labelsMatch, type FieldRequirement, type LabelSelector } from './selectors.js';
import { ApiError, successStatus } from './status.js';
import { metaOf, nameOf, namespaceOf, type Store } from './store.js';

export interface WriteOptions {
  fieldManager?: string | undefined;
  userAgent?: string | undefined;
  dryRun?: boolean | undefined;
  force?: boolean | undefined;
  subresource?: 'status' | undefined;
  /** Internal writers (binding, kubelet) may change spec and status in one write. */
  allFields?: boolean | undefined;
}

export interface ListOptions {
  labelSelector?: LabelSelector;
  fieldSelector?: FieldRequirement[];
  limit?: number | undefined;
  continueToken?: string | undefined;
}

export interface ListResult {
  items: JsonObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

/** Runs an emulated controller's step; a failure is logged, never thrown into the event loop. */
export function guarded(component: string, step: () => void): void {
  try {
    step();
  } catch (err) {
    console.error(`kube-apiserver-standin: ${component} failed:`, err instanceof Error ? err.message : err);
  }
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function managerFromUserAgent(userAgent: string | undefined): string {
  const prefix = (userAgent ?? '').split('/')[0]?.trim() ?? '';
  return prefix === '' ? 'unknown' : prefix;
}

export function typeApiVersion(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

export interface OperationsOptions {
  clock?: () => Date;
  newUid?: () => string;
  /** Track managedFields for non-apply writes too (as the real server does). */
  trackUpdates?: boolean;
}

export type AfterCommit = (type: ResourceType, object: JsonObject | undefined, previous: JsonObject | undefined) => void;

export class Operations {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  private readonly clock: () => Date;
  private readonly newUid: () => string;
  private readonly trackUpdates: boolean;
  private readonly afterCommit: AfterCommit[] = [];
  private nextClusterIp = 10;
  private nextNodePort = 30000;

  constructor(store: Store, registry: ResourceRegistry, options: OperationsOptions = {}) {
    this.store = store;
    this.registry = registry;
    this.clock = options.clock ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
    this.trackUpdates = options.trackUpdates ?? true;
  }

  now(): Date {
    return this.clock();
  }

  onCommit(hook: AfterCommit): void {
    this.afterCommit.push(hook);
  }

  /** The object as a client of `type` sees it (apiVersion, kind, version conversion). */
  present(type: ResourceType, stored: JsonObject): JsonObject {
    if (type.fromStorage !== undefined) return type.fromStorage(stored);
    const apiVersion = typeApiVersion(type);
    if (stored['apiVersion'] === apiVersion && stored['kind'] === type.kind) return stored;
    return { ...stored, apiVersion, kind: type.kind };
  }

  private fromStorageShape(type: ResourceType, obj: JsonObject): JsonObject {
    return type.fromStorage !== undefined ? type.fromStorage(obj) : obj;
  }

  private toStorage(type: ResourceType, obj: JsonObject): JsonObject {
    return type.toStorage !== undefined ? type.toStorage(obj) : obj;
  }

  private requireNamespace(type: ResourceType, namespace: string | undefined): void {
    if (!type.namespaced) return;
    if (namespace === undefined || namespace === '') throw ApiError.badRequest('the server could not find the requested resource');
    const nsType = this.registry.lookup('', 'v1', 'namespaces');
    if (nsType !== undefined && this.store.get(nsType.storageKey, undefined, namespace) === undefined) {
      throw ApiError.notFound({ group: '', plural: 'namespaces' }, namespace);
    }
  }

  get(type: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const obj = this.store.get(type.storageKey, type.namespaced ? namespace : undefined, name);
    if (obj === undefined) throw ApiError.notFound(type, name);
    return this.present(type, obj);
  }

  tryGet(type: ResourceType, namespace: string | undefined, name: string): JsonObject | undefined {
    const obj = this.store.get(type.storageKey, type.namespaced ? namespace : undefined, name);
    return obj === undefined ? undefined : this.present(type, obj);
  }

  matches(type: ResourceType, stored: JsonObject, namespace: string | undefined, opts: ListOptions): boolean {
    if (namespace !== undefined && namespaceOf(stored) !== namespace) return false;
    if (opts.labelSelector !== undefined && opts.labelSelector.length > 0) {
      if (!labelsMatch(opts.labelSelector, asObject(metaOf(stored)['labels']) as Record<string, string>)) return false;
    }
    if (opts.fieldSelector !== undefined && opts.fieldSelector.length > 0) {
      if (!fieldsMatch(opts.fieldSelector, fieldValues(type, stored))) return false;
    }
    return true;
  }

  checkFieldSelector(type: ResourceType, reqs: readonly FieldRequirement[]): void {
    for (const r of reqs) {
      if (r.field === 'metadata.name' || r.field === 'metadata.namespace' || type.fieldLabels.includes(r.field)) continue;
      throw ApiError.badRequest(`field label not supported: ${r.field}`);
    }
  }

  list(type: ResourceType, namespace: string | undefined, opts: ListOptions = {}): ListResult {
    const ns = type.namespaced ? namespace : undefined;
    if (opts.fieldSelector !== undefined) this.checkFieldSelector(type, opts.fieldSelector);
    const resourceVersion = String(this.store.currentRevision());
    let startAfter: string | undefined;
    if (opts.continueToken !== undefined && opts.continueToken !== '') {
      try {
        const token = JSON.parse(Buffer.from(opts.continueToken, 'base64').toString('utf8')) as { start?: string };
        startAfter = token.start;
      } catch {
        throw ApiError.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
    }
    const keys = this.store.keys(type.storageKey);
    const prefix = ns === undefined ? undefined : `${ns}/`;
    const items: JsonObject[] = [];
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
    let lastKey: string | undefined;
    let remaining = 0;
    for (const k of keys) {
      if (prefix !== undefined && !k.startsWith(prefix)) continue;
      if (startAfter !== undefined && k <= startAfter) continue;
      const obj = this.store.getByKey(type.storageKey, k);
      if (obj === undefined || !this.matches(type, obj, ns, opts)) continue;
      if (items.length >= limit) {
        remaining++;
        continue;
      }
      items.push(this.present(type, obj));
      lastKey = k;
    }
    const result: ListResult = { items, resourceVersion };
    if (remaining > 0 && lastKey !== undefined) {
      result.continueToken = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: Number(resourceVersion), start: lastKey })).toString('base64');
      result.remainingItemCount = remaining;
    }
    return result;
  }

  // ---- writes ----

  private validateName(type: ResourceType, name: string): void {
    const causes: Array<{ field: string; message: string; type?: string }> = [];
    if (name === '') {
      causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required', type: 'FieldValueRequired' });
    } else if (type.group === 'rbac.authorization.k8s.io') {
      if (name.includes('/') || name.includes('%') || name === '.' || name === '..') {
        causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": may not contain '/' or '%'` });
      }
    } else if (type.plural === 'namespaces' ? !DNS1123_LABEL.test(name) || name.length > 63 : !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
      causes.push({
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 ${type.plural === 'namespaces' ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      });
    }
    if (causes.length > 0) throw ApiError.invalid(type.kind, type.group, name, causes);
  }

  private checkIdentity(type: ResourceType, body: JsonObject, namespace: string | undefined, urlName?: string): void {
    const apiVersion = asString(body['apiVersion']);
    const kind = asString(body['kind']);
    if (kind !== undefined && kind !== type.kind) {
      throw ApiError.badRequest(`the API version in the data (${apiVersion ?? ''}) does not match the expected API version (${typeApiVersion(type)})`);
    }
    if (apiVersion !== undefined && apiVersion !== typeApiVersion(type)) {
      throw ApiError.badRequest(`the API version in the data (${apiVersion}) does not match the expected API version (${typeApiVersion(type)})`);
    }
    const meta = asObject(body['metadata']);
    const bodyNs = asString(meta['namespace']);
    if (type.namespaced && bodyNs !== undefined && bodyNs !== '' && namespace !== undefined && bodyNs !== namespace) {
      throw ApiError.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const bodyName = asString(meta['name']);
    if (urlName !== undefined && bodyName !== undefined && bodyName !== '' && bodyName !== urlName) {
      throw ApiError.badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${urlName})`);
    }
  }

  private manager(opts: WriteOptions): string {
    return opts.fieldManager ?? managerFromUserAgent(opts.userAgent);
  }

  private applyDefaults(type: ResourceType, obj: JsonObject): void {
    const spec = isPlainObject(obj['spec']) ? obj['spec'] : undefined;
    switch (type.storageKey) {
      case '/namespaces': {
        const meta = metaOf(obj);
        meta['labels'] = { ...asObject(meta['labels']), 'kubernetes.io/metadata.name': nameOf(obj) };
        obj['spec'] = { finalizers: ['kubernetes'], ...asObject(obj['spec']) };
        break;
      }
      case '/pods':
        if (spec !== undefined) {
          spec['restartPolicy'] ??= 'Always';
          spec['schedulerName'] ??= 'default-scheduler';
          spec['terminationGracePeriodSeconds'] ??= 30;
          spec['serviceAccountName'] ??= 'default';
        }
        break;
      case '/services':
        if (spec !== undefined) {
          const svcType = (spec['type'] ??= 'ClusterIP');
          if (spec['clusterIP'] === undefined && svcType !== 'ExternalName') {
            const n = this.nextClusterIp++;
            spec['clusterIP'] = `10.233.${Math.floor(n / 256) % 64}.${n % 256}`;
            spec['clusterIPs'] = [spec['clusterIP']];
          }
          if (svcType === 'NodePort' || svcType === 'LoadBalancer') {
            for (const p of Array.isArray(spec['ports']) ? spec['ports'] : []) {
              if (isPlainObject(p) && p['nodePort'] === undefined) p['nodePort'] = this.nextNodePort++;
            }
          }
        }
        break;
      case 'apps/deployments':
        if (spec !== undefined) {
          spec['replicas'] ??= 1;
          spec['strategy'] ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
          spec['revisionHistoryLimit'] ??= 10;
          spec['progressDeadlineSeconds'] ??= 600;
        }
        break;
      case 'apps/statefulsets':
        if (spec !== undefined) {
          spec['replicas'] ??= 1;
          spec['updateStrategy'] ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
          spec['podManagementPolicy'] ??= 'OrderedReady';
          spec['revisionHistoryLimit'] ??= 10;
        }
        break;
      case 'apps/daemonsets':
        if (spec !== undefined) {
          spec['updateStrategy'] ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
          spec['revisionHistoryLimit'] ??= 10;
        }
        break;
      case 'apps/replicasets':
        if (spec !== undefined) spec['replicas'] ??= 1;
        break;
      case '/secrets':
        if (obj['type'] === undefined || obj['type'] === '') obj['type'] = 'Opaque';
        break;
    }
  }

  private initialStatus(type: ResourceType, obj: JsonObject): void {
    switch (type.storageKey) {
      case '/pods':
        obj['status'] = { phase: 'Pending', qosClass: qosClass(obj) };
        break;
      case '/namespaces':
        obj['status'] = { phase: 'Active' };
        break;
      case '/persistentvolumeclaims':
        obj['status'] = { phase: 'Pending' };
        break;
      case '/persistentvolumes':
        obj['status'] = { phase: 'Available' };
        break;
      case '/services':
        obj['status'] = { loadBalancer: {} };
        break;
      case '/nodes':
        break;
      default:
        if (type.subresources.includes('status')) delete obj['status'];
    }
  }

  create(type: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): JsonObject {
    return this.createWith(type, namespace, body, opts, undefined);
  }

  private createWith(type: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions, applyManaged: unknown): JsonObject {
    if (!isPlainObject(body)) throw ApiError.badRequest('the request body must be a JSON object');
    this.checkIdentity(type, body, namespace);
    const ns = type.namespaced ? namespace : undefined;
    this.requireNamespace(type, ns);
    const obj = this.toStorage(type, deepClone(body));
    const meta = { ...metaOf(obj) };
    obj['metadata'] = meta;
    let name = asString(meta['name']) ?? '';
    const generateName = asString(meta['generateName']);
    if (name === '' && generateName !== undefined && generateName !== '') {
      for (let attempt = 0; attempt < 10; attempt++) {
        let suffix = '';
        for (let i = 0; i < 5; i++) suffix += GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)];
        name = generateName + suffix;
        if (this.store.get(type.storageKey, ns, name) === undefined) break;
      }
      meta['name'] = name;
    }
    this.validateName(type, name);
    if (this.store.get(type.storageKey, ns, name) !== undefined) throw ApiError.alreadyExists(type, name);
    if (ns !== undefined) meta['namespace'] = ns;
    else delete meta['namespace'];
    obj['apiVersion'] = type.toStorage !== undefined ? obj['apiVersion'] : typeApiVersion(type);
    obj['kind'] = type.kind;
    meta['uid'] = this.newUid();
    meta['creationTimestamp'] = rfc3339(this.now());
    delete meta['resourceVersion'];
    delete meta['deletionTimestamp'];
    if (type.hasGeneration) meta['generation'] = 1;
    else delete meta['generation'];
    this.applyDefaults(type, obj);
    this.initialStatus(type, obj);
    delete meta['managedFields'];
    if (applyManaged !== undefined) meta['managedFields'] = applyManaged;
    else if (this.trackUpdates) recordUpdate(undefined, obj, { manager: this.manager(opts), apiVersion: typeApiVersion(type), time: rfc3339(this.now()) });
    const ordered = orderTopLevel(obj);
    if (opts.dryRun === true) return this.present(type, ordered);
    this.commit(type, ns, name, ordered, undefined);
    return this.present(type, ordered);
  }

  private commit(type: ResourceType, ns: string | undefined, name: string, next: JsonObject | undefined, previous: JsonObject | undefined): void {
    this.store.commit(type.storageKey, ns, name, next);
    for (const hook of this.afterCommit) hook(type, next, previous);
  }

  /**
   * Finishes an update of an existing object: keeps system metadata, applies status-subresource
   * rules, bumps generation, records managed fields, skips no-ops and commits.
   */
  private finishUpdate(type: ResourceType, prev: JsonObject, next: JsonObject, opts: WriteOptions, managedFieldsDone: boolean): JsonObject {
    const ns = type.namespaced ? namespaceOf(prev) : undefined;
    const name = nameOf(prev);
    const prevMeta = metaOf(prev);
    const meta = { ...metaOf(next) };
    next['metadata'] = meta;
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'name']) {
      if (prevMeta[k] !== undefined) meta[k] = prevMeta[k];
      else delete meta[k];
    }
    if (ns !== undefined) meta['namespace'] = ns;
    else delete meta['namespace'];
    meta['resourceVersion'] = prevMeta['resourceVersion'];
    if (!('managedFields' in meta) && prevMeta['managedFields'] !== undefined) meta['managedFields'] = prevMeta['managedFields'];
    if (Array.isArray(meta['managedFields']) && meta['managedFields'].length === 0) delete meta['managedFields'];
    next['apiVersion'] = prev['apiVersion'];
    next['kind'] = prev['kind'];
    if (type.subresources.includes('status') && opts.allFields !== true) {
      if (opts.subresource === 'status') {
        // A status write changes only status (and metadata the server manages).
        const onlyStatus: JsonObject = { ...prev, metadata: { ...prevMeta } };
        if (next['status'] === undefined) delete onlyStatus['status'];
        else onlyStatus['status'] = next['status'];
        next = onlyStatus;
      } else if (prev['status'] !== undefined) next['status'] = prev['status'];
      else delete next['status'];
    }
    const nextMeta = metaOf(next);
    if (type.hasGeneration) {
      const prevGen = typeof prevMeta['generation'] === 'number' ? prevMeta['generation'] : 1;
      nextMeta['generation'] = specChanged(prev, next) ? prevGen + 1 : prevGen;
    }
    if (this.trackUpdates && !managedFieldsDone) {
      recordUpdate(prev, next, {
        manager: this.manager(opts),
        apiVersion: typeApiVersion(type),
        time: rfc3339(this.now()),
        ...(opts.subresource !== undefined ? { subresource: opts.subresource } : {}),
      });
    }
    const ordered = orderTopLevel(next);
    if (deepEqual(ordered, prev)) return this.present(type, prev);
    // An object being deleted disappears once its last finalizer is removed.
    if (nextMeta['deletionTimestamp'] !== undefined && asArrayLen(nextMeta['finalizers']) === 0) {
      if (opts.dryRun !== true) this.commit(type, ns, name, undefined, prev);
      return this.present(type, ordered);
    }
    if (opts.dryRun === true) return this.present(type, ordered);
    this.commit(type, ns, name, ordered, prev);
    return this.present(type, ordered);
  }

  private existing(type: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const prev = this.store.get(type.storageKey, type.namespaced ? namespace : undefined, name);
    if (prev === undefined) throw ApiError.notFound(type, name);
    return prev;
  }

  update(type: ResourceType, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): JsonObject {
    if (!isPlainObject(body)) throw ApiError.badRequest('the request body must be a JSON object');
    this.checkIdentity(type, body, namespace, name);
    const prev = this.existing(type, namespace, name);
    const next = this.toStorage(type, deepClone(body));
    const rv = asString(metaOf(next)['resourceVersion']);
    if (rv !== undefined && rv !== '' && rv !== asString(metaOf(prev)['resourceVersion'])) throw ApiError.conflict(type, name);
    return this.finishUpdate(type, prev, next, opts, false);
  }

  /** Returns the resulting object and whether it was created (server-side apply of a new object). */
  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: unknown,
    opts: WriteOptions = {},
  ): { object: JsonObject; created: boolean } {
    const ns = type.namespaced ? namespace : undefined;
    const stored = this.store.get(type.storageKey, ns, name);
    if (patchType === 'apply') return this.apply(type, ns, name, stored, body, opts);
    if (stored === undefined) throw ApiError.notFound(type, name);
    const current = this.present(type, stored);
    let patched: unknown;
    switch (patchType) {
      case 'json':
        patched = jsonPatch(current, body);
        break;
      case 'merge':
        patched = mergePatch(current, body);
        break;
      case 'strategic':
        patched = strategicMergePatch(current, body);
        break;
    }
    if (!isPlainObject(patched)) throw ApiError.badRequest('patch did not produce an object');
    const next = this.toStorage(type, patched);
    const rv = asString(metaOf(next)['resourceVersion']);
    if (rv !== undefined && rv !== asString(metaOf(stored)['resourceVersion'])) throw ApiError.conflict(type, name);
    return { object: this.finishUpdate(type, stored, next, opts, false), created: false };
  }

  private apply(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    stored: JsonObject | undefined,
    body: unknown,
    opts: WriteOptions,
  ): { object: JsonObject; created: boolean } {
    if (!isPlainObject(body)) throw ApiError.badRequest('apply patch must be an object');
    if (opts.fieldManager === undefined || opts.fieldManager === '') {
      throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }],
      });
    }
    if (body['apiVersion'] === undefined || body['kind'] === undefined) {
      throw ApiError.badRequest('apiVersion and kind must be set in an apply patch');
    }
    this.checkIdentity(type, body, ns, name);
    const bodyName = asString(asObject(body['metadata'])['name']);
    if (bodyName === undefined || bodyName === '') throw ApiError.badRequest('metadata.name must be set in an apply patch');
    const statusOnly = opts.subresource === 'status';
    const applied = this.toStorage(type, deepClone(body));
    const skipStatus = type.subresources.includes('status') && !statusOnly;
    const who = { manager: opts.fieldManager, apiVersion: typeApiVersion(type), time: rfc3339(this.now()), force: opts.force === true, skipStatus };
    if (stored === undefined) {
      if (statusOnly) throw ApiError.notFound(type, name);
      const result = applyConfiguration(undefined, applied, who);
      const managed = metaOf(result.object)['managedFields'];
      const created = this.createWith(type, ns, this.fromStorageShape(type, stripManaged(result.object)), opts, managed);
      return { object: created, created: true };
    }
    const live = this.present(type, stored);
    const result = applyConfiguration(live, applied, who);
    if (result.conflicts.length > 0) {
      throw new ApiError(409, 'Conflict', conflictMessage(result.conflicts), {
        causes: result.conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}" using ${c.apiVersion}`,
          field: formatPath(c.path),
        })),
      });
    }
    const next = this.toStorage(type, result.object);
    return { object: this.finishUpdate(type, stored, next, opts, true), created: false };
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { dryRun?: boolean | undefined; preconditions?: { uid?: string; resourceVersion?: string } | undefined } = {},
  ): JsonObject {
    const ns = type.namespaced ? namespace : undefined;
    const prev = this.existing(type, ns, name);
    const meta = metaOf(prev);
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== meta['uid']) {
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${asString(meta['uid']) ?? ''}`, {
        name,
        kind: type.plural,
      });
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta['resourceVersion']) {
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${asString(meta['resourceVersion']) ?? ''}`,
        { name, kind: type.plural },
      );
    }
    if (asArrayLen(meta['finalizers']) > 0 && type.storageKey !== '/namespaces') {
      if (meta['deletionTimestamp'] !== undefined) return this.present(type, prev);
      const next: JsonObject = { ...prev, metadata: { ...meta, deletionTimestamp: rfc3339(this.now()), deletionGracePeriodSeconds: 0 } };
      if (opts.dryRun !== true) this.commit(type, ns, name, next, prev);
      return this.present(type, next);
    }
    if (opts.dryRun === true) return this.deleteResponse(type, prev);
    if (type.storageKey === '/namespaces') this.deleteNamespaceContent(name);
    if (type.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') this.deleteCustomResources(prev);
    this.commit(type, ns, name, undefined, prev);
    if (type.storageKey === '/namespaces') {
      return this.present(type, {
        ...prev,
        metadata: { ...meta, deletionTimestamp: rfc3339(this.now()) },
        status: { phase: 'Terminating' },
      });
    }
    return this.deleteResponse(type, prev);
  }

  private deleteResponse(type: ResourceType, prev: JsonObject): JsonObject {
    // Pods (graceful deletion) answer with the object; most other resources with a Status.
    if (type.storageKey === '/pods' || type.storageKey === '/namespaces') {
      return this.present(type, { ...prev, metadata: { ...metaOf(prev), deletionTimestamp: rfc3339(this.now()), deletionGracePeriodSeconds: 0 } });
    }
    return successStatus(200, {
      name: nameOf(prev),
      ...(type.group !== '' ? { group: type.group } : {}),
      kind: type.plural,
      uid: asString(metaOf(prev)['uid']) ?? '',
    });
  }

  private deleteNamespaceContent(namespace: string): void {
    const seen = new Set<string>();
    for (const t of this.registry.all()) {
      if (!t.namespaced || seen.has(t.storageKey)) continue;
      seen.add(t.storageKey);
      for (const obj of this.store.list(t.storageKey, namespace)) this.commit(t, namespace, nameOf(obj), undefined, obj);
    }
  }

  private deleteCustomResources(crd: JsonObject): void {
    const t = this.registry.all().find((r) => r.fromCrd === nameOf(crd));
    if (t === undefined) return;
    for (const obj of this.store.list(t.storageKey)) this.commit(t, namespaceOf(obj), nameOf(obj), undefined, obj);
  }

  deleteCollection(type: ResourceType, namespace: string | undefined, opts: ListOptions, dryRun: boolean): JsonObject[] {
    const { items } = this.list(type, namespace, opts);
    const out: JsonObject[] = [];
    for (const item of items) {
      const ns = namespaceOf(item);
      const name = nameOf(item);
      if (dryRun) out.push(item);
      else {
        this.delete(type, ns, name);
        out.push(item);
      }
    }
    return out;
  }

  /**
   * Internal read-modify-write used by the emulated controllers and kubelet: `change` edits a
   * draft; nothing is written when the draft equals the stored object.
   */
  mutate(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    change: (draft: JsonObject) => void,
    opts: { manager: string; subresource?: 'status'; allFields?: boolean },
  ): JsonObject | undefined {
    const prev = this.store.get(type.storageKey, type.namespaced ? namespace : undefined, name);
    if (prev === undefined) return undefined;
    const draft = deepClone(prev);
    change(draft);
    if (deepEqual(draft, prev)) return prev;
    return this.finishUpdate(type, prev, draft, { fieldManager: opts.manager, subresource: opts.subresource, allFields: opts.allFields }, false);
  }
}

function stripManaged(obj: JsonObject): JsonObject {
  const meta = { ...metaOf(obj) };
  delete meta['managedFields'];
  return { ...obj, metadata: meta };
}

function asArrayLen(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

function specChanged(prev: JsonObject, next: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const c = { ...o };
    delete c['metadata'];
    delete c['status'];
    return c;
  };
  return !deepEqual(strip(prev), strip(next));
}

/** apiVersion, kind, metadata first, then the rest, as the API server serializes. */
function orderTopLevel(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of ['apiVersion', 'kind', 'metadata']) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [k, v] of Object.entries(obj)) if (!(k in out) && v !== undefined) out[k] = v;
  const meta = asObject(out['metadata']);
  const orderedMeta: JsonObject = {};
  for (const k of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields']) {
    if (meta[k] !== undefined) orderedMeta[k] = meta[k];
  }
  for (const [k, v] of Object.entries(meta)) if (!(k in orderedMeta) && v !== undefined) orderedMeta[k] = v;
  out['metadata'] = orderedMeta;
  return out;
}

/** Pod QoS class from container requests/limits (Guaranteed, Burstable or BestEffort). */
export function qosClass(pod: JsonObject): string {
  const containers = asObject(pod['spec'])['containers'];
  const list = Array.isArray(containers) ? containers.filter(isPlainObject) : [];
  let any = false;
  let guaranteed = list.length > 0;
  for (const c of list) {
    const res = asObject(c['resources']);
    const req = asObject(res['requests']);
    const lim = asObject(res['limits']);
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined || (req[r] !== undefined && req[r] !== lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
