// The stand-in's storage: one collection per storage key, a global resourceVersion counter (as
// etcd's revision), a bounded per-collection event history for watches (older resourceVersions
// answer 410 Gone, as after an etcd compaction), and subscribers (HTTP watches and the emulated
// controllers). Stored objects are never mutated; writers store fresh objects.
import { asObject, asString, type JsonObject } from './json.js';

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: StoreEventType;
  rv: number;
  storageKey: string;
  object: JsonObject;
  /** The object before this change (undefined for ADDED). */
  previous: JsonObject | undefined;
}

export type StoreListener = (event: StoreEvent) => void;

class Collection {
  readonly objects = new Map<string, JsonObject>();
  sortedKeys: string[] | null = null;
  readonly history: StoreEvent[] = [];
  historyStart = 0;
  /** Watches from a resourceVersion below this cannot be served (events were dropped). */
  compactedRV = 0;
  readonly listeners = new Set<StoreListener>();

  keys(): string[] {
    this.sortedKeys ??= [...this.objects.keys()].sort();
    return this.sortedKeys;
  }
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export function metaOf(obj: JsonObject): JsonObject {
  return asObject(obj['metadata']);
}

export function nameOf(obj: JsonObject): string {
  return asString(metaOf(obj)['name']) ?? '';
}

export function namespaceOf(obj: JsonObject): string | undefined {
  return asString(metaOf(obj)['namespace']);
}

export class Store {
  private readonly collections = new Map<string, Collection>();
  private revision: number;
  private readonly window: number;

  private readonly onListenerError: (err: unknown) => void;

  constructor(options: { initialRevision?: number; watchWindow?: number; onListenerError?: (err: unknown) => void } = {}) {
    this.revision = options.initialRevision ?? 1000;
    this.window = options.watchWindow ?? 10_000;
    this.onListenerError = options.onListenerError ?? ((err) => console.error('kube-apiserver-standin: subscriber failed:', err));
  }

  currentRevision(): number {
    return this.revision;
  }

  private collection(storageKey: string): Collection {
    let c = this.collections.get(storageKey);
    if (c === undefined) {
      c = new Collection();
      c.compactedRV = 0;
      this.collections.set(storageKey, c);
    }
    return c;
  }

  get(storageKey: string, namespace: string | undefined, name: string): JsonObject | undefined {
    return this.collections.get(storageKey)?.objects.get(objectKey(namespace, name));
  }

  /** Objects in key order (namespace/name), optionally in one namespace. */
  list(storageKey: string, namespace?: string): JsonObject[] {
    const c = this.collections.get(storageKey);
    if (c === undefined) return [];
    const out: JsonObject[] = [];
    const prefix = namespace === undefined ? undefined : `${namespace}/`;
    for (const k of c.keys()) {
      if (prefix !== undefined && !k.startsWith(prefix)) continue;
      const o = c.objects.get(k);
      if (o !== undefined) out.push(o);
    }
    return out;
  }

  /** Keys in order, for paginated lists. */
  keys(storageKey: string): readonly string[] {
    return this.collections.get(storageKey)?.keys() ?? [];
  }

  getByKey(storageKey: string, key: string): JsonObject | undefined {
    return this.collections.get(storageKey)?.objects.get(key);
  }

  count(storageKey: string): number {
    return this.collections.get(storageKey)?.objects.size ?? 0;
  }

  /**
   * Stores `next` (or deletes when undefined) under its key with a new resourceVersion, records the
   * event and notifies subscribers. `next` must be a fresh object owned by the store from now on.
   */
  commit(storageKey: string, namespace: string | undefined, name: string, next: JsonObject | undefined): StoreEvent {
    const c = this.collection(storageKey);
    const key = objectKey(namespace, name);
    const previous = c.objects.get(key);
    this.revision += 1;
    const rv = this.revision;
    let object: JsonObject;
    let type: StoreEventType;
    if (next === undefined) {
      if (previous === undefined) throw new Error(`commit: delete of missing ${storageKey} ${key}`);
      object = { ...previous, metadata: { ...metaOf(previous), resourceVersion: String(rv) } };
      c.objects.delete(key);
      c.sortedKeys = null;
      type = 'DELETED';
    } else {
      object = next;
      metaOf(object)['resourceVersion'] = String(rv);
      if (previous === undefined) c.sortedKeys = null;
      c.objects.set(key, object);
      type = previous === undefined ? 'ADDED' : 'MODIFIED';
    }
    const event: StoreEvent = { type, rv, storageKey, object, previous };
    c.history.push(event);
    if (c.history.length - c.historyStart > this.window) {
      const dropped = c.history[c.historyStart];
      c.historyStart += 1;
      if (dropped !== undefined) c.compactedRV = dropped.rv;
      // Shrink the backing array now and then instead of shifting on every event.
      if (c.historyStart > this.window) {
        c.history.splice(0, c.historyStart);
        c.historyStart = 0;
      }
    }
    for (const l of [...c.listeners]) {
      // A failing subscriber (a watch, an emulated controller) must not fail the write.
      try {
        l(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
    return event;
  }

  /** Events after `rv`, or 'expired' when some of them were already dropped. */
  eventsSince(storageKey: string, rv: number): StoreEvent[] | 'expired' {
    const c = this.collection(storageKey);
    if (rv < c.compactedRV) return 'expired';
    const out: StoreEvent[] = [];
    for (let i = c.historyStart; i < c.history.length; i++) {
      const e = c.history[i];
      if (e !== undefined && e.rv > rv) out.push(e);
    }
    return out;
  }

  oldestWatchableRevision(storageKey: string): number {
    return this.collection(storageKey).compactedRV;
  }

  /** Forgets all history so that any watch from an older resourceVersion gets 410 Gone. */
  compact(storageKey?: string): void {
    const targets = storageKey === undefined ? [...this.collections.values()] : [this.collection(storageKey)];
    for (const c of targets) {
      c.history.length = 0;
      c.historyStart = 0;
      c.compactedRV = this.revision;
    }
  }

  subscribe(storageKey: string, listener: StoreListener): () => void {
    const c = this.collection(storageKey);
    c.listeners.add(listener);
    return () => c.listeners.delete(listener);
  }
}
