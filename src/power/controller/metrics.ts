// The controller's Prometheus metrics on its own registry (never the global one, so two
// controllers in one test process do not collide). Names are what the alert rules use.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { POWER_STATES, type MaintenanceHold, type PowerState } from '../core/types.js';

/** Where a failure can be contained without stopping the process (`vmstation_internal_errors_total{component}`). */
export const INTERNAL_ERROR_COMPONENTS = ['api', 'gateway', 'informer'] as const;
export type InternalErrorComponent = (typeof INTERNAL_ERROR_COMPONENTS)[number];

/** What can go wrong with the persisted demand profile (`vmstation_power_profile_problems_total{kind}`). */
export const PROFILE_PROBLEM_KINDS = ['ignored', 'node', 'read', 'write'] as const;
export type ProfileProblemKind = (typeof PROFILE_PROBLEM_KINDS)[number];

export const WAKE_LATENCY_BUCKETS = [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600];

export class PowerMetrics {
  readonly registry = new Registry();
  readonly state = new Gauge({ name: 'vmstation_node_power_state', help: 'Power state of each node: 1 for the current state, 0 for the others.', labelNames: ['node', 'state'], registers: [this.registry] });
  readonly transitions = new Counter({ name: 'vmstation_power_transitions_total', help: 'Power state transitions.', labelNames: ['node', 'from', 'to'], registers: [this.registry] });
  readonly wakeLatency = new Histogram({ name: 'vmstation_wake_latency_seconds', help: 'Time from a wake trigger to the node reporting Ready.', labelNames: ['node'], buckets: WAKE_LATENCY_BUCKETS, registers: [this.registry] });
  readonly failures = new Counter({ name: 'vmstation_power_failures_total', help: 'Failed power operations by kind (wake, sleep, suspend, evict, api).', labelNames: ['node', 'kind'], registers: [this.registry] });
  readonly energySaved = new Counter({ name: 'vmstation_energy_saved_kwh_total', help: 'Energy saved by sleeping, from the configured awake and asleep watts.', labelNames: ['node'], registers: [this.registry] });
  readonly reconcile = new Histogram({ name: 'vmstation_power_reconcile_seconds', help: 'Time of one observe + decide + dispatch round.', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly gatewayConnections = new Counter({ name: 'vmstation_gateway_connections_total', help: 'Connections through the wake gateway by outcome: direct (node was up), woken (waited for a wake), timeout, client-gone, overflow (sent more than the wait buffer and stayed), refused (connection cap).', labelNames: ['app', 'outcome'], registers: [this.registry] });
  readonly gatewayWait = new Histogram({ name: 'vmstation_gateway_wait_seconds', help: 'How long a connection through the wake gateway waited for its node and app.', labelNames: ['app'], buckets: WAKE_LATENCY_BUCKETS, registers: [this.registry] });
  readonly badInputs = new Gauge({ name: 'vmstation_power_bad_inputs', help: 'Inputs the power manager leaves out because it cannot use them, by kind (window, node, pod); the log and the Nodes\' PowerInputInvalid Events say which.', labelNames: ['kind'], registers: [this.registry] });
  readonly internalErrors = new Counter({ name: 'vmstation_internal_errors_total', help: 'Failures contained inside the power manager by component (api: an HTTP request handler, gateway: a wake gateway connection or listener, informer: a watch callback); each is logged at error level and the process keeps running.', labelNames: ['component'], registers: [this.registry] });
  readonly profileProblems = new Counter({ name: 'vmstation_power_profile_problems_total', help: 'Problems with the demand profile kept in its ConfigMap, by kind: ignored (the whole ConfigMap: corrupt, oversized, another format or time zone), node (one node\'s entry), read, write (the Kubernetes API call failed); each is logged as a warning and learning goes on.', labelNames: ['kind'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'vmstation_power_leader', help: '1 while this replica holds the leader Lease.', registers: [this.registry] });
  /** The holds in force per node at scrape time (set by the controller; none before it starts). */
  holdSource: (() => Array<{ node: string; hold: MaintenanceHold }>) | undefined;
  // Read at scrape time, so a hold that reaches its end drops out at that moment, on every replica.
  readonly hold = new Gauge({
    name: 'vmstation_power_hold',
    help: 'Maintenance holds in force: 1 per node and hold (id, reason); the series is gone once the hold is released or expires.',
    labelNames: ['node', 'id', 'reason'],
    registers: [this.registry],
    collect: () => this.collectHolds(),
  });
  readonly holdExpiry = new Gauge({ name: 'vmstation_power_hold_expiry_timestamp_seconds', help: 'When each maintenance hold in force ends on its own unless released (Unix time).', labelNames: ['node', 'id'], registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    // Present from the start at 0, so an alert can use increase() from the first scrape.
    for (const component of INTERNAL_ERROR_COMPONENTS) this.internalErrors.inc({ component }, 0);
    for (const kind of PROFILE_PROBLEM_KINDS) this.profileProblems.inc({ kind }, 0);
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'vmstation_power_manager_' });
  }

  setState(node: string, current: PowerState): void {
    for (const s of POWER_STATES) this.state.set({ node, state: s }, s === current ? 1 : 0);
  }

  private collectHolds(): void {
    this.hold.reset();
    this.holdExpiry.reset();
    for (const { node, hold } of this.holdSource?.() ?? []) {
      this.hold.set({ node, id: hold.id, reason: hold.reason }, 1);
      this.holdExpiry.set({ node, id: hold.id }, hold.until / 1000);
    }
  }

  /** Starts the energy counter of a node at the value recorded in its annotations. */
  seedEnergy(node: string, kwh: number): void {
    if (kwh > 0) this.energySaved.inc({ node }, kwh);
  }

  /** Counts one contained failure (the caller has logged it). */
  internalError(component: InternalErrorComponent): void {
    this.internalErrors.inc({ component });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** kWh saved by `ms` asleep instead of awake. */
export function energySavedKwh(watts: { awake: number; asleep: number } | undefined, ms: number): number {
  if (!watts || ms <= 0) return 0;
  return ((watts.awake - watts.asleep) * ms) / 3_600_000 / 1000;
}
