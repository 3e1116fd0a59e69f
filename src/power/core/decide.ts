// decide(observed, policy, now): the whole power policy as one pure function. No I/O, no clock:
// the same inputs give the same decision, which the controller carries out and the simulator
// replays. Every action and every node left alone carries a sentence saying why.
//
// Order of business, each step able to claim a node so later steps leave it alone:
//   1. recover records that do not match the node (restart mid-transition, woken by hand);
//   2. wakes: requests (manual, API, preflight), pending pods that fit only a sleeping node,
//      keep-awake windows about to open; a draining node that is needed again is rolled back;
//   3. sleeps: safety rules first, then activity, minAwake, idleAfter, windows;
//   4. wakes and sleeps share `maxConcurrentTransitions`; wakes go first.
import { describeIdle, idleSince, isWakeOnRequestPod, nodeActivity } from './activity.js';
import { evictionRefs, podsToEvict, sleepBlockers } from './safety.js';
import { isUnscheduledPending, podKey, podNeedsSleepingNode, requestedByNode } from './scheduling.js';
import type { Action, Decision, InFlightTransition, Millis, ObservedNode, ObservedPod, Observed, Policy, PowerState, Skipped, WakeRequest, WakeSource } from './types.js';
import { describeWindow, firstOpen, formatSeconds, nextOpeningWithin } from './windows.js';

/** States in which a node is between awake and asleep: each one uses a transition slot. */
export const TRANSITION_STATES: ReadonlySet<PowerState> = new Set(['draining', 'suspending', 'waking']);

/**
 * A node recorded `suspending` but still Ready after this long did not suspend; a node recorded
 * `asleep` or `failed` that is Ready after this long was woken outside the power manager.
 */
export const SUSPEND_GRACE_SECONDS = 120;

const SOURCE_PRIORITY: Record<WakeSource, number> = { manual: 0, api: 1, gateway: 2, preflight: 3, 'pending-pod': 4, schedule: 5 };

interface WakeWish {
  node: string;
  source: WakeSource;
  reason: string;
  /** Retry of a failed node (the record says failed). */
  fromFailed: boolean;
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function groupPods(pods: readonly ObservedPod[]): Map<string, ObservedPod[]> {
  const by = new Map<string, ObservedPod[]>();
  for (const p of pods) {
    if (p.nodeName === undefined) continue;
    const list = by.get(p.nodeName);
    if (list) list.push(p);
    else by.set(p.nodeName, [p]);
  }
  return by;
}

function ago(now: Millis, at: Millis): string {
  return formatSeconds((now - at) / 1000);
}

export function decide(observed: Observed, policy: Policy, now: Millis): Decision {
  const actions: Action[] = [];
  const skipped: Skipped[] = [];
  const active: Skipped[] = [];
  const nodes = [...observed.nodes].sort(byName);
  const byNode = new Map(nodes.map((n) => [n.name, n]));
  // Input order must not matter: sort once, everything downstream keeps this order.
  const allPods = observed.pods
    .map((p) => ({ key: podKey(p), p }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.p);
  const podsByNode = groupPods(allPods);
  const inFlight = new Map<string, InFlightTransition>();
  for (const t of observed.inFlight) inFlight.set(t.node, t);
  const requestsByNode = new Map<string, WakeRequest[]>();
  for (const r of observed.wakeRequests) requestsByNode.set(r.node, [...(requestsByNode.get(r.node) ?? []), r]);

  /** Nodes that already got an action or a final word this round. */
  const claimed = new Set<string>();
  /** Nodes this round brings back to awake (rolled back, marked awake, retried). */
  const recovering = new Set<string>();
  const act = (a: Action) => {
    actions.push(a);
    claimed.add(a.node);
    if (a.kind === 'cancel-sleep' || a.kind === 'mark-awake' || a.kind === 'retry-wake' || a.kind === 'uncordon') recovering.add(a.node);
  };
  const skip = (node: string, reason: string) => {
    skipped.push({ node, reason });
    claimed.add(node);
  };

  const transitioning = new Set<string>(inFlight.keys());
  for (const n of nodes) if (TRANSITION_STATES.has(n.power.state)) transitioning.add(n.name);
  const limit = policy.maxConcurrentTransitions;
  const slotsLeft = () => limit - transitioning.size;

  // ---- 1. records that do not match the node ------------------------------------------------
  for (const n of nodes) {
    const flight = inFlight.get(n.name);
    const { state } = n.power;
    if (flight) continue; // the executor is on it; step 2 may still cancel a drain
    if (state === 'awake' && n.unschedulable && n.cordonedByPowerManager) {
      act({ kind: 'uncordon', node: n.name, reason: 'awake but still cordoned by the power manager (interrupted sleep or wake)' });
    } else if (state === 'draining') {
      act({ kind: 'cancel-sleep', node: n.name, reason: `recorded draining ${ago(now, n.power.since)} ago with no sleep in progress (controller restarted): rolling back, uncordoning` });
      transitioning.delete(n.name);
    } else if (state === 'suspending') {
      if (!n.ready) {
        act({ kind: 'mark-asleep', node: n.name, reason: 'suspend finished: node no longer Ready' });
        transitioning.delete(n.name);
      } else if (now - n.power.since >= SUSPEND_GRACE_SECONDS * 1000) {
        act({ kind: 'mark-awake', node: n.name, reason: `recorded suspending for ${ago(now, n.power.since)} but still Ready: suspend did not happen, uncordoning` });
        transitioning.delete(n.name);
      } else skip(n.name, `suspending for ${ago(now, n.power.since)}, waiting for it to go NotReady`);
    } else if (state === 'waking' && n.ready) {
      act({ kind: 'mark-awake', node: n.name, reason: 'Ready again after waking' });
      transitioning.delete(n.name);
    } else if (state === 'waking' && now - n.power.since >= policy.wakeTimeoutSeconds * 1000) {
      const np = policy.nodes[n.name];
      if (n.power.attempts >= policy.wakeAttempts) {
        act({ kind: 'mark-failed', node: n.name, reason: `not Ready after ${n.power.attempts} wake attempt${n.power.attempts === 1 ? '' : 's'}; retrying in ${formatSeconds(policy.retryFailedAfterSeconds)}`, attempts: n.power.attempts });
        transitioning.delete(n.name);
      } else if (np && np.usableDrivers.length > 0) {
        act({
          kind: 'retry-wake',
          node: n.name,
          reason: `not Ready ${formatSeconds(policy.wakeTimeoutSeconds)} after wake attempt ${n.power.attempts} of ${policy.wakeAttempts}`,
          drivers: [...np.usableDrivers],
          attempt: n.power.attempts + 1,
        });
      } else {
        act({ kind: 'mark-failed', node: n.name, reason: 'waking timed out and no configured driver can wake it', attempts: n.power.attempts });
        transitioning.delete(n.name);
      }
    } else if ((state === 'asleep' || state === 'failed') && n.ready) {
      // Kubernetes marks a silent node NotReady only after its grace period (about 40 s), so a
      // node that just went to sleep still looks Ready for a while: that is not a wake.
      // Within the grace period it stays as recorded (and a pending pod may still wake it).
      if (now - n.power.since >= SUSPEND_GRACE_SECONDS * 1000)
        act({ kind: 'mark-awake', node: n.name, reason: `recorded ${state} for ${ago(now, n.power.since)} but Ready (woken outside the power manager)` });
    }
  }

  // ---- 2. wakes --------------------------------------------------------------------------------
  const wishes = new Map<string, WakeWish>();
  const wish = (w: WakeWish) => {
    const prev = wishes.get(w.node);
    if (!prev || SOURCE_PRIORITY[w.source] < SOURCE_PRIORITY[prev.source]) wishes.set(w.node, w);
  };
  /** Whether `node` can take a wake wish now; otherwise says why (once per node). */
  const wakeable = (n: ObservedNode, what: string, source: WakeSource): boolean => {
    if (claimed.has(n.name)) return false;
    const flight = inFlight.get(n.name);
    const { state } = n.power;
    if (state === 'draining') {
      act({ kind: 'cancel-sleep', node: n.name, reason: `${what}: needed again while draining, rolling back` });
      // The slot stays taken while the executor unwinds an in-flight drain.
      if (!flight) transitioning.delete(n.name);
      return false;
    }
    if (flight?.kind === 'wake' || state === 'waking') {
      skip(n.name, `${what}: already waking (attempt ${Math.max(1, n.power.attempts)})`);
      return false;
    }
    if (flight || state === 'suspending') {
      skip(n.name, `${what}: suspending now, will wake once asleep`);
      return false;
    }
    if (state === 'awake') return false;
    // A person asking (CLI, API, an app's user through the gateway, preflight) retries a failed node at once.
    if (state === 'failed' && source !== 'manual' && source !== 'api' && source !== 'gateway' && source !== 'preflight') {
      const due = n.power.since + policy.retryFailedAfterSeconds * 1000;
      if (now < due) {
        skip(n.name, `${what}: node failed to wake ${ago(now, n.power.since)} ago; next retry in ${formatSeconds((due - now) / 1000)}`);
        return false;
      }
    }
    const np = policy.nodes[n.name];
    if (!np || np.usableDrivers.length === 0) {
      skip(n.name, `${what}: no configured driver can wake it${np && np.unusableDrivers.length > 0 ? ` (${np.unusableDrivers.join(', ')})` : ''}`);
      return false;
    }
    return true;
  };

  // (c, d) explicit requests, oldest first
  const requests = [...observed.wakeRequests].sort((a, b) => a.at - b.at || SOURCE_PRIORITY[a.source] - SOURCE_PRIORITY[b.source] || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const r of requests) {
    const n = byNode.get(r.node);
    if (!n) continue;
    const what = `${r.source} wake request: ${r.reason}`;
    if (wakeable(n, what, r.source)) wish({ node: n.name, source: r.source, reason: what, fromFailed: n.power.state === 'failed' });
  }

  // (a) pending pods that fit only a sleeping node, oldest first
  const pending = allPods.filter(isUnscheduledPending).sort((a, b) => a.createdAt - b.createdAt || (podKey(a) < podKey(b) ? -1 : 1));
  if (pending.length > 0) {
    const used = requestedByNode(allPods);
    const pendingNeeds = new Set<string>();
    for (const pod of pending) {
      if (isWakeOnRequestPod(pod, policy)) continue; // the wake gateway wakes its node on a request
      const need = podNeedsSleepingNode(pod, nodes, allPods, used, true);
      if (!need.needed) continue;
      for (const c of need.candidates) pendingNeeds.add(c.node);
      // Already coming: a node waking (or rolled back from draining) will take the pod.
      const coming = need.candidates.find((c) => c.state === 'waking' || inFlight.get(c.node)?.kind === 'wake' || wishes.has(c.node) || recovering.has(c.node));
      if (coming) continue;
      const draining = need.candidates.find((c) => c.state === 'draining' && !claimed.has(c.node));
      if (draining) {
        wakeable(byNode.get(draining.node) as ObservedNode, need.reason, 'pending-pod');
        continue;
      }
      // Prefer the node that boots fastest, then by name; asleep before failed.
      const choices = need.candidates
        .map((c) => byNode.get(c.node) as ObservedNode)
        .filter((n) => n.power.state === 'asleep' || n.power.state === 'failed' || n.power.state === 'suspending')
        .sort((a, b) => rank(a) - rank(b) || (policy.nodes[a.name]?.bootSeconds ?? 0) - (policy.nodes[b.name]?.bootSeconds ?? 0) || byName(a, b));
      for (const n of choices) {
        if (wakeable(n, need.reason, 'pending-pod')) {
          wish({ node: n.name, source: 'pending-pod', reason: need.reason, fromFailed: n.power.state === 'failed' });
          break;
        }
      }
    }
    // Nodes a pending pod fits keep their wish/skip; none of them may be put to sleep this round.
    for (const name of pendingNeeds) if (!claimed.has(name) && !wishes.has(name)) skip(name, 'a pending pod fits this node');
  }

  // (b) keep-awake windows open now or opening within bootSeconds + margin
  if (policy.enabled && policy.keepAwake.length > 0) {
    for (const n of nodes) {
      const np = policy.nodes[n.name];
      if (!np?.autoSleep || claimed.has(n.name) || wishes.has(n.name)) continue;
      if (n.power.state !== 'asleep' && n.power.state !== 'failed') continue;
      const open = firstOpen(policy.keepAwake, policy.timezone, now);
      let what: string | undefined;
      if (open) what = `keep-awake window ${describeWindow(open.window)} open until ${new Date(open.closesAt).toISOString()}`;
      else {
        const lead = (np.bootSeconds + policy.wakeAheadMarginSeconds) * 1000;
        for (const w of policy.keepAwake) {
          const at = nextOpeningWithin(w, policy.timezone, now, lead);
          if (at !== undefined) {
            what = `keep-awake window ${describeWindow(w)} opens in ${formatSeconds((at - now) / 1000)} (boot ${formatSeconds(np.bootSeconds)} + margin ${formatSeconds(policy.wakeAheadMarginSeconds)})`;
            break;
          }
        }
      }
      if (what && wakeable(n, what, 'schedule')) wish({ node: n.name, source: 'schedule', reason: what, fromFailed: n.power.state === 'failed' });
    }
  }

  // Failed nodes are retried at a slow rate even when nothing asks for them: their state is unknown.
  for (const n of nodes) {
    if (n.power.state !== 'failed' || claimed.has(n.name) || wishes.has(n.name)) continue;
    const due = n.power.since + policy.retryFailedAfterSeconds * 1000;
    if (now >= due && wakeable(n, `slow retry every ${formatSeconds(policy.retryFailedAfterSeconds)}`, 'schedule'))
      wish({ node: n.name, source: 'schedule', reason: `slow retry every ${formatSeconds(policy.retryFailedAfterSeconds)}`, fromFailed: true });
  }

  const wakeOrder = [...wishes.values()].sort((a, b) => SOURCE_PRIORITY[a.source] - SOURCE_PRIORITY[b.source] || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const w of wakeOrder) {
    const n = byNode.get(w.node) as ObservedNode;
    const np = policy.nodes[w.node];
    if (!np) continue;
    if (slotsLeft() <= 0) {
      skip(w.node, `${w.reason}; waiting: ${transitioning.size} of ${limit} transition slot${limit === 1 ? '' : 's'} in use`);
      continue;
    }
    transitioning.add(w.node);
    if (w.fromFailed) {
      act({ kind: 'retry-wake', node: w.node, reason: `${w.reason} (node failed to wake ${ago(now, n.power.since)} ago)`, drivers: [...np.usableDrivers], attempt: 1 });
    } else {
      act({ kind: 'wake', node: w.node, reason: w.reason, source: w.source, drivers: [...np.usableDrivers], attempt: 1 });
    }
  }

  // ---- 3. sleeps -------------------------------------------------------------------------------
  const quietOpen = policy.quietHours.length > 0 ? firstOpen(policy.quietHours, policy.timezone, now) : undefined;
  const keepOpen = policy.keepAwake.length > 0 ? firstOpen(policy.keepAwake, policy.timezone, now) : undefined;
  const sleepers: Array<{ node: ObservedNode; idleMs: number; reason: string; evict: ObservedPod[] }> = [];
  for (const n of nodes) {
    if (claimed.has(n.name)) continue;
    const np = policy.nodes[n.name];
    const podsOn = podsByNode.get(n.name) ?? [];
    const flight = inFlight.get(n.name);
    const { state } = n.power;
    if (flight) {
      skip(n.name, `${flight.kind} in progress for ${ago(now, flight.startedAt)}`);
      continue;
    }
    if (state !== 'awake') {
      skip(n.name, describeResting(n, policy, now));
      continue;
    }
    // Activity is reported for every awake node so idle time restarts under the controller's eyes.
    const activity = nodeActivity(podsOn, observed.activity[n.name], policy);
    if (activity.active) active.push({ node: n.name, reason: activity.reason });
    const blockers = sleepBlockers({ node: n, policy: np, podsOnNode: podsOn, pdbs: observed.pdbs });
    if (blockers.length > 0) {
      skip(n.name, `stays awake: ${blockers.join('; ')}`);
      continue;
    }
    if (!policy.enabled) {
      skip(n.name, 'power management is disabled (spec.power.enabled: false)');
      continue;
    }
    if (!n.ready) {
      skip(n.name, 'not Ready: not touching it');
      continue;
    }
    if (n.unschedulable) {
      skip(n.name, 'cordoned by someone else: not touching it');
      continue;
    }
    if (activity.active) {
      skip(n.name, `active: ${activity.reason}`);
      continue;
    }
    const awakeFor = now - n.power.since;
    if (awakeFor < policy.minAwakeSeconds * 1000) {
      skip(n.name, `awake ${formatSeconds(awakeFor / 1000)} < minAwake ${formatSeconds(policy.minAwakeSeconds)}`);
      continue;
    }
    const np2 = np as NonNullable<typeof np>;
    const since = idleSince(n, requestsByNode.get(n.name) ?? []);
    const idleMs = now - since.at;
    if (idleMs < np2.idleAfterSeconds * 1000) {
      skip(n.name, `${describeIdle(now, since)} < idleAfter ${formatSeconds(np2.idleAfterSeconds)}; ${activity.reason}`);
      continue;
    }
    if (keepOpen) {
      skip(n.name, `inside keep-awake window ${describeWindow(keepOpen.window)} until ${new Date(keepOpen.closesAt).toISOString()}`);
      continue;
    }
    const lead = (np2.bootSeconds + policy.wakeAheadMarginSeconds) * 1000;
    const soon = policy.keepAwake.find((w) => nextOpeningWithin(w, policy.timezone, now, lead) !== undefined);
    if (soon) {
      skip(n.name, `keep-awake window ${describeWindow(soon)} opens within ${formatSeconds(lead / 1000)}: not worth sleeping`);
      continue;
    }
    if (policy.quietHours.length > 0 && !quietOpen) {
      skip(n.name, `outside quiet hours (${policy.quietHours.map(describeWindow).join(', ')})`);
      continue;
    }
    sleepers.push({
      node: n,
      idleMs,
      reason: `${describeIdle(now, since)} >= idleAfter ${formatSeconds(np2.idleAfterSeconds)}, ${activity.reason}${quietOpen ? `, inside quiet hours ${describeWindow(quietOpen.window)}` : ''}`,
      evict: podsToEvict(podsOn),
    });
  }
  // Longest idle first; ties by name.
  sleepers.sort((a, b) => b.idleMs - a.idleMs || byName(a.node, b.node));
  for (const s of sleepers) {
    if (slotsLeft() <= 0) {
      skip(s.node.name, `would sleep (${s.reason}) but ${transitioning.size} of ${limit} transition slot${limit === 1 ? '' : 's'} in use`);
      continue;
    }
    transitioning.add(s.node.name);
    act({ kind: 'sleep', node: s.node.name, reason: s.reason, evict: evictionRefs(s.evict) });
  }

  return { actions, skipped, active };
}

function rank(n: ObservedNode): number {
  return n.power.state === 'asleep' ? 0 : n.power.state === 'suspending' ? 1 : 2;
}

/** Why a node that is not awake gets no action. */
function describeResting(n: ObservedNode, policy: Policy, now: Millis): string {
  const { state, since } = n.power;
  if (state === 'asleep') return `asleep for ${ago(now, since)}; nothing needs it`;
  if (state === 'failed') {
    const due = since + policy.retryFailedAfterSeconds * 1000;
    return `failed to wake (${n.power.reason}); next retry in ${formatSeconds(Math.max(0, due - now) / 1000)}`;
  }
  if (state === 'waking') return `waking for ${ago(now, since)} (attempt ${Math.max(1, n.power.attempts)} of ${policy.wakeAttempts})`;
  return `${state} for ${ago(now, since)}`;
}
