// Stage 1 of decide(): records that do not match the node. A controller restarted mid-transition,
// a node woken by hand, a suspend that never happened: each is put right before anything else is
// decided, and the node is claimed so later stages leave it alone.
import { SUSPEND_GRACE_SECONDS, type Round } from './round.js';
import type { ObservedNode } from './types.js';
import { formatSeconds } from './windows.js';

const GRACE_MS = SUSPEND_GRACE_SECONDS * 1000;

function repairSuspending(r: Round, n: ObservedNode): void {
  if (!n.ready) {
    r.act({ kind: 'mark-asleep', node: n.name, reason: 'suspend finished: node no longer Ready' });
    r.transitioning.delete(n.name);
  } else if (r.now - n.power.since >= GRACE_MS) {
    r.act({ kind: 'mark-awake', node: n.name, reason: `recorded suspending for ${r.ago(n.power.since)} but still Ready: suspend did not happen, uncordoning` });
    r.transitioning.delete(n.name);
  } else r.skip(n.name, `suspending for ${r.ago(n.power.since)}, waiting for it to go NotReady`);
}

/** A wake that outlived wakeTimeout: another attempt, or failed once the attempts are used up. */
function repairTimedOutWake(r: Round, n: ObservedNode): void {
  const { policy } = r;
  const np = policy.nodes[n.name];
  const attempts = n.power.attempts;
  if (attempts >= policy.wakeAttempts) {
    r.act({ kind: 'mark-failed', node: n.name, reason: `not Ready after ${attempts} wake attempt${attempts === 1 ? '' : 's'}; retrying in ${formatSeconds(policy.retryFailedAfterSeconds)}`, attempts });
    r.transitioning.delete(n.name);
  } else if (np && np.usableDrivers.length > 0) {
    r.act({
      kind: 'retry-wake',
      node: n.name,
      reason: `not Ready ${formatSeconds(policy.wakeTimeoutSeconds)} after wake attempt ${attempts} of ${policy.wakeAttempts}`,
      // The next attempt is still the same wake: whoever asked for it is who wakes the node.
      source: n.power.wakeSource ?? 'schedule',
      drivers: [...np.usableDrivers],
      attempt: attempts + 1,
    });
  } else {
    r.act({ kind: 'mark-failed', node: n.name, reason: 'waking timed out and no configured driver can wake it', attempts });
    r.transitioning.delete(n.name);
  }
}

function repairNode(r: Round, n: ObservedNode): void {
  const { state, since } = n.power;
  if (state === 'awake' && n.unschedulable && n.cordonedByPowerManager) {
    r.act({ kind: 'uncordon', node: n.name, reason: 'awake but still cordoned by the power manager (interrupted sleep or wake)' });
  } else if (state === 'draining') {
    r.act({ kind: 'cancel-sleep', node: n.name, reason: `recorded draining ${r.ago(since)} ago with no sleep in progress (controller restarted): rolling back, uncordoning` });
    r.transitioning.delete(n.name);
  } else if (state === 'suspending') {
    repairSuspending(r, n);
  } else if (state === 'waking' && n.ready) {
    r.act({ kind: 'mark-awake', node: n.name, reason: 'Ready again after waking' });
    r.transitioning.delete(n.name);
  } else if (state === 'waking' && r.now - since >= r.policy.wakeTimeoutSeconds * 1000) {
    repairTimedOutWake(r, n);
  } else if ((state === 'asleep' || state === 'failed') && n.ready && r.now - since >= GRACE_MS) {
    // Kubernetes marks a silent node NotReady only after its grace period (about 40 s), so a
    // node that just went to sleep still looks Ready for a while: that is not a wake. Within the
    // grace period it stays as recorded (and a pending pod may still wake it).
    r.act({ kind: 'mark-awake', node: n.name, reason: `recorded ${state} for ${r.ago(since)} but Ready (woken outside the power manager)` });
  }
}

export function repairRecords(r: Round): void {
  for (const n of r.nodes) {
    // The executor is on it; the wake stage may still cancel a drain.
    if (r.inFlight.has(n.name)) continue;
    r.guard(n.name, () => repairNode(r, n));
  }
}
