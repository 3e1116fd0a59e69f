// A thin wrapper over @kubernetes/client-node@1: the calls the power manager makes (Nodes, Pod
// evictions, Events, Leases) with HTTP statuses turned into plain outcomes, and informers that
// restart themselves with capped backoff after an error (client-node stops an informer on error).
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type CoreV1Event,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
  type V1Lease,
  type V1Node,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { slimInformer, slimNode, slimPdb, slimPod, slimPv, slimPvc } from './slim.js';

export interface KubeConnectOptions {
  kubeconfig?: string | undefined;
  inCluster?: boolean | undefined;
  context?: string | undefined;
}

export function loadKubeConfig(opts: KubeConnectOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.inCluster) kc.loadFromCluster();
  else if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (opts.context) kc.setCurrentContext(opts.context);
  return kc;
}

/** The HTTP status of a failed call, when there was one. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown; statusCode?: unknown } | undefined)?.statusCode ?? (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The `message` of a Kubernetes Status body, or the error's own message. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
      if (parsed && typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: fall through
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export type EvictionOutcome =
  | { outcome: 'evicted' }
  | { outcome: 'gone' }
  /** 429: a PodDisruptionBudget does not allow it now. */
  | { outcome: 'blocked'; message: string }
  | { outcome: 'error'; status: number | undefined; message: string };

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeClient {
  readonly core: CoreV1Api;
  readonly policy: PolicyV1Api;
  readonly coordination: CoordinationV1Api;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.policy = kc.makeApiClient(PolicyV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  async getNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.core.readNode({ name });
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async listNodes(): Promise<V1Node[]> {
    return (await this.core.listNode()).items;
  }

  /** JSON merge patch of a Node (annotations with null remove the key). */
  patchNode(name: string, patch: object): Promise<V1Node> {
    return this.core.patchNode({ name, body: patch }, MERGE_PATCH);
  }

  /** Evicts through the Eviction API (policy/v1): honours PodDisruptionBudgets; never a delete. */
  async evictPod(namespace: string, name: string): Promise<EvictionOutcome> {
    try {
      await this.core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });
      return { outcome: 'evicted' };
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 404) return { outcome: 'gone' };
      if (status === 429) return { outcome: 'blocked', message: apiMessage(err) };
      return { outcome: 'error', status, message: apiMessage(err) };
    }
  }

  async createEvent(event: CoreV1Event): Promise<void> {
    await this.core.createNamespacedEvent({ namespace: event.metadata.namespace ?? 'default', body: event });
  }

  async getLease(namespace: string, name: string): Promise<V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  createLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body: lease });
  }

  /** Replaces with the lease's resourceVersion: a 409 means someone else wrote it first. */
  replaceLease(namespace: string, lease: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ name: lease.metadata?.name ?? '', namespace, body: lease });
  }

  // client-node ListWatch informers holding slimmed objects (see slim.ts), listed in pages.
  nodeInformer(): Informer<V1Node> & ObjectCache<V1Node> {
    return slimInformer<V1Node>(this.kc, '/api/v1/nodes', (limit, c) => this.core.listNode({ limit, ...(c ? { _continue: c } : {}) }), slimNode);
  }

  podInformer(): Informer<V1Pod> & ObjectCache<V1Pod> {
    return slimInformer<V1Pod>(this.kc, '/api/v1/pods', (limit, c) => this.core.listPodForAllNamespaces({ limit, ...(c ? { _continue: c } : {}) }), slimPod);
  }

  pvcInformer(): Informer<V1PersistentVolumeClaim> & ObjectCache<V1PersistentVolumeClaim> {
    return slimInformer<V1PersistentVolumeClaim>(this.kc, '/api/v1/persistentvolumeclaims', (limit, c) => this.core.listPersistentVolumeClaimForAllNamespaces({ limit, ...(c ? { _continue: c } : {}) }), slimPvc);
  }

  pvInformer(): Informer<V1PersistentVolume> & ObjectCache<V1PersistentVolume> {
    return slimInformer<V1PersistentVolume>(this.kc, '/api/v1/persistentvolumes', (limit, c) => this.core.listPersistentVolume({ limit, ...(c ? { _continue: c } : {}) }), slimPv);
  }

  pdbInformer(): Informer<V1PodDisruptionBudget> & ObjectCache<V1PodDisruptionBudget> {
    return slimInformer<V1PodDisruptionBudget>(this.kc, '/apis/policy/v1/poddisruptionbudgets', (limit, c) => this.policy.listPodDisruptionBudgetForAllNamespaces({ limit, ...(c ? { _continue: c } : {}) }), slimPdb);
  }
}

/**
 * Keeps an informer running: client-node re-lists by itself after a 410, but stops on any other
 * error; this restarts it after a capped exponential delay (sleep injected for tests).
 */
export function keepInformerRunning<T extends KubernetesObject>(
  informer: Informer<T>,
  opts: { delay: (retry: number) => number; sleep: (ms: number) => Promise<void>; onError?: (err: unknown, retry: number, delayMs: number) => void; isStopped: () => boolean },
): void {
  let retry = 0;
  let erroredSinceStart = false;
  const restart = async () => {
    if (opts.isStopped()) return;
    erroredSinceStart = false;
    await informer.start();
    // start() resolves once the list and the watch are up, or after it reported an error.
    if (!erroredSinceStart) retry = 0;
  };
  informer.on('error', (err: unknown) => {
    erroredSinceStart = true;
    retry += 1;
    const ms = opts.delay(retry);
    opts.onError?.(err, retry, ms);
    void opts.sleep(ms).then(restart).catch(() => undefined);
  });
}

export type { V1Node, V1Pod, V1PodDisruptionBudget, V1Lease, CoreV1Event, KubeConfig };
