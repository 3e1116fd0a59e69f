// What the demand profile (profile.ts) is fed, the same way in the controller and the simulator:
// demand starts (a pod that needed a node, a user of an app through the wake gateway), and what
// decide() did with its predictions (a predicted wake sent; a node woken ahead going back to sleep
// unused, a miss). Pure: profiles in, profiles out.
import { isWakeOnRequestPod, ignoredNamespaces } from './activity.js';
import { nextPredictedWake, predictWake } from './predict.js';
import { recordPredictedWake, recordSleep, type DemandProfile, type ForecastBasis } from './profile.js';
import { isMirrorPod } from './safety.js';
import { isDaemonSetPod, podKey } from './scheduling.js';
import type { Decision, Millis, ObservedPod, Policy } from './types.js';

export interface DemandStart {
  node: string;
  at: Millis;
  /** namespace/name of the pod that needed the node. */
  pod: string;
}

/**
 * Pods that needed a node the policy may put to sleep, each with when its demand started (the
 * pod's creation: a pod created while its node slept waited for it from then). Only pods that
 * would keep the node awake count: not finished, not in an ignored namespace, not a DaemonSet or
 * static pod. Pods of wake-on-request apps do not: they are re-created Pending each time their
 * node sleeps, and their users reach the learner through the wake gateway instead. A creation
 * time after `now` (clock skew) counts as `now`; an unreadable one (0) is left out.
 */
export function podDemandStarts(pods: readonly ObservedPod[], policy: Policy, now: Millis): DemandStart[] {
  const ignored = ignoredNamespaces(policy);
  const out: DemandStart[] = [];
  for (const p of pods) {
    const node = p.nodeName;
    if (node === undefined || !policy.nodes[node]?.autoSleep || p.createdAt <= 0) continue;
    if (p.phase === 'Succeeded' || p.phase === 'Failed' || p.terminating || ignored.has(p.namespace) || isDaemonSetPod(p) || isMirrorPod(p) || isWakeOnRequestPod(p, policy)) continue;
    out.push({ node, at: Math.min(p.createdAt, now), pod: podKey(p) });
  }
  return out;
}

export interface Learned {
  profile: DemandProfile;
  /** Nodes woken ahead by this decision. */
  predicted: string[];
  /** Nodes put to sleep by this decision while a predicted wake of theirs was still unused (misses). */
  unused: string[];
}

/**
 * After decide() at `now` on `profile`: each predicted wake starts waiting for demand (recorded
 * with the basis its forecast was judged from), each sleep of a node with such a wake pending
 * ends it as a miss.
 */
export function learnFromDecision(profile: DemandProfile, policy: Policy, decision: Decision, now: Millis): Learned {
  let p = profile;
  const predicted: string[] = [];
  const unused: string[] = [];
  for (const a of decision.actions) {
    if (a.kind === 'wake' && a.source === 'predicted') {
      p = recordPredictedWake(p, a.node, now, basisOf(profile, policy, a.node, now));
      predicted.push(a.node);
    } else if (a.kind === 'sleep' && p.nodes[a.node]?.pendingSince !== undefined) {
      p = recordSleep(p, a.node, now);
      unused.push(a.node);
    }
  }
  return { profile: p, predicted, unused };
}

/** The same pure forecast decide() made this round, for what it was judged from. */
function basisOf(profile: DemandProfile, policy: Policy, node: string, now: Millis): ForecastBasis {
  const np = policy.nodes[node];
  const predict = policy.predict;
  return (np && predict && predictWake(profile, predict, node, np.bootSeconds, now)?.basis) || 'weekday';
}

/** The nodes the stage may wake ahead (autoSleep, not always on): the only ones whose demand is learned and kept. */
export function predictableNodes(policy: Policy): string[] {
  return Object.values(policy.nodes)
    .filter((n) => n.autoSleep && n.alwaysOnReasons.length === 0)
    .map((n) => n.name)
    .sort();
}

/** Per predictable node, the first instant within a day at which the stage would wake it ahead (if asleep then), with the reason. */
export function nextPredictedWakes(profile: DemandProfile, policy: Policy, now: Millis): Map<string, { at: Millis; reason: string }> {
  const out = new Map<string, { at: Millis; reason: string }>();
  const predict = policy.predict;
  if (!predict) return out;
  for (const node of predictableNodes(policy)) {
    const np = policy.nodes[node];
    const next = np && nextPredictedWake(profile, predict, node, np.bootSeconds, now);
    if (next) out.set(node, next);
  }
  return out;
}
