// Stage 3 of decide(): sleeps. Every awake node not yet claimed passes through a table of named
// gates, in order; the first gate that returns a reason keeps the node awake with that reason
// (Pepr's filter chain). A sleep request from a person passes only the gates marked `requests`:
// the safety rules hold for it too (autoSleep: false included). Nodes that pass every gate get
// transition slots, longest idle first.
import { describeIdle, idleSince, nodeActivity, type ActivityVerdict, type IdleSince } from './activity.js';
import { activeHold, describeHold } from './hold.js';
import { byName, type Round } from './round.js';
import { evictionRefs, podsToEvict, sleepBlockers } from './safety.js';
import { appsWithSessionData, sessionsKeepAwake, sessionsOnNode } from './sessions.js';
import type { GatewaySessions, Millis, NodePolicy, ObservedNode, ObservedPod, Policy, SleepRequest } from './types.js';
import { describeWindow, formatSeconds } from './windows.js';

/** What a gate sees of one awake node. */
export interface GateInput {
  round: Round;
  node: ObservedNode;
  /** Undefined when the node is not in the cluster file (the safety gate stops it). */
  policy: NodePolicy | undefined;
  podsOn: readonly ObservedPod[];
  activity: ActivityVerdict;
  /** Connections through the wake gateway to the node's apps. */
  sessions: readonly GatewaySessions[];
  idle: IdleSince;
  /** `request`: a person asked for this sleep. */
  mode: 'automatic' | 'request';
}

export interface SleepGate {
  name: string;
  /** Whether a person's sleep request must pass this gate too; the others are the automatic policy. */
  requests: boolean;
  /** Undefined to let the node through; otherwise why it stays awake. */
  check(c: GateInput): string | undefined;
}

const idleAfterOf = (c: GateInput): number => c.policy?.idleAfterSeconds ?? c.round.policy.idleAfterSeconds;
const leadOf = (c: GateInput): Millis => ((c.policy?.bootSeconds ?? 0) + c.round.policy.wakeAheadMarginSeconds) * 1000;

/** Why a person's sleep request for a node with autoSleep: false is refused. */
export const AUTO_SLEEP_OFF_FOR_REQUESTS = 'autoSleep is false: the host layer armed no Wake-on-LAN and authorized no suspend key there (set power.autoSleep: true and run `vmstation host --tags power`)';

/** The sleep gates, in the order they are asked. New rules are new rows. */
export const SLEEP_GATES: readonly SleepGate[] = [
  {
    // First, and for people's requests too: nothing sleeps while a hold is on (issue 13, section 4).
    name: 'no maintenance hold',
    requests: true,
    check: (c) => {
      const hold = activeHold(c.node, c.round.now);
      return hold ? `stays awake: ${describeHold(hold)}` : undefined;
    },
  },
  {
    name: 'safety rules',
    requests: true,
    check: (c) => {
      const all = sleepBlockers({ node: c.node, policy: c.policy, podsOnNode: c.podsOn, pdbs: c.round.observed.pdbs });
      // A person's request does not override autoSleep: false either: the host layer arms
      // Wake-on-LAN and authorizes the power manager's suspend key on sleepers only, so such a
      // node could be drained and then neither suspended nor woken.
      const blockers = c.mode === 'request' ? all.map((b) => (b === 'autoSleep is false' ? AUTO_SLEEP_OFF_FOR_REQUESTS : b)) : all;
      if (blockers.length === 0) return undefined;
      return c.mode === 'request' ? blockers.join('; ') : `stays awake: ${blockers.join('; ')}`;
    },
  },
  { name: 'power management enabled', requests: false, check: (c) => (c.round.policy.enabled ? undefined : 'power management is disabled (spec.power.enabled: false)') },
  { name: 'Ready', requests: false, check: (c) => (c.node.ready ? undefined : 'not Ready: not touching it') },
  { name: 'not cordoned by someone else', requests: false, check: (c) => (c.node.unschedulable ? 'cordoned by someone else: not touching it' : undefined) },
  { name: 'inactive', requests: false, check: (c) => (c.activity.active ? `active: ${c.activity.reason}` : undefined) },
  { name: 'no session through the wake gateway', requests: false, check: (c) => sessionsKeepAwake(c.sessions, c.round.policy, c.round.now) },
  {
    name: 'minAwake',
    requests: false,
    check: (c) => {
      const awakeFor = c.round.now - c.node.power.since;
      const min = c.round.policy.minAwakeSeconds;
      return awakeFor < min * 1000 ? `awake ${formatSeconds(awakeFor / 1000)} < minAwake ${formatSeconds(min)}` : undefined;
    },
  },
  {
    name: 'idleAfter',
    requests: false,
    check: (c) => (c.round.now - c.idle.at < idleAfterOf(c) * 1000 ? `${describeIdle(c.round.now, c.idle)} < idleAfter ${formatSeconds(idleAfterOf(c))}; ${c.activity.reason}` : undefined),
  },
  {
    name: 'no keep-awake window open',
    requests: false,
    check: (c) => {
      const open = c.round.windows.keepAwakeOpen();
      return open ? `inside keep-awake window ${describeWindow(open.window)} until ${new Date(open.closesAt).toISOString()}` : undefined;
    },
  },
  {
    name: 'no keep-awake window about to open',
    requests: false,
    check: (c) => {
      const soon = c.round.windows.keepAwakeOpeningWithin(leadOf(c));
      return soon ? `keep-awake window ${describeWindow(soon.window)} opens within ${formatSeconds(leadOf(c) / 1000)}: not worth sleeping` : undefined;
    },
  },
  {
    name: 'inside quiet hours',
    requests: false,
    check: (c) => {
      const { quietHours } = c.round.policy;
      return quietHours.length > 0 && !c.round.windows.quietOpen() ? `outside quiet hours (${quietHours.map(describeWindow).join(', ')})` : undefined;
    },
  },
];

/** The first reason a gate gives, or undefined when the node passes them all. */
export function firstBlockingGate(c: GateInput, gates: readonly SleepGate[] = SLEEP_GATES): string | undefined {
  for (const gate of gates) {
    if (c.mode === 'request' && !gate.requests) continue;
    const reason = gate.check(c);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

export function gateInput(r: Round, node: ObservedNode, mode: GateInput['mode']): GateInput {
  const podsOn = r.podsByNode.get(node.name) ?? [];
  const sessions = sessionsOnNode(r.observed.sessions, node.name);
  return {
    round: r,
    node,
    policy: r.policy.nodes[node.name],
    podsOn,
    activity: nodeActivity(podsOn, r.observed.activity[node.name], r.policy, appsWithSessionData(sessions)),
    sessions,
    idle: idleSince(node, r.wakeRequestsByNode.get(node.name) ?? [], sessions),
    mode,
  };
}

/** Why a node that is not awake gets no action. */
export function describeResting(n: ObservedNode, policy: Policy, now: Millis): string {
  const { state, since } = n.power;
  const ago = formatSeconds((now - since) / 1000);
  if (state === 'asleep') return `asleep for ${ago}; nothing needs it`;
  if (state === 'failed') {
    const due = since + policy.retryFailedAfterSeconds * 1000;
    return `failed to wake (${n.power.reason}); next retry in ${formatSeconds(Math.max(0, due - now) / 1000)}`;
  }
  if (state === 'waking') return `waking for ${ago} (attempt ${Math.max(1, n.power.attempts)} of ${policy.wakeAttempts})`;
  return `${state} for ${ago}`;
}

function considerForSleep(r: Round, n: ObservedNode): void {
  const flight = r.inFlight.get(n.name);
  if (flight) return r.skip(n.name, `${flight.kind} in progress for ${r.ago(flight.startedAt)}`);
  if (n.power.state !== 'awake') return r.skip(n.name, describeResting(n, r.policy, r.now));
  const c = gateInput(r, n, 'automatic');
  // Activity is reported for every awake node so idle time restarts under the controller's eyes.
  if (c.activity.active) r.active.push({ node: n.name, reason: c.activity.reason });
  const blocked = firstBlockingGate(c);
  if (blocked !== undefined) return r.skip(n.name, blocked);
  const quiet = r.windows.quietOpen();
  r.sleepers.push({
    node: n,
    idleMs: r.now - c.idle.at,
    reason: `${describeIdle(r.now, c.idle)} >= idleAfter ${formatSeconds(idleAfterOf(c))}, ${c.activity.reason}${quiet ? `, inside quiet hours ${describeWindow(quiet.window)}` : ''}`,
    evict: podsToEvict(c.podsOn),
  });
}

/** Every node not claimed yet: through the gates, into `r.sleepers` or skipped with the reason. */
export function chooseSleepers(r: Round): void {
  // Evaluated once per round even when no node gets that far, so a broken window is always reported.
  if (r.policy.keepAwake.length > 0) r.windows.keepAwakeOpen();
  if (r.policy.quietHours.length > 0) r.windows.quietOpen();
  for (const n of r.nodes) if (!r.claimed.has(n.name)) r.guard(n.name, () => considerForSleep(r, n));
}

/** Sleepers get the slots left after the wakes: longest idle first, ties by name. */
export function allocateSleeps(r: Round): void {
  r.sleepers.sort((a, b) => b.idleMs - a.idleMs || byName(a.node, b.node));
  for (const s of r.sleepers) {
    if (r.slotsLeft() <= 0) {
      r.skip(s.node.name, `would sleep (${s.reason}) but ${r.slotsInUse()}`);
      continue;
    }
    r.transitioning.add(s.node.name);
    r.act({ kind: 'sleep', node: s.node.name, reason: s.reason, evict: evictionRefs(s.evict) });
  }
}

/** A sleep request: refused with the reason, waiting for a slot or a transition, or carried out. */
function handleSleepRequest(r: Round, req: SleepRequest, n: ObservedNode): void {
  const refuse = (why: string) => {
    r.skip(n.name, `${req.source} sleep request refused: ${why}`);
    r.settle({ node: n.name, action: 'sleep', outcome: 'refused', reason: why });
  };
  const flight = r.inFlight.get(n.name);
  if (flight?.kind === 'sleep') return r.settle({ node: n.name, action: 'sleep', outcome: 'done', reason: 'already going to sleep' });
  if (n.power.state !== 'awake') return refuse(`node is ${n.power.state}`);
  // Busy with something else this round (a wake in flight, a repair): the request waits.
  if (flight || r.actions.some((a) => a.node === n.name)) return;
  const earlier = r.skipReason.get(n.name);
  if (earlier !== undefined) return refuse(earlier);
  const blocked = firstBlockingGate(gateInput(r, n, 'request'));
  if (blocked !== undefined) return refuse(blocked);
  const what = `${req.source} request: ${req.reason}`;
  if (r.slotsLeft() <= 0) return r.skip(n.name, `${what}; waiting: ${r.slotsInUse()}`);
  r.transitioning.add(n.name);
  r.act({ kind: 'sleep', node: n.name, reason: what, evict: evictionRefs(podsToEvict(r.podsByNode.get(n.name) ?? [])) });
  r.settle({ node: n.name, action: 'sleep', outcome: 'done', reason: what });
}

/** Sleep requests (CLI, API), oldest first, before the automatic sleeps take slots. */
export function sleepRequests(r: Round): void {
  const requests = [...r.observed.sleepRequests].sort((a, b) => a.at - b.at || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  for (const req of requests) {
    const n = r.byNode.get(req.node);
    if (n) r.guard(n.name, () => handleSleepRequest(r, req, n));
  }
}

/** A wake request is done once its node is awake and Ready with nothing in flight. */
export function settleWakeRequests(r: Round): void {
  for (const n of r.nodes) {
    if (!r.wakeRequestsByNode.has(n.name)) continue;
    if (n.power.state === 'awake' && n.ready && !r.inFlight.has(n.name)) r.settle({ node: n.name, action: 'wake', outcome: 'done', reason: 'awake and Ready' });
  }
}
