// The calls the power manager makes (Nodes, Pod evictions, Events, Leases) with HTTP statuses
// turned into plain outcomes, and informers that restart themselves with capped backoff after an
// error. Built on rest.ts and informer.ts rather than @kubernetes/client-node: the controller runs
// all the time on the control plane and must stay under 100 MB, and importing client-node alone
// costs ~75 MiB (see docs/power.md, "Memory"). client-node's types are used (type-only imports
// cost nothing at run time); the deploy side, which runs briefly, keeps client-node itself.
import type { CoreV1Event, V1ConfigMap, V1Lease, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import { ListWatchInformer, type CachedInformer, type CallbackErrorHandler } from './informer.js';
import { loadConnection, type KubeConnectOptions } from './kubeconfig.js';
import { KubeApiError, KubeRest } from './rest.js';
import { slimNode, slimPdb, slimPod, slimPv, slimPvc } from './slim.js';
import { errorMessage } from '../../errors.js';

export type { KubeConnectOptions } from './kubeconfig.js';
export type { CachedInformer } from './informer.js';

/** The HTTP status of a failed call, when there was one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof KubeApiError) return err.status;
  const code = (err as { code?: unknown; statusCode?: unknown } | undefined)?.statusCode ?? (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export type EvictionOutcome =
  | { outcome: 'evicted' }
  | { outcome: 'gone' }
  /** 429: a PodDisruptionBudget does not allow it now. */
  | { outcome: 'blocked'; message: string }
  | { outcome: 'error'; status: number | undefined; message: string };

const MERGE_PATCH = 'application/merge-patch+json';
const enc = encodeURIComponent;

export interface KubeClientHooks {
  /** An informer's add/update/delete callback threw (it was contained; the informer goes on). */
  onInformerCallbackError?: CallbackErrorHandler;
}

export class KubeClient {
  readonly rest: KubeRest;

  constructor(
    opts: KubeConnectOptions = {},
    private readonly hooks: KubeClientHooks = {},
  ) {
    this.rest = new KubeRest(loadConnection(opts));
  }

  private informer<T extends object>(path: string, slim: (obj: T) => T): CachedInformer<T> {
    return new ListWatchInformer<T>({ rest: this.rest, path, slim, ...(this.hooks.onInformerCallbackError ? { onCallbackError: this.hooks.onInformerCallbackError } : {}) });
  }

  private async getOrUndefined<T>(path: string): Promise<T | undefined> {
    try {
      return await this.rest.request<T>('GET', path);
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  getNode(name: string): Promise<V1Node | undefined> {
    return this.getOrUndefined<V1Node>(`/api/v1/nodes/${enc(name)}`);
  }

  async listNodes(): Promise<V1Node[]> {
    return (await this.rest.request<{ items?: V1Node[] }>('GET', '/api/v1/nodes')).items ?? [];
  }

  /** JSON merge patch of a Node (annotations with null remove the key). */
  patchNode(name: string, patch: object): Promise<V1Node> {
    return this.rest.request<V1Node>('PATCH', `/api/v1/nodes/${enc(name)}`, { body: patch, contentType: MERGE_PATCH });
  }

  /** The pods bound to one node (fieldSelector spec.nodeName), for a drain. */
  async listPodsOnNode(node: string): Promise<V1Pod[]> {
    return (await this.rest.request<{ items?: V1Pod[] }>('GET', `/api/v1/pods?fieldSelector=${enc(`spec.nodeName=${node}`)}`)).items ?? [];
  }

  /** Deletes a Node object; false when it was already gone. */
  async deleteNode(name: string): Promise<boolean> {
    try {
      await this.rest.request('DELETE', `/api/v1/nodes/${enc(name)}`);
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 404) return false;
      throw err;
    }
  }

  /** Evicts through the Eviction API (policy/v1): honours PodDisruptionBudgets; never a delete. */
  async evictPod(namespace: string, name: string): Promise<EvictionOutcome> {
    try {
      await this.rest.request('POST', `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}/eviction`, {
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
      });
      return { outcome: 'evicted' };
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 404) return { outcome: 'gone' };
      if (status === 429) return { outcome: 'blocked', message: errorMessage(err) };
      return { outcome: 'error', status, message: errorMessage(err) };
    }
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    await this.rest.request('POST', `/api/v1/namespaces/${enc(event.metadata.namespace ?? 'default')}/events`, { body: event });
  }

  getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    return this.getOrUndefined<V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases/${enc(name)}`);
  }

  createLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return this.rest.request<V1Lease>('POST', `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases`, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease } });
  }

  /** Replaces with the lease's resourceVersion: a 409 means someone else wrote it first. */
  replaceLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return this.rest.request<V1Lease>('PUT', `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases/${enc(lease.metadata?.name ?? '')}`, {
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
    });
  }

  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.getOrUndefined<V1ConfigMap>(`/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(name)}`);
  }

  createConfigMap(namespace: string, cm: V1ConfigMap): Promise<V1ConfigMap> {
    return this.rest.request<V1ConfigMap>('POST', `/api/v1/namespaces/${enc(namespace)}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', ...cm } });
  }

  /** Replaces with the ConfigMap's resourceVersion (when set): a 409 means someone else wrote it first. */
  replaceConfigMap(namespace: string, cm: V1ConfigMap): Promise<V1ConfigMap> {
    return this.rest.request<V1ConfigMap>('PUT', `/api/v1/namespaces/${enc(namespace)}/configmaps/${enc(cm.metadata?.name ?? '')}`, { body: { apiVersion: 'v1', kind: 'ConfigMap', ...cm } });
  }

  // Informers holding slimmed objects (see slim.ts), listed in pages.
  nodeInformer(): CachedInformer<V1Node> {
    return this.informer<V1Node>('/api/v1/nodes', slimNode);
  }

  podInformer(): CachedInformer<V1Pod> {
    return this.informer<V1Pod>('/api/v1/pods', slimPod);
  }

  pvcInformer(): CachedInformer<V1PersistentVolumeClaim> {
    return this.informer<V1PersistentVolumeClaim>('/api/v1/persistentvolumeclaims', slimPvc);
  }

  pvInformer(): CachedInformer<V1PersistentVolume> {
    return this.informer<V1PersistentVolume>('/api/v1/persistentvolumes', slimPv);
  }

  pdbInformer(): CachedInformer<V1PodDisruptionBudget> {
    return this.informer<V1PodDisruptionBudget>('/apis/policy/v1/poddisruptionbudgets', slimPdb);
  }

  /** Drops the keep-alive connections (informers must be stopped first). */
  close(): void {
    this.rest.close();
  }
}

/**
 * Keeps an informer running: it re-lists by itself after a 410, but stops on any other error;
 * this restarts it after a capped exponential delay (clock injected for tests). As client-go's
 * reflector does, the backoff starts over only once the informer has gone `resetAfterMs` without
 * an error: a restart that "succeeds" and fails again a moment later (an API server that accepts
 * the connection and then drops the watch) keeps backing off.
 */
export function keepInformerRunning<T>(
  informer: CachedInformer<T>,
  opts: {
    delay: (retry: number) => number;
    sleep: (ms: number) => Promise<void>;
    onError?: (err: unknown, retry: number, delayMs: number) => void;
    isStopped: () => boolean;
    now?: () => number;
    /** Errors further apart than this start the backoff over (client-go: 2 min). */
    resetAfterMs?: number;
  },
): void {
  const now = opts.now ?? Date.now;
  const resetAfterMs = opts.resetAfterMs ?? INFORMER_BACKOFF_RESET_MS;
  let retry = 0;
  let lastErrorAt = -Infinity;
  const restart = async () => {
    if (!opts.isStopped()) await informer.start();
  };
  informer.on('error', (err: unknown) => {
    const at = now();
    if (at - lastErrorAt >= resetAfterMs) retry = 0;
    lastErrorAt = at;
    retry += 1;
    const ms = opts.delay(retry);
    opts.onError?.(err, retry, ms);
    void opts.sleep(ms).then(restart).catch(() => undefined);
  });
}

/** client-go's reflector resets its backoff after 2 minutes without a failure. */
export const INFORMER_BACKOFF_RESET_MS = 120_000;

export type { V1Node, V1Pod, V1PodDisruptionBudget, V1Lease, V1ConfigMap, CoreV1Event };
