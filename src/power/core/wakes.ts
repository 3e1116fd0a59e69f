// Stage 2 of decide(): wakes. Each source adds wishes (requests, pending pods that fit only a
// sleeping node, keep-awake windows, the slow retry of failed nodes); a node gets one wish (the
// highest-priority source wins), then wishes get transition slots in priority order. A draining
// node that is needed again is rolled back instead of woken.
import { isWakeOnRequestPod } from './activity.js';
import { wishesFromHolds } from './hold.js';
import { byName, SOURCE_PRIORITY, type Round } from './round.js';
import { isUnscheduledPending, podKey, podNeedsSleepingNode, requestedByNode } from './scheduling.js';
import type { ObservedNode, ObservedPod, WakeSource } from './types.js';
import { describeWindow, formatSeconds } from './windows.js';

/** Sources that stand for a person waiting: they retry a failed node at once. */
const PERSON: ReadonlySet<WakeSource> = new Set(['manual', 'api', 'gateway', 'preflight', 'maintenance']);

/**
 * Whether `n` can take a wake wish now. When it cannot, the node gets its word here (a rollback
 * of a drain, or a skip saying why), once.
 */
function wakeable(r: Round, n: ObservedNode, what: string, source: WakeSource, opts: { evenIfAwake?: boolean } = {}): boolean {
  if (r.claimed.has(n.name)) return false;
  const flight = r.inFlight.get(n.name);
  const { state } = n.power;
  if (state === 'draining') {
    r.act({ kind: 'cancel-sleep', node: n.name, reason: `${what}: needed again while draining, rolling back` });
    // The slot stays taken while the executor unwinds an in-flight drain.
    if (!flight) r.transitioning.delete(n.name);
    return false;
  }
  if (flight?.kind === 'wake' || state === 'waking') {
    r.skip(n.name, `${what}: already waking (attempt ${Math.max(1, n.power.attempts)})`);
    return false;
  }
  if (flight || state === 'suspending') {
    r.skip(n.name, `${what}: suspending now, will wake once asleep`);
    return false;
  }
  if (state === 'awake' && !opts.evenIfAwake) return false;
  if (state === 'failed' && !PERSON.has(source)) {
    const due = n.power.since + r.policy.retryFailedAfterSeconds * 1000;
    if (r.now < due) {
      r.skip(n.name, `${what}: node failed to wake ${r.ago(n.power.since)} ago; next retry in ${formatSeconds((due - r.now) / 1000)}`);
      return false;
    }
  }
  const np = r.policy.nodes[n.name];
  if (!np || np.usableDrivers.length === 0) {
    r.skip(n.name, `${what}: no configured driver can wake it${np && np.unusableDrivers.length > 0 ? ` (${np.unusableDrivers.join(', ')})` : ''}`);
    return false;
  }
  return true;
}

/** (c, d, e) wake requests (manual, API, preflight, gateway), oldest first. */
export function wishesFromRequests(r: Round): void {
  const requests = [...r.observed.wakeRequests].sort((a, b) => a.at - b.at || SOURCE_PRIORITY[a.source] - SOURCE_PRIORITY[b.source] || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const req of requests) {
    const n = r.byNode.get(req.node);
    if (!n) continue;
    const what = `${req.source} wake request: ${req.reason}`;
    // Recorded awake but not Ready (switched off by hand, or never managed): a person asked, so wake it.
    const notReady = n.power.state === 'awake' && !n.ready;
    r.guard(n.name, () => {
      if (wakeable(r, n, notReady ? `${what} (node not Ready)` : what, req.source, { evenIfAwake: notReady }))
        r.wish({ node: n.name, source: req.source, reason: notReady ? `${what} (node not Ready)` : what, fromFailed: n.power.state === 'failed' });
    });
  }
}

/** Maintenance holds: every held node not awake is woken (a person is waiting on it). */
export function wishesFromMaintenanceHolds(r: Round): void {
  wishesFromHolds(r, (n, what) => {
    let ok = false;
    r.guard(n.name, () => (ok = wakeable(r, n, what, 'maintenance', { evenIfAwake: true })));
    return ok;
  });
}

/** Sleeping nodes first, then ones still suspending, then failed ones. */
function rank(n: ObservedNode): number {
  return n.power.state === 'asleep' ? 0 : n.power.state === 'suspending' ? 1 : 2;
}

function wishForPendingPod(r: Round, pod: ObservedPod, used: ReturnType<typeof requestedByNode>, needed: Set<string>): void {
  if (isWakeOnRequestPod(pod, r.policy)) return; // the wake gateway wakes its node on a request
  const need = podNeedsSleepingNode(pod, r.nodes, r.pods, used, true);
  if (!need.needed) return;
  for (const c of need.candidates) needed.add(c.node);
  // Already coming: a node waking (or rolled back from draining) will take the pod.
  const coming = need.candidates.find((c) => c.state === 'waking' || r.inFlight.get(c.node)?.kind === 'wake' || r.wishes.has(c.node) || r.recovering.has(c.node));
  if (coming) return;
  const draining = need.candidates.find((c) => c.state === 'draining' && !r.claimed.has(c.node));
  if (draining) {
    wakeable(r, r.byNode.get(draining.node) as ObservedNode, need.reason, 'pending-pod');
    return;
  }
  // Prefer the node that boots fastest, then by name; asleep before failed.
  const boot = (n: ObservedNode) => r.policy.nodes[n.name]?.bootSeconds ?? 0;
  const choices = need.candidates
    .map((c) => r.byNode.get(c.node) as ObservedNode)
    .filter((n) => n.power.state === 'asleep' || n.power.state === 'failed' || n.power.state === 'suspending')
    .sort((a, b) => rank(a) - rank(b) || boot(a) - boot(b) || byName(a, b));
  const chosen = choices.find((n) => wakeable(r, n, need.reason, 'pending-pod'));
  if (chosen) r.wish({ node: chosen.name, source: 'pending-pod', reason: need.reason, fromFailed: chosen.power.state === 'failed' });
}

/** (a) pending pods that fit only a sleeping node, oldest first. */
export function wishesFromPendingPods(r: Round): void {
  const pending = r.pods.filter(isUnscheduledPending).sort((a, b) => a.createdAt - b.createdAt || (podKey(a) < podKey(b) ? -1 : 1));
  if (pending.length === 0) return;
  const used = requestedByNode(r.pods);
  const needed = new Set<string>();
  for (const pod of pending) {
    try {
      wishForPendingPod(r, pod, used, needed);
    } catch (err) {
      r.problems.push({ subject: `pod ${podKey(pod)}`, message: `could not evaluate it: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  // Nodes a pending pod fits keep their wish or skip; none of them may be put to sleep this round.
  for (const name of needed) if (!r.claimed.has(name) && !r.wishes.has(name)) r.skip(name, 'a pending pod fits this node');
}

/** Why `n` should be awake for a keep-awake window now (open, or opening within its boot time + margin). */
function keepAwakeReason(r: Round, bootSeconds: number): string | undefined {
  const { policy } = r;
  const open = r.windows.keepAwakeOpen();
  if (open) return `keep-awake window ${describeWindow(open.window)} open until ${new Date(open.closesAt).toISOString()}`;
  const soon = r.windows.keepAwakeOpeningWithin((bootSeconds + policy.wakeAheadMarginSeconds) * 1000);
  if (!soon) return undefined;
  return `keep-awake window ${describeWindow(soon.window)} opens in ${formatSeconds((soon.at - r.now) / 1000)} (boot ${formatSeconds(bootSeconds)} + margin ${formatSeconds(policy.wakeAheadMarginSeconds)})`;
}

/** (b) keep-awake windows open now or opening within bootSeconds + margin. */
export function wishesFromKeepAwake(r: Round): void {
  if (!r.policy.enabled || r.policy.keepAwake.length === 0) return;
  for (const n of r.nodes) {
    const np = r.policy.nodes[n.name];
    if (!np?.autoSleep || r.claimed.has(n.name) || r.wishes.has(n.name)) continue;
    if (n.power.state !== 'asleep' && n.power.state !== 'failed') continue;
    const what = keepAwakeReason(r, np.bootSeconds);
    if (what && wakeable(r, n, what, 'schedule')) r.wish({ node: n.name, source: 'schedule', reason: what, fromFailed: n.power.state === 'failed' });
  }
}

/** Failed nodes are retried at a slow rate even when nothing asks for them: their state is unknown. */
export function wishesFromFailedRetries(r: Round): void {
  const every = `slow retry every ${formatSeconds(r.policy.retryFailedAfterSeconds)}`;
  for (const n of r.nodes) {
    if (n.power.state !== 'failed' || r.claimed.has(n.name) || r.wishes.has(n.name)) continue;
    const due = n.power.since + r.policy.retryFailedAfterSeconds * 1000;
    if (r.now >= due && wakeable(r, n, every, 'schedule')) r.wish({ node: n.name, source: 'schedule', reason: every, fromFailed: true });
  }
}

/** Wishes get transition slots in priority order; the rest wait with the reason. */
export function allocateWakes(r: Round): void {
  const order = [...r.wishes.values()].sort((a, b) => SOURCE_PRIORITY[a.source] - SOURCE_PRIORITY[b.source] || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const w of order) {
    const np = r.policy.nodes[w.node];
    if (!np) continue;
    if (r.slotsLeft() <= 0) {
      r.skip(w.node, `${w.reason}; waiting: ${r.slotsInUse()}`);
      continue;
    }
    r.transitioning.add(w.node);
    const n = r.byNode.get(w.node) as ObservedNode;
    if (w.fromFailed) r.act({ kind: 'retry-wake', node: w.node, reason: `${w.reason} (node failed to wake ${r.ago(n.power.since)} ago)`, source: w.source, drivers: [...np.usableDrivers], attempt: 1 });
    else r.act({ kind: 'wake', node: w.node, reason: w.reason, source: w.source, drivers: [...np.usableDrivers], attempt: 1 });
  }
}
