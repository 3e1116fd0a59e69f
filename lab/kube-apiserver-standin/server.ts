// The HTTP front of the stand-in: routing of the Kubernetes REST paths onto Operations,
// content negotiation (JSON, Table, aggregated discovery), streaming lists and watches, the
// eviction/binding/scale subresources, fault injection and the /_standin control endpoints.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { aggregatedDiscovery, legacyApiVersions, legacyGroup, legacyGroupList, legacyResourceList, wantsAggregated } from './discovery.js';
import { evictPod } from './disruption.js';
import type { Faults, FaultRuleInput, WatchHandle } from './faults.js';
import { asObject, asString, getPath, isPlainObject, type JsonObject } from './json.js';
import { typeApiVersion, type ListOptions, type Operations, type WriteOptions } from './operations.js';
import { documentHash, openApiV3Document, openApiV3Root } from './openapi.js';
import { decodeKubeProtobuf } from './protobuf.js';
import { patchTypeOf } from './patch.js';
import type { EmulatedNode } from './kubelet.js';
import type { ResourceType } from './resources.js';
import { BindingConflict, bindPod } from './scheduling.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiError, successStatus } from './status.js';
import { metaOf, type StoreEvent } from './store.js';
import { toTable } from './tables.js';

export interface RequestRecord {
  time: string;
  method: string;
  path: string;
  query: string;
  userAgent: string;
  contentType: string;
  status: number;
}

export interface ServerDeps {
  ops: Operations;
  faults: Faults;
  gitVersion: string;
  /** The kubelet emulator's hosts: joined, stopped, upgraded through /_standin/kubelets. */
  kubelets?: { add(node: EmulatedNode): void; remove(name: string): void; setVersion(name: string, version: string): boolean; names(): string[] };
  bookmarkIntervalMs: number;
  /** Extra read-only state for /_standin/stats (kubelet view, binder counts, ...). */
  stats: () => JsonObject;
  maxRequestLog?: number;
}

const MAX_BODY = 16 * 1024 * 1024;

/** The request body; protobuf bodies are decoded to JSON text here (see protobuf.ts). */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if ((req.headers['content-type'] ?? '').toLowerCase().startsWith('application/vnd.kubernetes.protobuf') && body.length > 0) {
    return JSON.stringify(decodeKubeProtobuf(body));
  }
  return body.toString('utf8');
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text.trim() === '') return undefined;
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('cbor')) throw ApiError.unsupportedMediaType(ct);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (ct.includes('yaml')) {
      try {
        return parseYaml(text) as unknown;
      } catch (e) {
        throw ApiError.badRequest(`error decoding YAML: ${(e as Error).message}`);
      }
    }
    throw ApiError.badRequest('the object provided is unrecognized (must be of type JSON)');
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json', extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private', ...extraHeaders });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, err.toStatus(), 'application/json', err.headers);
}

function wantsTable(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.split(',').some((p) => p.replace(/\s/g, '').includes('as=Table'));
}

function includeObjectOf(q: URLSearchParams): 'None' | 'Metadata' | 'Object' {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function listOptions(q: URLSearchParams): ListOptions {
  const limit = q.get('limit');
  return {
    labelSelector: parseLabelSelector(q.get('labelSelector') ?? undefined),
    fieldSelector: parseFieldSelector(q.get('fieldSelector') ?? undefined),
    limit: limit === null ? undefined : Number(limit),
    continueToken: q.get('continue') ?? undefined,
  };
}

interface ResourceRoute {
  type: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export class StandinServer {
  private readonly deps: ServerDeps;
  private readonly requestLog: RequestRecord[] = [];
  private readonly encoded = new WeakMap<StoreEvent, Map<string, string>>();
  requests = 0;

  constructor(deps: ServerDeps) {
    this.deps = deps;
  }

  recentRequests(): RequestRecord[] {
    return [...this.requestLog];
  }

  clearRequestLog(): void {
    this.requestLog.length = 0;
  }

  private record(req: IncomingMessage, url: URL, status: number): void {
    this.requests++;
    this.requestLog.push({
      time: new Date().toISOString(),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      userAgent: req.headers['user-agent'] ?? '',
      contentType: req.headers['content-type'] ?? '',
      status,
    });
    const max = this.deps.maxRequestLog ?? 2000;
    if (this.requestLog.length > max) this.requestLog.splice(0, this.requestLog.length - max);
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    res.on('finish', () => this.record(req, url, res.statusCode));
    this.dispatch(req, res, url).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof ApiError) sendError(res, err);
      else sendError(res, ApiError.internal(err instanceof Error ? err.message : String(err)));
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const q = url.searchParams;
    const method = (req.method ?? 'GET').toUpperCase();
    if (path === '/_standin' || path.startsWith('/_standin/')) return this.control(req, res, path, method);
    const isWatch = boolParam(q, 'watch');
    const decision = this.deps.faults.decide(method, path, isWatch);
    if (decision.delayMs > 0) await new Promise((r) => setTimeout(r, decision.delayMs));
    if (decision.reset === true) {
      req.socket.destroy();
      return;
    }
    if (decision.errorStatus !== undefined) {
      const status = decision.errorStatus;
      const reason = status === 429 ? 'TooManyRequests' : status === 503 ? 'ServiceUnavailable' : status === 504 ? 'Timeout' : 'InternalError';
      const message = status === 500 ? 'Internal error occurred: injected fault (stand-in)' : `injected fault (stand-in): HTTP ${status}`;
      const headers: Record<string, string> = status === 429 || status === 503 ? { 'Retry-After': '1' } : {};
      sendError(res, new ApiError(status, reason, message, status === 500 ? { causes: [{ message: 'injected fault (stand-in)' }] } : undefined, headers));
      return;
    }
    const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const ops = this.deps.ops;
    if (method === 'GET') {
      switch (path) {
        case '/version':
          return sendJson(res, 200, versionInfo(this.deps.gitVersion));
        case '/healthz':
        case '/livez':
        case '/readyz':
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('ok');
          return;
        case '/api':
        case '/apis': {
          const agg = wantsAggregated(req.headers.accept);
          if (agg !== undefined) {
            return sendJson(res, 200, aggregatedDiscovery(ops.registry, path === '/api', agg), `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`);
          }
          return sendJson(res, 200, path === '/api' ? legacyApiVersions(req.headers.host ?? '127.0.0.1') : legacyGroupList(ops.registry));
        }
      }
      if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Root(ops.registry, this.deps.gitVersion));
      if (segs[0] === 'openapi' && segs[1] === 'v3' && segs.length >= 4) {
        const group = segs[2] === 'api' ? '' : (segs[3] ?? '');
        const version = segs[2] === 'api' ? (segs[3] ?? '') : (segs[4] ?? '');
        const doc = openApiV3Document(ops.registry, group, version, this.deps.gitVersion);
        if (doc !== undefined) return sendJson(res, 200, doc, 'application/json', { 'Cache-Control': 'public, immutable', Etag: `"${documentHash(doc)}"` });
      }
      if (segs[0] === 'api' && segs.length === 2) {
        const doc = legacyResourceList(ops.registry, '', segs[1] ?? '');
        if (doc !== undefined) return sendJson(res, 200, doc);
      }
      if (segs[0] === 'apis' && segs.length === 2) {
        const doc = legacyGroup(ops.registry, segs[1] ?? '');
        if (doc !== undefined) return sendJson(res, 200, doc);
      }
      if (segs[0] === 'apis' && segs.length === 3) {
        const doc = legacyResourceList(ops.registry, segs[1] ?? '', segs[2] ?? '');
        if (doc !== undefined) return sendJson(res, 200, doc);
      }
    }
    const route = this.parseRoute(segs);
    if (route === undefined) throw ApiError.notFoundPath();
    return this.resource(req, res, route, method, q);
  }

  private parseRoute(segs: string[]): ResourceRoute | undefined {
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) {
      group = '';
      version = segs[1] ?? '';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 4) {
      group = segs[1] ?? '';
      version = segs[2] ?? '';
      rest = segs.slice(3);
    } else return undefined;
    const registry = this.deps.ops.registry;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const t = registry.lookup(group, version, rest[2] ?? '');
      if (t !== undefined && t.namespaced) {
        namespace = rest[1];
        rest = rest.slice(2);
      }
    }
    if (rest.length > 3) return undefined;
    const type = registry.lookup(group, version, rest[0] ?? '');
    if (type === undefined) return undefined;
    const name = rest[1];
    if (type.namespaced && namespace === undefined && name !== undefined) return undefined;
    return { type, namespace, name, subresource: rest[2] };
  }

  private writeOptions(req: IncomingMessage, q: URLSearchParams): WriteOptions {
    return {
      fieldManager: q.get('fieldManager') ?? undefined,
      userAgent: req.headers['user-agent'],
      dryRun: q.getAll('dryRun').includes('All'),
      force: boolParam(q, 'force'),
    };
  }

  private async resource(req: IncomingMessage, res: ServerResponse, route: ResourceRoute, method: string, q: URLSearchParams): Promise<void> {
    const ops = this.deps.ops;
    const { type, namespace, name, subresource } = route;
    if (subresource !== undefined && !type.subresources.includes(subresource as never)) throw ApiError.notFoundPath();
    const opts = this.writeOptions(req, q);
    if (name === undefined) {
      switch (method) {
        case 'GET': {
          if (!type.verbs.includes('list')) throw ApiError.methodNotAllowed();
          const lo = listOptions(q);
          if (boolParam(q, 'watch')) return this.watch(req, res, type, namespace, lo, q);
          const result = ops.list(type, namespace, lo);
          return this.sendList(req, res, type, result.items, { resourceVersion: result.resourceVersion, continue: result.continueToken, remainingItemCount: result.remainingItemCount }, q);
        }
        case 'POST': {
          const body = parseBody(await readBody(req), req.headers['content-type']);
          if (type.plural === 'bindings') return this.bind(res, namespace ?? '', asString(getPath(body, ['metadata', 'name'])) ?? '', body, opts);
          if (type.plural === 'selfsubjectaccessreviews') {
            // No authorization in the stand-in: everything is allowed, and the review says why.
            return sendJson(res, 201, { ...asObject(body), apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: { creationTimestamp: null }, status: { allowed: true, reason: 'the Kubernetes API stand-in does no authorization' } });
          }
          if (!type.verbs.includes('create')) throw ApiError.methodNotAllowed();
          return sendJson(res, 201, ops.create(type, namespace, body, opts));
        }
        case 'DELETE': {
          if (!type.verbs.includes('deletecollection')) throw ApiError.methodNotAllowed();
          const items = ops.deleteCollection(type, namespace, listOptions(q), opts.dryRun === true);
          return sendJson(res, 200, { kind: type.listKind, apiVersion: typeApiVersion(type), metadata: { resourceVersion: String(ops.store.currentRevision()) }, items });
        }
        default:
          throw ApiError.methodNotAllowed();
      }
    }
    if (subresource === 'eviction') {
      if (method !== 'POST') throw ApiError.methodNotAllowed();
      const body = parseBody(await readBody(req), req.headers['content-type']);
      return sendJson(res, 201, evictPod(ops, namespace ?? '', name, body, opts.dryRun === true));
    }
    if (subresource === 'binding') {
      if (method !== 'POST') throw ApiError.methodNotAllowed();
      const body = parseBody(await readBody(req), req.headers['content-type']);
      return this.bind(res, namespace ?? '', name, body, opts);
    }
    if (subresource === 'scale') return this.scale(req, res, type, namespace, name, method, opts);
    const status = subresource === 'status' ? ({ subresource: 'status' } as const) : {};
    switch (method) {
      case 'GET': {
        if (boolParam(q, 'watch')) {
          const lo = listOptions(q);
          lo.fieldSelector = [...(lo.fieldSelector ?? []), { field: 'metadata.name', op: 'eq', value: name }];
          return this.watch(req, res, type, namespace, lo, q);
        }
        const obj = ops.get(type, namespace, name);
        if (wantsTable(req)) {
          return sendJson(res, 200, toTable(type, [obj], (o) => o, { resourceVersion: asString(metaOf(obj)['resourceVersion']) ?? '' }, { includeObject: includeObjectOf(q), withHeaders: true, now: ops.now() }));
        }
        return sendJson(res, 200, obj);
      }
      case 'PUT': {
        const body = parseBody(await readBody(req), req.headers['content-type']);
        return sendJson(res, 200, ops.update(type, namespace, name, body, { ...opts, ...status }));
      }
      case 'PATCH': {
        const patchType = patchTypeOf(req.headers['content-type']);
        const body = parseBody(await readBody(req), patchType === 'apply' ? 'application/yaml' : req.headers['content-type']);
        const result = ops.patch(type, namespace, name, patchType, body, { ...opts, ...status });
        return sendJson(res, result.created ? 201 : 200, result.object);
      }
      case 'DELETE': {
        if (subresource !== undefined) throw ApiError.methodNotAllowed();
        const body = parseBody(await readBody(req), req.headers['content-type']);
        const pre = asObject(getPath(body, ['preconditions']));
        const uid = asString(pre['uid']);
        const rv = asString(pre['resourceVersion']);
        const result = ops.delete(type, namespace, name, {
          dryRun: opts.dryRun,
          preconditions: { ...(uid !== undefined ? { uid } : {}), ...(rv !== undefined ? { resourceVersion: rv } : {}) },
        });
        return sendJson(res, 200, result);
      }
      default:
        throw ApiError.methodNotAllowed();
    }
  }

  private bind(res: ServerResponse, namespace: string, name: string, body: unknown, opts: WriteOptions): void {
    const ops = this.deps.ops;
    const pods = ops.registry.lookup('', 'v1', 'pods');
    if (pods === undefined) throw ApiError.internal('pods not registered');
    const target = asString(getPath(body, ['target', 'name']));
    if (target === undefined || target === '') {
      throw ApiError.invalid('Binding', '', name, [{ field: 'target.name', message: 'Required value', type: 'FieldValueRequired' }]);
    }
    if (ops.store.get(pods.storageKey, namespace, name) === undefined) throw ApiError.notFound(pods, name);
    try {
      if (opts.dryRun !== true) bindPod(ops, pods, namespace, name, target, opts.fieldManager ?? 'default-scheduler');
    } catch (e) {
      if (e instanceof BindingConflict) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": ${e.message}`, { name, kind: 'pods/binding' });
      throw e;
    }
    sendJson(res, 201, successStatus(201));
  }

  private async scale(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string | undefined, name: string, method: string, opts: WriteOptions): Promise<void> {
    const ops = this.deps.ops;
    const toScale = (obj: JsonObject): JsonObject => {
      const meta = metaOf(obj);
      const labels = asObject(getPath(obj, ['spec', 'selector', 'matchLabels']));
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name: meta['name'], namespace: meta['namespace'], uid: meta['uid'], resourceVersion: meta['resourceVersion'], creationTimestamp: meta['creationTimestamp'] },
        spec: { replicas: getPath(obj, ['spec', 'replicas']) ?? 1 },
        status: {
          replicas: getPath(obj, ['status', 'replicas']) ?? 0,
          selector: Object.entries(labels)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(','),
        },
      };
    };
    if (method === 'GET') return sendJson(res, 200, toScale(ops.get(type, namespace, name)));
    if (method !== 'PUT' && method !== 'PATCH') throw ApiError.methodNotAllowed();
    const current = toScale(ops.get(type, namespace, name));
    const body = parseBody(await readBody(req), req.headers['content-type']);
    let replicas: unknown;
    if (method === 'PUT') replicas = getPath(body, ['spec', 'replicas']);
    else {
      const patchType = patchTypeOf(req.headers['content-type']);
      const { jsonPatch, mergePatch, strategicMergePatch } = await import('./patch.js');
      const patched = patchType === 'json' ? jsonPatch(current, body) : patchType === 'strategic' ? strategicMergePatch(current, body) : mergePatch(current, body);
      replicas = getPath(patched, ['spec', 'replicas']);
    }
    if (typeof replicas !== 'number') throw ApiError.badRequest('spec.replicas must be a number');
    const updated = ops.patch(type, namespace, name, 'merge', { spec: { replicas } }, opts);
    sendJson(res, 200, toScale(updated.object));
  }

  private async sendList(req: IncomingMessage, res: ServerResponse, type: ResourceType, items: JsonObject[], meta: { resourceVersion: string; continue: string | undefined; remainingItemCount: number | undefined }, q: URLSearchParams): Promise<void> {
    const listMeta: JsonObject = { resourceVersion: meta.resourceVersion };
    if (meta.continue !== undefined) listMeta['continue'] = meta.continue;
    if (meta.remainingItemCount !== undefined) listMeta['remainingItemCount'] = meta.remainingItemCount;
    if (wantsTable(req)) {
      return sendJson(res, 200, toTable(type, items, (o) => o, listMeta, { includeObject: includeObjectOf(q), withHeaders: true, now: this.deps.ops.now() }));
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.write(`{"kind":${JSON.stringify(type.listKind)},"apiVersion":${JSON.stringify(typeApiVersion(type))},"metadata":${JSON.stringify(listMeta)},"items":[`);
    // Stream in chunks so that a list of 30,000 pods never becomes one huge string.
    const CHUNK = 500;
    for (let i = 0; i < items.length; i += CHUNK) {
      const part = items
        .slice(i, i + CHUNK)
        .map((o) => JSON.stringify(o))
        .join(',');
      if (!res.write(i === 0 ? part : `,${part}`)) await once(res, 'drain');
    }
    res.end(']}');
  }

  private encode(event: StoreEvent, type: ResourceType, wireType: string, object: JsonObject): string {
    let byType = this.encoded.get(event);
    if (byType === undefined) {
      byType = new Map();
      this.encoded.set(event, byType);
    }
    const key = `${wireType}|${typeApiVersion(type)}`;
    let s = byType.get(key);
    if (s === undefined) {
      s = `{"type":"${wireType}","object":${JSON.stringify(object)}}\n`;
      byType.set(key, s);
    }
    return s;
  }

  private watch(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string | undefined, lo: ListOptions, q: URLSearchParams): void {
    const ops = this.deps.ops;
    if (!type.verbs.includes('watch')) throw ApiError.methodNotAllowed();
    if (lo.fieldSelector !== undefined) ops.checkFieldSelector(type, lo.fieldSelector);
    const ns = type.namespaced ? namespace : undefined;
    const table = wantsTable(req);
    const includeObject = includeObjectOf(q);
    let firstTable = true;
    const rvParam = q.get('resourceVersion') ?? '';
    const bookmarks = boolParam(q, 'allowWatchBookmarks');
    const sendInitial = q.get('sendInitialEvents');
    const path = new URL(req.url ?? '/', 'http://standin.invalid').pathname;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);

    const writeObject = (wireType: string, obj: JsonObject, event?: StoreEvent): void => {
      if (res.writableEnded || res.destroyed) return;
      const presented = ops.present(type, obj);
      if (table) {
        const t = toTable(type, [presented], (o) => o, { resourceVersion: asString(metaOf(presented)['resourceVersion']) ?? '' }, { includeObject, withHeaders: firstTable, now: ops.now() });
        firstTable = false;
        res.write(`${JSON.stringify({ type: wireType, object: t })}\n`);
        return;
      }
      res.write(event !== undefined ? this.encode(event, type, wireType, presented) : `${JSON.stringify({ type: wireType, object: presented })}\n`);
    };
    const expire = (rv: string): void => {
      const oldest = ops.store.oldestWatchableRevision(type.storageKey);
      const status = ApiError.gone(`too old resource version: ${rv} (${oldest})`).toStatus();
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    };
    if (this.deps.faults.consumeWatchExpiry(path)) return expire(rvParam === '' ? '0' : rvParam);

    const deliver = (e: StoreEvent): void => {
      const nowMatches = e.type !== 'DELETED' && ops.matches(type, e.object, ns, lo);
      const before = e.previous !== undefined && ops.matches(type, e.previous, ns, lo);
      if (e.type === 'ADDED') {
        if (nowMatches) writeObject('ADDED', e.object, e);
      } else if (e.type === 'MODIFIED') {
        if (nowMatches && before) writeObject('MODIFIED', e.object, e);
        else if (nowMatches) writeObject('ADDED', e.object, e);
        else if (before) writeObject('DELETED', e.object, e);
      } else if (ops.matches(type, e.object, ns, lo)) writeObject('DELETED', e.object, e);
    };

    let backlog: StoreEvent[] = [];
    let initial: JsonObject[] = [];
    const startRv = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
    if (startRv !== undefined && !Number.isFinite(startRv)) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: ApiError.badRequest(`invalid resource version: ${rvParam}`).toStatus() })}\n`);
      return;
    }
    if (startRv === undefined || sendInitial === 'true') {
      initial = ops.list(type, ns, { ...lo, limit: undefined, continueToken: undefined }).items;
    } else {
      const events = ops.store.eventsSince(type.storageKey, startRv);
      if (events === 'expired') return expire(rvParam);
      backlog = events;
    }
    const unsubscribe = ops.store.subscribe(type.storageKey, deliver);
    for (const obj of initial) writeObject('ADDED', obj);
    for (const e of backlog) deliver(e);
    const bookmark = (annotations?: Record<string, string>): void => {
      if (res.writableEnded || res.destroyed) return;
      const metadata: JsonObject = { resourceVersion: String(ops.store.currentRevision()) };
      if (annotations !== undefined) metadata['annotations'] = annotations;
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: typeApiVersion(type), metadata } })}\n`);
    };
    if (sendInitial === 'true' && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    const timers: NodeJS.Timeout[] = [];
    if (bookmarks && this.deps.bookmarkIntervalMs > 0) timers.push(setInterval(() => bookmark(), this.deps.bookmarkIntervalMs));
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0');
    const handle: WatchHandle = { path, close: () => cleanup(true) };
    if (timeoutSeconds > 0) timers.push(setTimeout(() => cleanup(true), timeoutSeconds * 1000));
    this.deps.faults.openWatches.add(handle);
    let done = false;
    const cleanup = (end: boolean): void => {
      if (done) return;
      done = true;
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.deps.faults.openWatches.delete(handle);
      if (end && !res.writableEnded) res.end();
    };
    res.on('close', () => cleanup(false));
    res.on('error', () => cleanup(false));
  }

  private async control(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<void> {
    const faults = this.deps.faults;
    const body = method === 'GET' || method === 'DELETE' ? undefined : parseBody(await readBody(req), 'application/json');
    const b = asObject(body);
    const key = `${method} ${path}`;
    switch (key) {
      case 'GET /_standin/faults':
        return sendJson(res, 200, { rules: faults.list(), openWatches: faults.openWatches.size, injected: faults.injected });
      case 'POST /_standin/faults': {
        const inputs = Array.isArray(body) ? body : [body];
        const rules = inputs.map((i) => {
          if (!isPlainObject(i) || (i['kind'] !== 'error' && i['kind'] !== 'delay' && i['kind'] !== 'reset')) {
            throw ApiError.badRequest('fault needs kind: error | delay | reset');
          }
          return faults.add(i as unknown as FaultRuleInput);
        });
        return sendJson(res, 201, { rules });
      }
      case 'DELETE /_standin/faults':
        faults.clear();
        return sendJson(res, 200, { rules: [] });
      case 'POST /_standin/faults/drop-watches':
        return sendJson(res, 200, { dropped: faults.dropWatches(asString(b['path'])) });
      case 'POST /_standin/faults/expire-watches':
        faults.expireNextWatches(typeof b['count'] === 'number' ? b['count'] : 1, asString(b['path']));
        return sendJson(res, 200, { ok: true });
      case 'POST /_standin/faults/compact':
        faults.compact();
        return sendJson(res, 200, { compactedAt: String(this.deps.ops.store.currentRevision()) });
      case 'GET /_standin/requests':
        return sendJson(res, 200, { requests: this.recentRequests() });
      case 'DELETE /_standin/requests':
        this.clearRequestLog();
        return sendJson(res, 200, { requests: [] });
      case 'POST /_standin/kubelets': {
        // A host joined (kubeadm join, Kubespray scale.yml): its kubelet starts and registers the Node.
        const name = asString(b['name']);
        if (name === undefined || this.deps.kubelets === undefined) throw ApiError.badRequest('kubelet needs a name');
        this.deps.kubelets.add(b as unknown as EmulatedNode);
        return sendJson(res, 201, { name, nodes: this.deps.kubelets.names() });
      }
      case 'PUT /_standin/version': {
        const v = asString(b['gitVersion']);
        if (v === undefined || !/^v\d+\.\d+\.\d+/.test(v)) throw ApiError.badRequest('gitVersion like v1.35.4');
        this.deps.gitVersion = v;
        return sendJson(res, 200, versionInfo(v));
      }
      case 'GET /_standin/stats':
        return sendJson(res, 200, { ...this.deps.stats(), requests: this.requests, openWatches: faults.openWatches.size, rssBytes: process.memoryUsage().rss });
      default: {
        // /_standin/kubelets/NAME (DELETE: its kubelet stops, as after a reset) and
        // /_standin/kubelets/NAME/version (POST: the kubelet restarted on another version).
        const m = /^\/_standin\/kubelets\/([^/]+)(\/version)?$/.exec(path);
        const kubelets = this.deps.kubelets;
        if (m && kubelets && method === 'DELETE' && !m[2]) {
          kubelets.remove(decodeURIComponent(m[1]!));
          return sendJson(res, 200, { nodes: kubelets.names() });
        }
        if (m && kubelets && method === 'POST' && m[2]) {
          const v = asString(b['kubeletVersion']);
          if (v === undefined) throw ApiError.badRequest('kubeletVersion like v1.35.4');
          if (!kubelets.setVersion(decodeURIComponent(m[1]!), v)) throw ApiError.notFoundPath();
          return sendJson(res, 200, { name: m[1], kubeletVersion: v });
        }
        throw ApiError.notFoundPath();
      }
    }
  }
}

export function versionInfo(gitVersion: string): JsonObject {
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '0',
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.24.0 (kube-apiserver stand-in, VMStation lab)',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}
