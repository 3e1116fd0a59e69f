// Is a node in use right now, and since when has it been idle under the controller's own eyes?
import { isDaemonSetPod, podKey } from './scheduling.js';
import { isMirrorPod } from './safety.js';
import { lastSessionByte } from './sessions.js';
import type { GatewaySessions, Millis, NodeActivity, ObservedNode, ObservedPod, Policy, WakeRequest } from './types.js';
import { formatSeconds } from './windows.js';

export type ActivityVerdict = { active: true; reason: string } | { active: false; reason: string };

function percent(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

function rate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1024 * 1024) return `${Math.round((bytesPerSecond / 1024 / 1024) * 10) / 10} MiB/s`;
  if (bytesPerSecond >= 1024) return `${Math.round((bytesPerSecond / 1024) * 10) / 10} KiB/s`;
  return `${Math.round(bytesPerSecond)} B/s`;
}

// Sets derived from a policy, built once per policy object (decide() runs often on the same one).
const derived = new WeakMap<Policy, { ignored: ReadonlySet<string>; wakeOnRequest: ReadonlySet<string> }>();

function derivedSets(policy: Policy) {
  let d = derived.get(policy);
  if (!d) {
    d = {
      ignored: new Set(policy.ignoreNamespaces),
      wakeOnRequest: new Set(policy.apps.filter((a) => a.wakeOnRequest).map((a) => `${a.namespace}/${a.name}`)),
    };
    derived.set(policy, d);
  }
  return d;
}

export function ignoredNamespaces(policy: Policy): ReadonlySet<string> {
  return derivedSets(policy).ignored;
}

/** The pod belongs to an app whose node the wake gateway wakes on request. */
export function isWakeOnRequestPod(pod: ObservedPod, policy: Policy): boolean {
  const name = pod.labels['app.kubernetes.io/name'];
  return name !== undefined && derivedSets(policy).wakeOnRequest.has(`${pod.namespace}/${name}`);
}

function hasTrafficData(a: NodeActivity | undefined): boolean {
  return a !== undefined && (a.cpuFraction !== undefined || a.networkBytesPerSecond !== undefined);
}

/**
 * Activity now: a counting pod (not in an ignored namespace, not a DaemonSet or mirror pod, not
 * finished), or CPU/network at or above the idle thresholds when that data exists. Pods of
 * wake-on-request apps count only when there is no CPU/network data: with data, their users'
 * traffic is what counts, so an idle media server can sleep and be woken by the gateway. The same
 * holds without Prometheus for the apps in `gatewayApps`, whose sessions the gateway reports.
 */
export function nodeActivity(podsOnNode: readonly ObservedPod[], activity: NodeActivity | undefined, policy: Policy, gatewayApps: ReadonlySet<string> = new Set()): ActivityVerdict {
  const ignored = ignoredNamespaces(policy);
  const traffic = hasTrafficData(activity);
  const trafficOf = (p: ObservedPod) => traffic || gatewayApps.has(p.labels['app.kubernetes.io/name'] ?? '');
  const counting = podsOnNode.filter(
    (p) =>
      (p.phase === 'Running' || p.phase === 'Pending' || p.phase === 'Unknown') &&
      !p.terminating &&
      !ignored.has(p.namespace) &&
      !isDaemonSetPod(p) &&
      !isMirrorPod(p) &&
      !(trafficOf(p) && isWakeOnRequestPod(p, policy)),
  );
  if (counting.length > 0) {
    const names = counting.map(podKey).sort();
    const more = names.length > 3 ? ` and ${names.length - 3} more` : '';
    return { active: true, reason: `pod${names.length === 1 ? '' : 's'} ${names.slice(0, 3).join(', ')}${more} running` };
  }
  if (activity?.cpuFraction !== undefined && activity.cpuFraction >= policy.cpuIdleBelow)
    return { active: true, reason: `cpu ${percent(activity.cpuFraction)} >= ${percent(policy.cpuIdleBelow)}` };
  if (activity?.networkBytesPerSecond !== undefined && activity.networkBytesPerSecond >= policy.networkIdleBelow)
    return { active: true, reason: `network ${rate(activity.networkBytesPerSecond)} >= ${rate(policy.networkIdleBelow)}` };
  const parts = ['no pods outside ignored namespaces'];
  if (activity?.cpuFraction !== undefined) parts.push(`cpu ${percent(activity.cpuFraction)}`);
  if (activity?.networkBytesPerSecond !== undefined) parts.push(`network ${rate(activity.networkBytesPerSecond)}`);
  return { active: false, reason: parts.join(', ') };
}

export interface IdleSince {
  at: Millis;
  /** What set the start of the idle period. */
  because: string;
}

/**
 * Start of the current idle period: the latest of the last activity the controller saw, when it
 * started observing the node, when the node last became awake, and the latest wake request.
 * Never earlier than `controllerObservedSince`, so a restarted controller cannot act on a stale
 * timestamp.
 */
export function idleSince(node: ObservedNode, requests: readonly WakeRequest[], sessions: readonly GatewaySessions[] = []): IdleSince {
  let best: IdleSince = { at: node.controllerObservedSince, because: 'controller started observing' };
  const consider = (at: Millis | undefined, because: string) => {
    if (at !== undefined && at > best.at) best = { at, because };
  };
  consider(node.power.state === 'awake' ? node.power.since : undefined, 'node became awake');
  consider(node.lastActivityAt, 'last activity');
  for (const r of requests) if (r.node === node.name) consider(r.at, `${r.source} wake request`);
  const byte = lastSessionByte(sessions.filter((s) => s.node === node.name));
  consider(byte?.at, byte?.because ?? '');
  return best;
}

export function describeIdle(now: Millis, since: IdleSince): string {
  return `idle ${formatSeconds((now - since.at) / 1000)} (since ${since.because})`;
}
