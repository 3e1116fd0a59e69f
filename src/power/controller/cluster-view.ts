// The controller's view of the cluster: informers on Nodes, Pods, PodDisruptionBudgets, claims and
// volumes, turned into the core's Observed on demand. It also remembers what the controller itself
// saw (when it first saw each node, the last activity decide() reported, the Nodes it wrote before
// the watch caught up) and lets executors wait for the cluster to change (a Node Ready, pods gone)
// without polling. An object that cannot be read is observed conservatively and reported; it never
// stops an informer.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { httpStatusOf, keepInformerRunning, type CachedInformer, type KubeClient } from '../../adapters/kube/client.js';
import { errorMessage } from '../../errors.js';
import type { InFlightTransition, InputProblem, NodeActivity, Observed, ObservedPod, SleepRequest, WakeRequest } from '../core/types.js';
import { parsePowerAnnotations, parsePowerRequest, powerAnnotationProblems, POWER_ANNOTATIONS, toSleepRequest, toWakeRequest, type PowerAnnotations } from './annotations.js';
import { backoffDelay, INFORMER_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { PowerMetrics } from './metrics.js';
import { localClaimResolver, observeNode, observePdb, observePod, unreadablePod, type LocalClaimResolver } from './observe.js';

export type KubeInformers = Pick<KubeClient, 'nodeInformer' | 'podInformer' | 'pdbInformer' | 'pvcInformer' | 'pvInformer'>;

export interface ClusterViewDeps {
  kube: KubeInformers;
  clock: Clock;
  log: Logger;
  metrics: PowerMetrics;
  /** Something changed: `urgent` for a Node or a pod waiting for a node, routine otherwise (bound pods, PDBs, claims). */
  onChange(urgent: boolean): void;
  informerBackoff?: BackoffPolicy;
}

interface Waiter<A extends unknown[]> {
  check: (...args: A) => boolean;
}

const podKeyOf = (pod: V1Pod) => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

export class ClusterView {
  private readonly nodes: CachedInformer<V1Node>;
  private readonly pods: CachedInformer<V1Pod>;
  private readonly pdbs;
  private readonly pvcs;
  private readonly pvs;
  private readonly localClaim: LocalClaimResolver;
  /** Pods with PVC volumes: re-observed when claims or volumes change. */
  private readonly podsWithClaims = new Map<string, V1Pod>();
  private readonly observedPods = new Map<string, ObservedPod>();
  private readonly podProblems = new Map<string, InputProblem[]>();
  private nodeProblems: InputProblem[] = [];
  private readonly firstSeen = new Map<string, number>();
  private readonly lastActivity = new Map<string, number>();
  /** Nodes as last written by this controller, until the watch catches up (no double transitions). */
  private readonly written = new Map<string, V1Node>();
  private readonly nodeWaiters = new Set<Waiter<[V1Node | undefined]>>();
  private readonly podWaiters = new Set<Waiter<[]>>();
  private readonly stopping = new AbortController();
  private synced = false;

  constructor(private readonly deps: ClusterViewDeps) {
    this.nodes = deps.kube.nodeInformer();
    this.pods = deps.kube.podInformer();
    this.pdbs = deps.kube.pdbInformer();
    this.pvcs = deps.kube.pvcInformer();
    this.pvs = deps.kube.pvInformer();
    this.localClaim = localClaimResolver((ns, name) => this.pvcs.get(name, ns), (name) => this.pvs.get(name));
  }

  /** Starts the informers (claims and volumes first, so pods are observed with them) and resolves once all are synced. */
  async start(): Promise<void> {
    const guarded =
      <T>(what: string, handle: (obj: T) => void) =>
      (obj: T) => {
        try {
          handle(obj);
        } catch (err) {
          // A bug reading one object must not stop the informer that delivered it.
          this.deps.log.error('could not handle a watch event', { what, error: errorMessage(err) });
        }
      };
    for (const verb of ['add', 'update', 'delete'] as const) this.nodes.on(verb, guarded('node', (n: V1Node) => this.onNode(n)));
    this.pods.on('add', guarded('pod', (p: V1Pod) => this.onPod(p, false)));
    this.pods.on('update', guarded('pod', (p: V1Pod) => this.onPod(p, false)));
    this.pods.on('delete', guarded('pod', (p: V1Pod) => this.onPod(p, true)));
    this.pdbs.on('change', () => this.deps.onChange(false));
    // A claim binding to a node-local volume changes whether its pods can move.
    const reobserve = guarded('claim', () => {
      for (const pod of this.podsWithClaims.values()) this.setPod(pod);
      this.deps.onChange(false);
    });
    this.pvcs.on('change', reobserve);
    this.pvs.on('change', reobserve);
    const informers: Array<[string, CachedInformer<unknown>]> = [
      ['nodes', this.nodes],
      ['pods', this.pods],
      ['poddisruptionbudgets', this.pdbs],
      ['persistentvolumeclaims', this.pvcs],
      ['persistentvolumes', this.pvs],
    ];
    for (const [name, inf] of informers) this.keepRunning(name, inf);
    await Promise.all([this.pvcs.start(), this.pvs.start()]);
    await Promise.all([this.nodes.start(), this.pods.start(), this.pdbs.start()]);
    this.synced = true;
    this.deps.log.info('informers synced', { nodes: this.nodes.list().length, pods: this.observedPods.size, pdbs: this.pdbs.list().length });
  }

  /** Restarts an informer after a watch error with capped backoff on the injected clock. */
  private keepRunning(name: string, inf: CachedInformer<unknown>): void {
    const policy = this.deps.informerBackoff ?? INFORMER_BACKOFF;
    keepInformerRunning(inf, {
      delay: (retry) => backoffDelay(policy, retry),
      sleep: (ms) => this.deps.clock.sleep(ms, this.stopping.signal),
      now: () => this.deps.clock.now(),
      isStopped: () => this.stopping.signal.aborted,
      onError: (err, retry, delayMs) => this.deps.log.warn('watch failed; restarting', { informer: name, retry, delayMs, status: httpStatusOf(err), error: errorMessage(err) }),
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('controller stopping'));
    await Promise.allSettled([this.nodes.stop(), this.pods.stop(), this.pdbs.stop(), this.pvcs.stop(), this.pvs.stop()]);
  }

  isSynced(): boolean {
    return this.synced;
  }

  private onNode(node: V1Node): void {
    const name = node.metadata?.name ?? '';
    if (!this.firstSeen.has(name)) this.firstSeen.set(name, this.deps.clock.now());
    this.deps.metrics.setState(name, parsePowerAnnotations(node.metadata?.annotations, this.deps.clock.now()).state);
    for (const w of this.nodeWaiters) w.check(node);
    this.deps.onChange(true);
  }

  private setPod(pod: V1Pod): void {
    const key = podKeyOf(pod);
    const problems: InputProblem[] = [];
    let observed: ObservedPod;
    try {
      observed = observePod(pod, this.localClaim, (message) => problems.push({ subject: `pod ${key}`, node: pod.spec?.nodeName || undefined, message }));
    } catch (err) {
      observed = unreadablePod(pod);
      problems.push({ subject: `pod ${key}`, node: observed.nodeName, message: `could not read it (${errorMessage(err)}); counted as a running bare pod, so its node stays awake` });
    }
    this.observedPods.set(key, observed);
    if (problems.length > 0) this.podProblems.set(key, problems);
    else this.podProblems.delete(key);
  }

  private onPod(pod: V1Pod, deleted: boolean): void {
    const key = podKeyOf(pod);
    if (deleted) {
      this.observedPods.delete(key);
      this.podsWithClaims.delete(key);
      this.podProblems.delete(key);
    } else {
      this.setPod(pod);
      if (pod.spec?.volumes?.some((v) => v.persistentVolumeClaim)) this.podsWithClaims.set(key, pod);
    }
    for (const w of this.podWaiters) w.check();
    // A pod waiting for a node is urgent (it may need a wake); churn of bound pods is not.
    this.deps.onChange(!deleted && !pod.spec?.nodeName && (pod.status?.phase ?? 'Pending') === 'Pending');
  }

  // ---- reading ------------------------------------------------------------------------------------

  private fresher(informed: V1Node | undefined, name: string): V1Node | undefined {
    const mine = this.written.get(name);
    if (!mine) return informed;
    const rv = (n: V1Node | undefined) => Number(n?.metadata?.resourceVersion ?? NaN);
    if (informed && !(rv(mine) > rv(informed))) {
      this.written.delete(name);
      return informed;
    }
    return mine;
  }

  node(name: string): V1Node | undefined {
    return this.fresher(this.nodes.get(name), name);
  }

  nodeList(): V1Node[] {
    return this.nodes.list().map((n) => this.fresher(n, n.metadata?.name ?? '') ?? n);
  }

  /** A Node as the API server returned it after our write; read instead of the cache until the watch catches up. */
  remember(node: V1Node): V1Node {
    if (node.metadata?.name) this.written.set(node.metadata.name, node);
    return node;
  }

  firstSeenAt(name: string): number | undefined {
    return this.firstSeen.get(name);
  }

  record(name: string): PowerAnnotations {
    return parsePowerAnnotations(this.node(name)?.metadata?.annotations, this.firstSeen.get(name) ?? this.deps.clock.now());
  }

  podsOn(name: string): ObservedPod[] {
    return [...this.observedPods.values()].filter((p) => p.nodeName === name);
  }

  /** The node a pod is bound to now (undefined: gone or unbound). */
  podNode(key: string): string | undefined {
    return this.observedPods.get(key)?.nodeName;
  }

  /** decide() saw these nodes active at `now`: their idle time restarts there. */
  markActive(nodes: readonly string[], now: number): void {
    for (const n of nodes) this.lastActivity.set(n, now);
  }

  /**
   * The cluster as decide() takes it. `pendingClear` names requests being cleared right now (the
   * raw annotation per node), so a request already acted on is not seen twice before the watch
   * catches up.
   */
  observe(now: number, activity: Record<string, NodeActivity>, inFlight: InFlightTransition[], pendingClear: ReadonlyMap<string, string> = new Map()): Observed {
    const list = this.nodeList();
    const wakeRequests: WakeRequest[] = [];
    const sleepRequests: SleepRequest[] = [];
    const problems: InputProblem[] = [];
    const nodes = list.map((n) => {
      const name = n.metadata?.name ?? '';
      const report = (message: string) => problems.push({ subject: `node ${name}`, node: name, message });
      for (const p of powerAnnotationProblems(n.metadata?.annotations)) report(p);
      const raw = n.metadata?.annotations?.[POWER_ANNOTATIONS.request];
      const request = raw && pendingClear.get(name) !== raw ? parsePowerRequest(n.metadata?.annotations) : undefined;
      const wake = request && toWakeRequest(name, request);
      const sleep = request && toSleepRequest(name, request);
      if (wake) wakeRequests.push(wake);
      if (sleep) sleepRequests.push(sleep);
      return observeNode(n, this.firstSeen.get(name) ?? now, this.lastActivity.get(name), report);
    });
    this.nodeProblems = problems;
    return { nodes, pods: [...this.observedPods.values()], pdbs: this.pdbs.list().map(observePdb), activity, wakeRequests, sleepRequests, inFlight };
  }

  /** Inputs the last observation could not read (reported by the reconciler with decide()'s own). */
  problems(): InputProblem[] {
    return [...this.nodeProblems, ...[...this.podProblems.values()].flat()];
  }

  // ---- waiting on the cluster -----------------------------------------------------------------------

  /** Resolves true when `check` holds for the node (checked now and on every watch event), false at the deadline. */
  waitForNode(name: string, check: (n: V1Node | undefined) => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (check(this.node(name))) return Promise.resolve(true);
    return this.waitOn(this.nodeWaiters, (n: V1Node | undefined) => (n?.metadata?.name ?? name) === name && check(n), timeoutMs, signal);
  }

  waitForPods(check: () => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    return this.waitOn(this.podWaiters, check, timeoutMs, signal);
  }

  /** Registers a waiter the watch handlers call; true once it holds, false at the deadline, rejects on abort. */
  private waitOn<A extends unknown[]>(waiters: Set<Waiter<A>>, holds: (...args: A) => boolean, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const timer = new AbortController();
      const waiter: Waiter<A> = {
        check: (...args: A) => {
          if (!holds(...args)) return false;
          done();
          resolve(true);
          return true;
        },
      };
      const done = () => {
        waiters.delete(waiter);
        timer.abort();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(signal.reason as Error);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      waiters.add(waiter);
      this.deps.clock.sleep(timeoutMs, timer.signal).then(
        () => {
          done();
          resolve(false);
        },
        () => undefined,
      );
    });
  }

  counts(): { nodes: number; pods: number; pdbs: number } {
    return { nodes: this.nodes.list().length, pods: this.observedPods.size, pdbs: this.pdbs.list().length };
  }
}
