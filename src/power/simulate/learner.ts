// The simulator's side of the demand profile: what the controller does with its informers and the
// wake gateway, on simulated time. Every demand arrival (a pod pinned to a node, a user of an app)
// is a demand start for that node; decide()'s predicted wakes and the sleeps that end them unused
// are recorded as the controller records them. Also counts the predicted wakes for the report.
import { learnFromDecision } from '../core/demand.js';
import { emptyProfile, observeUntil, recordDemand, type DemandProfile } from '../core/profile.js';
import type { Decision, Policy } from '../core/types.js';
import type { Trace } from './trace.js';
import type { SimWorld } from './world.js';

export class SimLearner {
  profile: DemandProfile;
  /** How many of the world's demands have been learned from (they only ever grow). */
  private seen = 0;
  readonly predictedWakes = new Map<string, number>();
  readonly unusedWakes = new Map<string, number>();

  constructor(private readonly policy: Policy) {
    this.profile = emptyProfile(policy.timezone);
  }

  /** Before decide() at `now`: demands that arrived up to now, and every node watched until now. */
  observe(world: SimWorld, now: number): void {
    for (; this.seen < world.demands.length; this.seen++) {
      const d = world.demands[this.seen];
      if (d) this.profile = recordDemand(this.profile, d.node, d.arrivedAt);
    }
    for (const name of world.names) this.profile = observeUntil(this.profile, name, now);
  }

  /** After decide(): predicted wakes start, sleeps end any predicted wake still unused (a miss). */
  learn(decision: Decision, now: number): void {
    const learned = learnFromDecision(this.profile, this.policy, decision, now);
    this.profile = learned.profile;
    for (const node of learned.predicted) this.predictedWakes.set(node, (this.predictedWakes.get(node) ?? 0) + 1);
    for (const node of learned.unused) this.unusedWakes.set(node, (this.unusedWakes.get(node) ?? 0) + 1);
  }
}

/**
 * Where the trace's header says a node boots slower than the cluster file's bootSeconds. The trace
 * is still simulated with the header's (the real) times; the policy plans with the file's, so
 * wakes ahead of keep-awake windows and predictions come too late by the difference.
 */
export function bootWarnings(policy: Policy, trace: Trace): string[] {
  const out: string[] = [];
  for (const [node, real] of Object.entries(trace.header.bootSeconds).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const planned = policy.nodes[node]?.bootSeconds;
    // A header faster than the file only makes the policy's plans early (harmless); slower makes them late.
    if (planned === undefined || real <= planned) continue;
    let line = `trace header: ${node} boots in ${real} s, the cluster file says bootSeconds ${planned}: simulated with ${real} s; the policy plans wakes ahead with ${planned} s`;
    if (real >= policy.wakeTimeoutSeconds) line += ` (longer than wakeTimeout ${policy.wakeTimeoutSeconds} s: the controller would retry before Ready; the simulator lets the boot finish)`;
    out.push(line);
  }
  return out;
}
