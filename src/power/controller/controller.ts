// The power manager controller, wired from its parts:
//   cluster-view.ts    informers and observation (Kubernetes objects -> the core's Observed);
//   reconciler.ts      observe -> decide() -> dispatch, on watch events and a periodic tick;
//   sleep-executor.ts  and wake-executor.ts: each action as a sequence of named steps over the
//                      ports (Kubernetes, drivers, clock), recorded by recorder.ts;
//   ledger.ts          the energy saved; bad-inputs.ts: inputs left out, reported;
//   hold-reporter.ts   Events when a maintenance hold comes, is released or ends.
// Every decision, refusals included, comes from decide() (src/power/core). Power state lives in
// Node annotations, so a restart (or the other replica) resumes. Only the Lease holder acts. All
// timers go through the injected clock.
import type { Cluster } from '../../config/model.js';
import type { KubeClient } from '../../adapters/kube/client.js';
import { policyFromCluster } from '../core/policy.js';
import type { GatewaySessions, Policy, PowerState } from '../core/types.js';
import type { PowerDrivers } from '../drivers/index.js';
import { activeHolds } from '../core/hold.js';
import { parseHolds, parsePowerAnnotations } from './annotations.js';
import { BadInputReporter } from './bad-inputs.js';
import { DemandLearner } from './demand-learner.js';
import type { Clock } from './clock.js';
import { ClusterView } from './cluster-view.js';
import { HoldReporter } from './hold-reporter.js';
import { LeaderElector } from './leader.js';
import { EnergyLedger } from './ledger.js';
import type { Logger } from './log.js';
import { PowerMetrics } from './metrics.js';
import { nodeReady } from './observe.js';
import type { NodeWorkQueue } from './queue.js';
import { Reconciler, type ActivitySource, type DispatchRecord } from './reconciler.js';
import { NodeRecorder } from './recorder.js';
import { SleepExecutor } from './sleep-executor.js';
import { byNodeName, nodeStatus, type ControllerStatus, type NodeStatus } from './status.js';
import { DEFAULT_TUNING, type ControllerTuning } from './tuning.js';
import { WakeExecutor } from './wake-executor.js';

export { DEFAULT_TUNING, type ControllerTuning } from './tuning.js';
export type { ActivitySource } from './reconciler.js';

export interface ControllerDeps {
  cluster: Cluster;
  kube: KubeClient;
  drivers: PowerDrivers;
  clock: Clock;
  log: Logger;
  metrics?: PowerMetrics;
  /** This replica's name in the Lease (the pod name in the cluster). */
  identity: string;
  /** Namespace of the Lease. */
  namespace?: string;
  activity?: ActivitySource;
  tuning?: Partial<ControllerTuning>;
}

export class PowerController {
  readonly metrics: PowerMetrics;
  readonly leader: LeaderElector;
  private readonly policy: Policy;
  private readonly view: ClusterView;
  private readonly ledger: EnergyLedger;
  private readonly reconciler: Reconciler;
  private readonly learner: DemandLearner;
  private readonly stop = new AbortController();
  private readonly background: Array<Promise<unknown>> = [];
  /** The wake gateway's sessions per app (set by run.ts once the gateway exists). */
  sessionSource: (() => GatewaySessions[]) | undefined;

  constructor(private readonly deps: ControllerDeps) {
    const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
    const { clock, log, kube, cluster } = deps;
    this.policy = policyFromCluster(cluster);
    const metrics = (this.metrics = deps.metrics ?? new PowerMetrics());
    const namespace = deps.namespace ?? cluster.spec.power.controller.namespace;
    this.learner = new DemandLearner({ kube, namespace, policy: this.policy, log, metrics, now: () => clock.now(), ...(tuning.profileSaveMs !== undefined ? { saveEveryMs: tuning.profileSaveMs } : {}) });
    this.leader = new LeaderElector(kube, {
      namespace,
      name: tuning.leaseName,
      identity: deps.identity,
      leaseDurationSeconds: tuning.leaseDurationSeconds,
      renewIntervalMs: tuning.leaseRenewMs,
      clock,
      log,
      onChange: (leading) => {
        metrics.leader.set(leading ? 1 : 0);
        if (leading) {
          this.reconciler.schedule();
          // Predictions start once the profile is read (load() never throws).
          void this.learner.load().then(() => this.reconciler.schedule());
        } else {
          this.learner.forget();
          this.reconciler.abortAll('lost leadership');
          holds.reset();
        }
      },
    });
    this.view = new ClusterView({ kube, clock, log, metrics, onChange: (urgent) => this.reconciler.schedule(urgent) });
    this.ledger = new EnergyLedger(this.policy, metrics);
    const recorder = new NodeRecorder({ kube, view: this.view, ledger: this.ledger, clock, log, metrics, identity: deps.identity, apiBackoff: tuning.apiBackoff, apiRetries: tuning.apiRetries });
    const sshPort = (name: string) => cluster.spec.nodes.find((n) => n.name === name)?.ssh.port ?? 22;
    const ports = { view: this.view, recorder, drivers: deps.drivers, clock, log, metrics, tuning, sshPort };
    const holds = new HoldReporter({ log, emit: (node, type, reason, message) => recorder.emit(node, type, reason, message) });
    metrics.holdSource = () => {
      const now = clock.now();
      return this.view.nodeList().flatMap((n) => activeHolds({ holds: parseHolds(n.metadata?.annotations) }, now).map((hold) => ({ node: n.metadata?.name ?? '', hold })));
    };
    const autoSleep = Object.values(this.policy.nodes).filter((n) => n.autoSleep).map((n) => n.name);
    this.reconciler = new Reconciler({
      view: this.view,
      policy: this.policy,
      recorder,
      sleeper: new SleepExecutor({ ...ports, ledger: this.ledger, kube, stopping: this.stop.signal }),
      waker: new WakeExecutor({ ...ports, policy: this.policy, retryFailedAfter: cluster.spec.power.retryFailedAfter }),
      ledger: this.ledger,
      badInputs: new BadInputReporter({ log, metrics, emit: (node, type, reason, message) => recorder.emit(node, type, reason, message), governedNodes: () => autoSleep }),
      holds,
      leader: this.leader,
      clock,
      log,
      metrics,
      tuning,
      activity: deps.activity,
      sessions: () => this.sessionSource?.(),
      learner: this.learner,
    });
  }

  /** The per-node serial work queue the actions run on. */
  get queue(): NodeWorkQueue {
    return this.reconciler.queue;
  }

  /** The last actions dispatched, newest last (tests and benchmarks read them; bounded). */
  get dispatched(): readonly DispatchRecord[] {
    return this.reconciler.dispatched;
  }

  async start(): Promise<void> {
    await this.view.start();
    const now = this.deps.clock.now();
    for (const n of this.view.nodeList()) this.ledger.seed(n.metadata?.name ?? '', parsePowerAnnotations(n.metadata?.annotations, now));
    this.background.push(this.leader.run(this.stop.signal), this.reconciler.tickLoop());
    this.reconciler.schedule();
  }

  /** Stops acting, releases the Lease, stops the informers. Jobs in flight are aborted (and roll back). */
  async close(): Promise<void> {
    // What was learned since the last save, while this replica still holds the Lease.
    if (this.leader.isLeader()) await this.learner.save(true);
    this.stop.abort(new Error('controller stopping'));
    await this.reconciler.stop();
    await Promise.allSettled(this.background);
    await this.view.stop();
  }

  /** A user of an app on `node` came through the wake gateway: a demand start for the learner. */
  gatewayDemand(node: string): void {
    this.learner.gatewayDemand(node, this.deps.clock.now());
  }

  status(): ControllerStatus {
    const now = this.deps.clock.now();
    const predicted = this.learner.nextWakes(now);
    const nodes = this.view
      .nodeList()
      .map((n): NodeStatus => {
        const name = n.metadata?.name ?? '';
        const rec = parsePowerAnnotations(n.metadata?.annotations, this.view.firstSeenAt(name) ?? now);
        const next = predicted.get(name);
        return {
          ...nodeStatus(n, rec, now),
          ...(next ? { nextPredictedWake: { at: new Date(next.at).toISOString(), reason: next.reason } } : {}),
          energySavedKwh: Math.round((rec.energySavedKwh + this.ledger.pending(name, rec, now)) * 1e6) / 1e6,
          inFlight: this.reconciler.inFlightKind(name),
          pods: this.view
            .podsOn(name)
            .filter((p) => p.phase === 'Running' || p.phase === 'Pending')
            .map((p) => `${p.namespace}/${p.name}`)
            .sort(),
        };
      })
      .sort(byNodeName);
    return { identity: this.deps.identity, leader: this.leader.isLeader(), synced: this.view.isSynced(), nodes };
  }

  /** Whether the node is recorded awake and its kubelet reports Ready (the wake gateway asks). */
  nodeAwake(name: string): boolean {
    const n = this.view.node(name);
    if (!n) return false;
    return parsePowerAnnotations(n.metadata?.annotations, this.deps.clock.now()).state === 'awake' && nodeReady(n);
  }

  /** The node's recorded power state and last wake latency (the gateway's waiting page shows them). */
  nodeInfo(name: string): { state: PowerState; lastWakeLatencySeconds?: number | undefined } | undefined {
    const n = this.view.node(name);
    if (!n) return undefined;
    const rec = parsePowerAnnotations(n.metadata?.annotations, this.deps.clock.now());
    return { state: rec.state, lastWakeLatencySeconds: rec.lastWakeLatencySeconds };
  }

  isSynced(): boolean {
    return this.view.isSynced();
  }
}
