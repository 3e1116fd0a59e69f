// The power simulator: replays a workload trace against a fake cluster with a fake clock,
// calling the same decide() as the controller and carrying out its actions the way the
// controller does (drain, suspend, wake attempts with timeouts, uncordon). Pure: no I/O, no
// real time; the same cluster and trace always give the same report.
//
// Model of the world:
// - every node starts awake and Ready at the trace start, with the controller just started;
// - a pod-start is a pod pinned to its node (nodeSelector kubernetes.io/hostname), Pending
//   until that node is awake and schedulable, then Running until its pod-stop;
// - a request is users of an app: served at once when the app's node is awake, otherwise the
//   wake gateway (apps with wakeOnRequest) asks for a wake; the node is busy (CPU and network
//   above the idle thresholds) for `seconds` from the moment it serves the request;
// - a sleep takes drainSeconds to evict and suspendSeconds to power down; a wake takes the
//   node's boot time (trace header, else bootSeconds) to Ready, unless `wake-fails` said the
//   attempt is lost, in which case the controller retries after wakeTimeout and marks the node
//   failed after wakeAttempts;
// - wake-request / sleep-request are a person asking (vmstation power wake|sleep): the node's one
//   pending request, which decide() accepts or refuses like the controller's;
// - decide() runs at every event, at every state change, when an idle or minAwake timer
//   expires, and on a periodic tick (for keep-awake and quiet-hours windows).
// The fake cluster and the simulated executor are in world.ts; records change through the core's
// lifecycle, the state machine the controller records with.
import type { Cluster } from '../../config/model.js';
import { decide } from '../core/decide.js';
import { policyFromCluster } from '../core/policy.js';
import type { Action, Policy } from '../core/types.js';
import { buildReport, type SimulationReport } from './report.js';
import type { Trace, TraceEvent } from './trace.js';
import { SimWorld } from './world.js';

export type { LatencySummary, NodeReport, SimulationReport } from './report.js';
export type { TransitionRecord } from './world.js';

export interface SimulateOptions {
  /** Time to cordon and evict (seconds). */
  drainSeconds?: number;
  /** Time from the suspend command until the node is off (seconds). */
  suspendSeconds?: number;
  /** Periodic re-evaluation when windows are configured (seconds). Idle timers are exact regardless. */
  tickSeconds?: number;
  /** Keep the list of every action decide() took (large for big clusters). */
  keepTransitions?: boolean;
}

const DEFAULTS = { drainSeconds: 10, suspendSeconds: 5, tickSeconds: 60 };
/** Actions the simulated executor completes instantly: decide() runs again at the same instant after them. */
const INSTANT: ReadonlySet<Action['kind']> = new Set(['cancel-sleep', 'mark-awake', 'mark-asleep', 'uncordon', 'mark-failed']);

/** Runs `trace` against the cluster's power policy. */
export function simulate(cluster: Cluster, trace: Trace, options: SimulateOptions = {}): SimulationReport {
  return simulatePolicy(policyFromCluster(cluster), trace, options);
}

/**
 * decide() at one instant, again after actions that change the world at once (a rollback or a
 * corrected record may make room for a wake or serve a demand), at most four times.
 */
function decideAt(world: SimWorld, policy: Policy, now: number): void {
  for (let round = 0; round < 4; round++) {
    const decision = decide(world.observe(now), policy, now);
    world.noteActivity(decision, now);
    for (const a of decision.actions) world.apply(a, now);
    world.settle(decision.requests);
    world.serve(now);
    if (!decision.actions.some((a) => INSTANT.has(a.kind))) break;
  }
}

export function simulatePolicy(policy: Policy, trace: Trace, options: SimulateOptions = {}): SimulationReport {
  const opt = { ...DEFAULTS, ...options };
  const { start, end } = trace.header;
  const world = new SimWorld(policy, trace, { drainSeconds: opt.drainSeconds, suspendSeconds: opt.suspendSeconds, keepTransitions: opt.keepTransitions === true });
  const events = trace.events;
  let ei = 0;
  let now = start;
  let nextTick = start;
  const tickMs = opt.tickSeconds * 1000;
  const hasWindows = policy.keepAwake.length > 0 || policy.quietHours.length > 0;
  for (;;) {
    while (ei < events.length && (events[ei] as TraceEvent).t <= now) world.applyEvent(events[ei++] as TraceEvent);
    for (const n of world.nodes.values()) {
      // Activity during the last step lasted until now: the controller saw it until now.
      if (n.wasActive) n.obs.lastActivityAt = now;
      world.advance(n, now);
    }
    world.serve(now);
    decideAt(world, policy, now);
    if (now >= end) break;
    // Without windows nothing changes between events and timers, so no tick is needed.
    if (hasWindows) while (nextTick <= now) nextTick += tickMs;
    let next = Math.min(end, hasWindows ? nextTick : Infinity, world.nextTimer(now));
    if (ei < events.length) next = Math.min(next, (events[ei] as TraceEvent).t);
    if (!(next > now)) next = now + 1000;
    world.accrue(now, next);
    now = next;
  }
  return buildReport(policy, world, { start, end, goDownSeconds: opt.drainSeconds + opt.suspendSeconds }, opt.keepTransitions === true);
}
