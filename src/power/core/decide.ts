// decide(observed, policy, now): the whole power policy as one pure function. No I/O, no clock:
// the same inputs give the same decision, which the controller carries out and the simulator
// replays. Every action, every node left alone and every request refused carries a sentence
// saying why; an input that cannot be used is reported in `problems` and left out, and the rest of
// the decision stands.
//
// It is a pipeline of small stages over one Round (round.ts). Each stage may claim a node (an
// action or a final word) so later stages leave it alone; the order is the order of business:
//   1. repair records that do not match the node (restart mid-transition, woken by hand);
//   2. wakes: wishes from requests, maintenance holds, pending pods, keep-awake windows, failed-node
//      retries and predicted demand (predict.ts, which also sends unused predicted wakes back to sleep), then
//      transition slots in priority order (a draining node that is needed again is rolled back);
//   3. sleep requests from people (CLI, API): refused with the reason, or carried out;
//   4. sleeps: every other awake node through the sleep gates (sleeps.ts), then the slots left.
// A maintenance hold (hold.ts) is one wake stage and the first sleep gate. New inputs (a learned
// demand profile, ...) are new stages or new gates.
import { Round } from './round.js';
import { predictiveWakes } from './predict.js';
import { repairRecords } from './repair.js';
import { allocateSleeps, chooseSleepers, settleWakeRequests, sleepRequests } from './sleeps.js';
import type { Decision, Millis, Observed, Policy } from './types.js';
import { allocateWakes, wishesFromMaintenanceHolds, wishesFromFailedRetries, wishesFromKeepAwake, wishesFromPendingPods, wishesFromRequests } from './wakes.js';

export { SUSPEND_GRACE_SECONDS, TRANSITION_STATES } from './round.js';

export interface Stage {
  name: string;
  run(r: Round): void;
}

/** The stages of decide(), in order. */
export const PIPELINE: readonly Stage[] = [
  { name: 'repair records', run: repairRecords },
  { name: 'wake wishes: requests', run: wishesFromRequests },
  { name: 'wake wishes: maintenance holds', run: wishesFromMaintenanceHolds },
  { name: 'wake wishes: pending pods', run: wishesFromPendingPods },
  { name: 'wake wishes: keep-awake windows', run: wishesFromKeepAwake },
  { name: 'wake wishes: failed-node retries', run: wishesFromFailedRetries },
  { name: 'wake wishes: predicted demand', run: predictiveWakes },
  { name: 'allocate wake slots', run: allocateWakes },
  { name: 'sleep requests', run: sleepRequests },
  { name: 'settle wake requests', run: settleWakeRequests },
  { name: 'choose sleep candidates', run: chooseSleepers },
  { name: 'allocate sleep slots', run: allocateSleeps },
];

export function decide(observed: Observed, policy: Policy, now: Millis): Decision {
  const round = new Round(observed, policy, now);
  for (const stage of PIPELINE) stage.run(round);
  return round.decision();
}
