// One round of decide(): the inputs sorted and indexed once, and what the stages have decided so
// far. The stages (decide.ts) read the inputs and add to the outcome only through act(), skip(),
// wish(), settle() and problem(); nothing here does I/O or reads a clock, so a round is as pure as
// the function that runs it.
import { podKey } from './scheduling.js';
import type { Action, Decision, InFlightTransition, InputProblem, Millis, ObservedNode, ObservedPod, Observed, Policy, PowerState, RequestOutcome, Skipped, WakeRequest, WakeSource } from './types.js';
import { formatSeconds, WindowsAt } from './windows.js';

/** States in which a node is between awake and asleep: each one uses a transition slot. */
export const TRANSITION_STATES: ReadonlySet<PowerState> = new Set(['draining', 'suspending', 'waking']);

/**
 * A node recorded `suspending` but still Ready after this long did not suspend; a node recorded
 * `asleep` or `failed` that is Ready after this long was woken outside the power manager.
 */
export const SUSPEND_GRACE_SECONDS = 120;

/** Which wish wins when several sources want the same node, and which wake gets a slot first. */
export const SOURCE_PRIORITY: Record<WakeSource, number> = { manual: 0, api: 1, gateway: 2, preflight: 3, maintenance: 4, 'pending-pod': 5, schedule: 6, predicted: 7 };

/** Actions that bring a node back to awake this round (a pending pod may count on it). */
const RECOVERING: ReadonlySet<Action['kind']> = new Set(['cancel-sleep', 'mark-awake', 'retry-wake', 'uncordon']);

export interface WakeWish {
  node: string;
  source: WakeSource;
  reason: string;
  /** Retry of a failed node (the record says failed). */
  fromFailed: boolean;
}

export interface SleepCandidate {
  node: ObservedNode;
  idleMs: number;
  reason: string;
  evict: ObservedPod[];
}

export function byName<T extends { name: string }>(a: T, b: T): number {
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

function groupRequests(requests: readonly WakeRequest[]): Map<string, WakeRequest[]> {
  const by = new Map<string, WakeRequest[]>();
  for (const r of requests) by.set(r.node, [...(by.get(r.node) ?? []), r]);
  return by;
}

export class Round {
  readonly actions: Action[] = [];
  readonly skipped: Skipped[] = [];
  readonly active: Skipped[] = [];
  readonly requests: RequestOutcome[] = [];
  readonly problems: InputProblem[] = [];
  /** Sorted by name; input order never matters. */
  readonly nodes: readonly ObservedNode[];
  readonly byNode: ReadonlyMap<string, ObservedNode>;
  /** Sorted by namespace/name. */
  readonly pods: readonly ObservedPod[];
  readonly podsByNode: ReadonlyMap<string, ObservedPod[]>;
  readonly inFlight: ReadonlyMap<string, InFlightTransition>;
  readonly wakeRequestsByNode: ReadonlyMap<string, WakeRequest[]>;
  /** Nodes that already got an action or a final word this round: later stages leave them alone. */
  readonly claimed = new Set<string>();
  /** The first reason a node was left alone this round (a refused sleep request quotes it). */
  readonly skipReason = new Map<string, string>();
  /** Nodes this round brings back to awake (rolled back, marked awake, retried). */
  readonly recovering = new Set<string>();
  /** Nodes using a transition slot: in flight, recorded mid-transition, or started this round. */
  readonly transitioning: Set<string>;
  /** Wakes wanted this round, one per node (the highest-priority source wins). */
  readonly wishes = new Map<string, WakeWish>();
  /** Nodes that passed every sleep gate, waiting for a slot. */
  readonly sleepers: SleepCandidate[] = [];
  readonly windows: WindowsAt;

  constructor(
    readonly observed: Observed,
    readonly policy: Policy,
    readonly now: Millis,
  ) {
    this.nodes = [...observed.nodes].sort(byName);
    this.byNode = new Map(this.nodes.map((n) => [n.name, n]));
    // Keys are built once per pod, not inside the comparator.
    this.pods = observed.pods
      .map((p) => ({ key: podKey(p), p }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((x) => x.p);
    this.podsByNode = groupPods(this.pods);
    this.inFlight = new Map(observed.inFlight.map((t) => [t.node, t]));
    this.wakeRequestsByNode = groupRequests(observed.wakeRequests);
    this.transitioning = new Set(this.inFlight.keys());
    for (const n of this.nodes) if (TRANSITION_STATES.has(n.power.state)) this.transitioning.add(n.name);
    this.windows = new WindowsAt(policy, now, (subject, message) => this.problems.push({ subject, message }));
  }

  act(a: Action): void {
    this.actions.push(a);
    this.claimed.add(a.node);
    if (RECOVERING.has(a.kind)) this.recovering.add(a.node);
  }

  skip(node: string, reason: string): void {
    this.skipped.push({ node, reason });
    this.claimed.add(node);
    if (!this.skipReason.has(node)) this.skipReason.set(node, reason);
  }

  /** Keeps the wish with the highest-priority source for each node. */
  wish(w: WakeWish): void {
    const prev = this.wishes.get(w.node);
    if (!prev || SOURCE_PRIORITY[w.source] < SOURCE_PRIORITY[prev.source]) this.wishes.set(w.node, w);
  }

  settle(outcome: RequestOutcome): void {
    this.requests.push(outcome);
  }

  /** Records a node this round could not evaluate (a bad input), and leaves it alone with that reason. */
  problem(node: string, message: string): void {
    this.problems.push({ subject: `node ${node}`, node, message });
    if (!this.claimed.has(node)) this.skip(node, `left alone: ${message}`);
  }

  /** Runs one node's part of a stage; an input that makes it throw affects that node only. */
  guard(node: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.problem(node, `could not evaluate it: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  slotsLeft(): number {
    return this.policy.maxConcurrentTransitions - this.transitioning.size;
  }

  /** "1 of 1 transition slot in use" */
  slotsInUse(): string {
    const limit = this.policy.maxConcurrentTransitions;
    return `${this.transitioning.size} of ${limit} transition slot${limit === 1 ? '' : 's'} in use`;
  }

  ago(at: Millis): string {
    return formatSeconds((this.now - at) / 1000);
  }

  decision(): Decision {
    return { actions: this.actions, skipped: this.skipped, active: this.active, requests: this.requests, problems: this.problems };
  }
}
