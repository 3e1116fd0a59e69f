// The predictive-wake stage of decide() (spec.power.predict): a sleeping node is woken ahead when
// the learned demand profile (profile.ts) gives a chance of at least `threshold` that demand
// starts while the woken node would wait for it, from Ready (now + bootSeconds) until
// `unusedAfter` later. A node woken ahead that nobody used goes back to sleep after `unusedAfter`
// (minAwake and idleAfter do not hold it; every other sleep gate still does), and the caller
// records that as a miss. A node whose recent predicted wakes were mostly unused is not woken
// ahead until those misses age out: the policy learns that it cannot predict this node.
import { forecast, recentHitRate, type DemandProfile, type Forecast, type ForecastBasis } from './profile.js';
import type { Round } from './round.js';
import { podsToEvict } from './safety.js';
import { firstBlockingGate, gateInput, SLEEP_GATES } from './sleeps.js';
import type { Millis, NodePolicy, ObservedNode, PredictPolicy } from './types.js';
import { formatSeconds } from './windows.js';

/** Outcomes older than this no longer count against a node's forecasts. */
export const OUTCOME_MEMORY_MS = 14 * 86_400_000;
/** With at least this many recent outcomes, a hit rate below the threshold stops predictions. */
export const MIN_OUTCOMES = 4;

/** Gates an unused predicted wake skips: it has its own, shorter timeout. */
const UNUSED_SKIPS: ReadonlySet<string> = new Set(['minAwake', 'idleAfter']);
const UNUSED_GATES = SLEEP_GATES.filter((g) => !UNUSED_SKIPS.has(g.name));

export interface PredictedWake {
  basis: ForecastBasis;
  chance: number;
  reason: string;
}

/** Whether the profile says wake `node` (booting in `bootSeconds`) now; undefined when not (or no evidence). */
export function predictWake(profile: DemandProfile, predict: PredictPolicy, node: string, bootSeconds: number, now: Millis): PredictedWake | undefined {
  const from = now + bootSeconds * 1000;
  const f: Forecast | undefined = forecast(profile, node, now, from, from + predict.unusedAfterSeconds * 1000);
  if (!f || f.chance < predict.threshold) return undefined;
  const rate = recentHitRate(profile, node, f.basis, now - OUTCOME_MEMORY_MS, MIN_OUTCOMES);
  if (rate && rate.used / rate.of < predict.threshold / 2) return undefined;
  const pct = Math.round(f.chance * 100);
  return { basis: f.basis, chance: f.chance, reason: `predicted demand: ${f.evidence} (chance ${pct} % >= ${Math.round(predict.threshold * 100)} %); waking ${formatSeconds(bootSeconds)} boot ahead` };
}

/** The first instant within `horizonMs` of `now` at which the stage would wake `node` (15-minute steps), for `power status`. */
export function nextPredictedWake(profile: DemandProfile, predict: PredictPolicy, node: string, bootSeconds: number, now: Millis, horizonMs = 86_400_000): { at: Millis; reason: string } | undefined {
  const step = 60_000;
  for (let t = now; t <= now + horizonMs; t += step) {
    const w = predictWake(profile, predict, node, bootSeconds, t);
    if (w) return { at: t, reason: w.reason };
  }
  return undefined;
}

function wakeAhead(r: Round, n: ObservedNode, np: NodePolicy, profile: DemandProfile, predict: PredictPolicy): void {
  if (n.power.state !== 'asleep' || r.wishes.has(n.name) || r.inFlight.has(n.name) || np.usableDrivers.length === 0) return;
  const w = predictWake(profile, predict, n.name, np.bootSeconds, r.now);
  if (w) r.wish({ node: n.name, source: 'predicted', reason: w.reason, fromFailed: false });
}

/** A node woken ahead, never active since it came up, past unusedAfter: back to sleep through the other gates. */
function backToSleep(r: Round, n: ObservedNode, profile: DemandProfile, predict: PredictPolicy): void {
  if (n.power.state !== 'awake' || profile.nodes[n.name]?.pendingSince === undefined || r.inFlight.has(n.name)) return;
  if (r.observed.sleepRequests.some((q) => q.node === n.name)) return; // a person's request is handled by its own stage
  if (n.lastActivityAt !== undefined && n.lastActivityAt > n.power.since) return;
  const unusedFor = r.now - n.power.since;
  if (unusedFor < predict.unusedAfterSeconds * 1000) return;
  const c = gateInput(r, n, 'automatic');
  if (c.activity.active) return;
  if (firstBlockingGate(c, UNUSED_GATES) !== undefined) return; // the sleep stage says why it stays awake
  r.claimed.add(n.name);
  r.sleepers.push({
    node: n,
    idleMs: unusedFor,
    reason: `woken ahead by prediction and unused for ${formatSeconds(unusedFor / 1000)} >= predict.unusedAfter ${formatSeconds(predict.unusedAfterSeconds)}: back to sleep (a miss for the learner)`,
    evict: podsToEvict(c.podsOn),
  });
}

/** The stage: wake wishes for sleeping nodes with predicted demand, and unused predicted wakes back to sleep. */
export function predictiveWakes(r: Round): void {
  const predict = r.policy.predict;
  const profile = r.observed.demandProfile;
  if (!predict || !profile || !r.policy.enabled) return;
  for (const n of r.nodes) {
    const np = r.policy.nodes[n.name];
    if (!np?.autoSleep || np.alwaysOnReasons.length > 0 || r.claimed.has(n.name)) continue;
    r.guard(n.name, () => {
      wakeAhead(r, n, np, profile, predict);
      backToSleep(r, n, profile, predict);
    });
  }
}
