// The power manager's pure core: types, policy, safety rules, scheduling model and decide().
export * from './types.js';
export { policyFromCluster, nodePolicy, DEFAULT_WAKE_AHEAD_MARGIN_SECONDS } from './policy.js';
export { decide, PIPELINE, TRANSITION_STATES, SUSPEND_GRACE_SECONDS, type Stage } from './decide.js';
export { SLEEP_GATES, type SleepGate, type GateInput } from './sleeps.js';
export { nodeActivity, idleSince, isWakeOnRequestPod, type ActivityVerdict, type IdleSince } from './activity.js';
export { sleepBlockers, podsToEvict, cannotMove, pdbViolations, isMirrorPod } from './safety.js';
export { podNeedsSleepingNode, podFitsNode, requestedByNode, isUnscheduledPending, isSchedulableAwake, matchesLabelSelector, matchesNodeAffinity, tolerates, podKey, type PodNeed, type FitResult } from './scheduling.js';
export { cpuMillis, memoryBytes, parseQuantity } from './quantity.js';
export { checkWindow, openWindowAt, nextOpeningWithin, formatSeconds, WindowError } from './windows.js';
export { applyStep, instantStep, type PowerRecord, type Step, type StepResult } from './lifecycle.js';
export { emptyProfile, forecast, localSlot, observeUntil, recordDemand, recordPredictedWake, recordSleep, HISTORY_DAYS, OUTCOMES_KEPT, SLOT_MINUTES, type DemandProfile, type NodeDemandHistory, type Forecast, type PredictionOutcome } from './profile.js';
export { predictWake, nextPredictedWake, predictiveWakes, type PredictedWake } from './predict.js';
export { activeHold, activeHolds, describeHold, holdChanges, type HoldChange } from './hold.js';
