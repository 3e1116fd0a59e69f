// A list-then-watch informer with a local cache, as client-go's reflector and client-node's
// ListWatch work: list in pages (limit/continue), remember the list's resourceVersion, watch from
// it (with bookmarks, and a server-side timeout after which it re-watches from the last version),
// re-list when the version has expired (410 Gone, as an HTTP status or an ERROR event), and emit
// add/update/delete for what changed, including what a re-list found missing. Any other failure is
// reported on 'error' and the informer stops: its owner restarts it (see keepInformerRunning), and
// start() then resumes the watch from the last version seen. Objects are cut down by `slim` before
// they are cached (see slim.ts). A callback that throws is contained: the others still run, the
// cache stays right, and the error goes to `onCallbackError` (the controller logs and counts it);
// an event that cannot be applied (slim throws on a malformed object) ends the watch with an
// error, like a broken stream, so the informer restarts (with a fresh list) instead of the process.
import { KubeApiError, type KubeRest, type WatchEvent } from './rest.js';

interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string } | undefined;
}

export type ObjectCallback<T> = (obj: T) => void;
export type ErrorCallback = (err: unknown) => void;

export interface CachedInformer<T> {
  on(verb: 'add' | 'update' | 'delete' | 'change', cb: ObjectCallback<T>): void;
  on(verb: 'error', cb: ErrorCallback): void;
  /** Lists (or resumes the watch) and resolves once the cache holds the list. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): T[];
}

export interface InformerOptions<T> {
  rest: KubeRest;
  /** e.g. /api/v1/pods */
  path: string;
  slim: (obj: T) => T;
  pageSize?: number;
  /** Server-side watch timeout; client-go picks 5-10 min at random so watches do not restart together. */
  watchTimeoutSeconds?: () => number;
  /** A registered add/update/delete callback threw (default: a process warning). */
  onCallbackError?: CallbackErrorHandler;
}

export type CallbackErrorHandler = (err: unknown, where: { path: string; verb: 'add' | 'update' | 'delete' }) => void;

function warnCallbackError(err: unknown, where: { path: string; verb: string }): void {
  process.emitWarning(`informer ${where.path}: a '${where.verb}' callback failed: ${err instanceof Error ? err.message : String(err)}`);
}

const GONE = 410;

function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === GONE;
}

export class ListWatchInformer<T extends Meta> implements CachedInformer<T> {
  private readonly objects = new Map<string, Map<string, T>>();
  private readonly callbacks = { add: [] as ObjectCallback<T>[], update: [] as ObjectCallback<T>[], delete: [] as ObjectCallback<T>[], error: [] as ErrorCallback[] };
  private resourceVersion = '';
  private abort: AbortController | undefined;

  constructor(private readonly opts: InformerOptions<T>) {}

  on(verb: 'add' | 'update' | 'delete' | 'change', cb: ObjectCallback<T>): void;
  on(verb: 'error', cb: ErrorCallback): void;
  on(verb: 'add' | 'update' | 'delete' | 'change' | 'error', cb: ObjectCallback<T> | ErrorCallback): void {
    if (verb === 'change') {
      for (const v of ['add', 'update', 'delete'] as const) this.callbacks[v].push(cb as ObjectCallback<T>);
      return;
    }
    (this.callbacks[verb] as unknown[]).push(cb);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? '')?.get(name);
  }

  list(namespace?: string): T[] {
    if (namespace) return [...(this.objects.get(namespace)?.values() ?? [])];
    const all: T[] = [];
    for (const ns of this.objects.values()) all.push(...ns.values());
    return all;
  }

  async start(): Promise<void> {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    try {
      if (!this.resourceVersion) await this.relist(abort.signal);
    } catch (err) {
      if (!abort.signal.aborted) this.fail(err);
      return;
    }
    void this.watchLoop(abort.signal);
  }

  stop(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    return Promise.resolve();
  }

  /** Calls every callback of `verb`; one that throws is reported and does not stop the others. */
  private emit(verb: 'add' | 'update' | 'delete', obj: T): void {
    for (const cb of this.callbacks[verb]) {
      try {
        cb(obj);
      } catch (err) {
        (this.opts.onCallbackError ?? warnCallbackError)(err, { path: this.opts.path, verb });
      }
    }
  }

  private fail(err: unknown): void {
    this.abort?.abort();
    for (const cb of this.callbacks.error) cb(err);
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let token: string | undefined;
    let version = '';
    do {
      const page = await this.opts.rest.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', this.opts.path, {
        query: { limit: this.opts.pageSize ?? 500, continue: token },
        signal,
      });
      // The first page's version is the list's: later pages are served from the same snapshot.
      if (!token) version = page.metadata?.resourceVersion ?? '';
      for (const item of page.items ?? []) items.push(this.opts.slim(item));
      token = page.metadata?.continue || undefined;
    } while (token);
    if (signal.aborted) return;
    this.replace(items);
    this.resourceVersion = version;
  }

  /** Makes the cache equal to a fresh list, announcing deletions first, then adds and updates. */
  private replace(items: T[]): void {
    const fresh = new Set(items.map((o) => key(o)));
    for (const [ns, byName] of this.objects)
      for (const [name, obj] of byName)
        if (!fresh.has(`${ns}/${name}`)) {
          byName.delete(name);
          this.emit('delete', obj);
        }
    for (const obj of items) this.upsert(obj);
  }

  private upsert(obj: T): void {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let byName = this.objects.get(ns);
    if (!byName) this.objects.set(ns, (byName = new Map()));
    const old = byName.get(name);
    byName.set(name, obj);
    if (!old) this.emit('add', obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj);
  }

  private remove(obj: T): void {
    const ns = obj.metadata?.namespace ?? '';
    const byName = this.objects.get(ns);
    const old = byName?.get(obj.metadata?.name ?? '');
    if (!byName || !old) return;
    byName.delete(obj.metadata?.name ?? '');
    if (byName.size === 0) this.objects.delete(ns);
    this.emit('delete', obj);
  }

  private async watchLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let streamError: Error | undefined;
      // Ends this one watch (not the informer) when an event cannot be applied.
      const watchAbort = new AbortController();
      const onAbort = () => watchAbort.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        if (!this.resourceVersion) await this.relist(signal);
        if (signal.aborted) return;
        const timeout = this.opts.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
        await this.opts.rest.watch<T>(
          this.opts.path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: timeout },
          (event) => {
            if (streamError) return;
            try {
              streamError = this.onEvent(event);
            } catch (err) {
              // Re-list on restart rather than replay the same event from the last version.
              this.resourceVersion = '';
              streamError = new Error(`watch ${this.opts.path}: an event could not be applied: ${err instanceof Error ? err.message : String(err)}`);
            }
            if (streamError) watchAbort.abort();
          },
          watchAbort.signal,
          (timeout + 30) * 1000,
        );
      } catch (err) {
        if (signal.aborted) return;
        if (isGone(err)) {
          this.resourceVersion = '';
          continue;
        }
        this.fail(err);
        return;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (streamError && !signal.aborted) {
        this.fail(streamError);
        return;
      }
      // A normal end (the server's timeoutSeconds): watch again from the last version seen.
    }
  }

  /** Applies one watch event; returns the error an ERROR event carried (other than 410). */
  private onEvent(event: WatchEvent<T>): KubeApiError | undefined {
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; message?: string; reason?: string };
      if (status.code === GONE) {
        this.resourceVersion = '';
        return undefined;
      }
      return new KubeApiError(status.code ?? 500, status.message ?? 'watch error', status.reason, 'GET', this.opts.path);
    }
    const obj = event.type === 'BOOKMARK' ? event.object : this.opts.slim(event.object);
    if (event.type === 'ADDED' || event.type === 'MODIFIED') this.upsert(obj);
    else if (event.type === 'DELETED') this.remove(obj);
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    return undefined;
  }
}

function key(o: Meta): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
