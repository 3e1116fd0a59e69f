// The power manager's pure core speaks these types. The controller (informers, drivers,
// annotations) turns the Kubernetes world into `Observed`, calls `decide(observed, policy, now)`
// and carries out the returned actions; the simulator does the same against a fake cluster.
//
// Times are epoch milliseconds (numbers), so the core never reads a clock and tests can use
// any instant. Durations in the policy are seconds. CPU is in millicores, memory in bytes
// (see quantity.ts to convert Kubernetes quantities).
import { POWER_STATES, type PowerState } from '../../config/schema.js';
import type { DemandProfile } from './profile.js';

export { POWER_STATES, type PowerState };

/** Epoch milliseconds. */
export type Millis = number;

/** Label and annotation keys the power manager reads or writes. */
export const POWER_LABELS = {
  /** On a node or pod: never put this node to sleep while it (or the pod) carries "true". */
  preventSleep: 'vmstation.io/prevent-sleep',
  /** On a node or pod: pods that cannot move (bare pods, local volumes) may be stopped anyway. */
  sleepOk: 'vmstation.io/sleep-ok',
} as const;

export const WAKE_DRIVERS = ['wol', 'ipmi'] as const;
export type WakeDriver = (typeof WAKE_DRIVERS)[number];

export interface Taint {
  key: string;
  value?: string | undefined;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface Toleration {
  key?: string | undefined;
  /** Default Equal. */
  operator?: 'Exists' | 'Equal' | undefined;
  value?: string | undefined;
  /** Empty: tolerates every effect. */
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | undefined;
}

/** Requests or allocatable capacity. */
export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
}

/** What the controller has recorded about a node's power (kept in Node annotations). */
export interface NodePowerRecord {
  state: PowerState;
  /** When the node entered `state`. */
  since: Millis;
  /** Why it entered `state` (shown in Events, logs and `power status`). */
  reason: string;
  /** Wake attempts made in the current waking/failed episode (0 otherwise). */
  attempts: number;
  /** Trigger -> Ready of the last successful wake. */
  lastWakeLatencySeconds?: number | undefined;
  /** What asked for the wake in progress, so a retried attempt is recorded as woken by it (absent when not waking). */
  wakeSource?: WakeSource | undefined;
}

export interface ObservedNode {
  name: string;
  /** kubelet reports Ready. */
  ready: boolean;
  /** spec.unschedulable (cordoned). */
  unschedulable: boolean;
  /** The power manager cordoned it (annotation), so it may uncordon it. */
  cordonedByPowerManager?: boolean | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  taints: Taint[];
  allocatable: Resources;
  power: NodePowerRecord;
  /**
   * Last instant the controller itself saw this node active (a counting pod, CPU or network above
   * the idle thresholds, a wake request). Absent when it has not seen activity yet.
   */
  lastActivityAt?: Millis | undefined;
  /**
   * When this controller process started watching this node. Idle time never counts from
   * before it: a fresh controller never sleeps a node on a stale timestamp.
   */
  controllerObservedSince: Millis;
  /** Maintenance holds recorded on the node (expired ones included: the core compares with now). */
  holds?: readonly MaintenanceHold[] | undefined;
}

/** A maintenance hold on a node: woken, and never put to sleep, until `until` (hold.ts). */
export interface MaintenanceHold {
  /** Who took it, so its release removes only its own ("manual", or a run's id). */
  id: string;
  reason: string;
  until: Millis;
}

export type VolumeKind = 'hostPath' | 'local' | 'emptyDir' | 'pvc' | 'configMap' | 'secret' | 'projected' | 'other';

export interface ObservedVolume {
  name: string;
  kind: VolumeKind;
  /** For `pvc`: the bound PersistentVolume is node-local (local/hostPath PV or node affinity). */
  localPersistentVolume?: boolean | undefined;
}

export type NodeSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface NodeSelectorRequirement {
  key: string;
  operator: NodeSelectorOperator;
  values?: string[] | undefined;
}

/** Expressions in one term are ANDed; terms are ORed (Kubernetes semantics). */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[] | undefined;
  /** Only `metadata.name` is a valid field key in Kubernetes. */
  matchFields?: NodeSelectorRequirement[] | undefined;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ObservedPod {
  namespace: string;
  name: string;
  /** Bound node; absent while unscheduled. */
  nodeName?: string | undefined;
  phase: PodPhase;
  /** Kind of the controller owner reference (ReplicaSet, StatefulSet, DaemonSet, Job, ...); absent for a bare Pod. */
  ownerKind?: string | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  volumes: ObservedVolume[];
  nodeSelector: Record<string, string>;
  /** requiredDuringSchedulingIgnoredDuringExecution terms; empty when none. */
  requiredNodeAffinity: NodeSelectorTerm[];
  tolerations: Toleration[];
  /** Sum of the containers' requests (init containers ignored). */
  requests: Resources;
  createdAt: Millis;
  /** metadata.deletionTimestamp is set. */
  terminating?: boolean | undefined;
}

export interface LabelSelector {
  matchLabels?: Record<string, string> | undefined;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] | undefined }> | undefined;
}

export interface ObservedPdb {
  namespace: string;
  name: string;
  selector: LabelSelector;
  /** status.disruptionsAllowed: how many matching pods may be evicted right now. */
  disruptionsAllowed: number;
}

/** Recent activity of a node (from Prometheus); absent fields mean "no data". */
export interface NodeActivity {
  /** Fraction of all cores busy, 0..1. */
  cpuFraction?: number | undefined;
  /** Receive + transmit on the node's LAN interface. */
  networkBytesPerSecond?: number | undefined;
}

export const WAKE_SOURCES = ['manual', 'api', 'gateway', 'schedule', 'pending-pod', 'preflight', 'maintenance', 'predicted'] as const;
export type WakeSource = (typeof WAKE_SOURCES)[number];

export interface WakeRequest {
  node: string;
  source: WakeSource;
  at: Millis;
  reason: string;
}

/** A person asking for a node to sleep (CLI, HTTP API): decide() checks it like any sleep; every safety rule holds for it, autoSleep: false included. */
export interface SleepRequest {
  node: string;
  source: WakeSource;
  at: Millis;
  reason: string;
}

export type TransitionKind = 'sleep' | 'wake';

/** A transition the executor is carrying out right now (its work queue holds it). */
export interface InFlightTransition {
  node: string;
  kind: TransitionKind;
  startedAt: Millis;
}

/** Connections through the wake gateway to one app (the controller's gateway counts them). */
export interface GatewaySessions {
  app: string;
  node: string;
  /** Connections forwarded to the app and still open. */
  open: number;
  /** The last byte through any of them, either way; absent when none was ever forwarded. */
  lastByteAt?: Millis | undefined;
}

export interface Observed {
  nodes: ObservedNode[];
  pods: ObservedPod[];
  pdbs: ObservedPdb[];
  /** Per node name; a node missing here has no activity data. */
  activity: Record<string, NodeActivity>;
  /** Pending wake requests (manual, API, preflight, gateway); decide() says when each is done. */
  wakeRequests: WakeRequest[];
  /** Pending sleep requests (manual, API); decide() accepts or refuses each, with the reason. */
  sleepRequests: SleepRequest[];
  inFlight: InFlightTransition[];
  /** The learned demand profile (profile.ts); absent or with predict off, nothing is woken ahead. */
  demandProfile?: DemandProfile | undefined;
  /** Per wake-on-request app served by this controller's gateway; absent without a gateway. */
  sessions?: GatewaySessions[] | undefined;
}

/** A keep-awake or quiet-hours window: opens at each cron occurrence, lasts `durationSeconds`. */
export interface PolicyWindow {
  /** 5-field cron expression, evaluated in `Policy.timezone`. */
  start: string;
  durationSeconds: number;
}

export interface NodePolicy {
  name: string;
  autoSleep: boolean;
  /** Why this node must stay on (control plane, monitoring, NTP, syslog, KDC); empty when none. */
  alwaysOnReasons: string[];
  /** Configured wake drivers, in order (later ones are fallbacks). */
  wake: WakeDriver[];
  /** The configured drivers that can actually wake it (wol needs a MAC, ipmi a BMC). */
  usableDrivers: WakeDriver[];
  /** Why configured drivers cannot be used ("wol: no mac"). */
  unusableDrivers: string[];
  idleAfterSeconds: number;
  bootSeconds: number;
  watts?: { awake: number; asleep: number } | undefined;
}

/** An app from spec.apps whose pods are found by namespace and `app.kubernetes.io/name`. */
export interface AppPolicy {
  name: string;
  namespace: string;
  node?: string | undefined;
  /** The wake gateway wakes its node on a request; its pods alone do not keep the node awake when traffic data exists. */
  wakeOnRequest: boolean;
  /** After its last gateway session closes, the node stays awake this long from the last byte (default 300). */
  sessionIdleAfterSeconds?: number | undefined;
}

export interface PredictPolicy {
  /** Wake a sleeping node ahead when the chance of demand is at least this (0..1). */
  threshold: number;
  /** A node woken ahead and not used goes back to sleep after this long (instead of minAwake/idleAfter). */
  unusedAfterSeconds: number;
}

/** The power policy, resolved from the cluster file by `policyFromCluster`. */
export interface Policy {
  enabled: boolean;
  idleAfterSeconds: number;
  minAwakeSeconds: number;
  ignoreNamespaces: string[];
  cpuIdleBelow: number;
  networkIdleBelow: number;
  quietHours: PolicyWindow[];
  keepAwake: PolicyWindow[];
  timezone: string;
  maxConcurrentTransitions: number;
  wakeTimeoutSeconds: number;
  wakeAttempts: number;
  retryFailedAfterSeconds: number;
  /** Scheduled wakes start this long before a keep-awake window in addition to bootSeconds. */
  wakeAheadMarginSeconds: number;
  /** Wake ahead of learned demand (spec.power.predict); undefined: off. */
  predict?: PredictPolicy | undefined;
  /** Per node name, every node of the cluster. */
  nodes: Record<string, NodePolicy>;
  apps: AppPolicy[];
}

export interface PodRef {
  namespace: string;
  name: string;
}

export type Action =
  /** Cordon, evict `evict` through the Eviction API, suspend over SSH; uncordon on any failure. */
  | { kind: 'sleep'; node: string; reason: string; evict: PodRef[] }
  /** Send the drivers in order, then confirm TCP 22 -> SSH -> Ready -> uncordon. */
  | { kind: 'wake'; node: string; reason: string; source: WakeSource; drivers: WakeDriver[]; attempt: number }
  /** A wake attempt timed out or a failed node is due for its slow retry. */
  | { kind: 'retry-wake'; node: string; reason: string; source: WakeSource; drivers: WakeDriver[]; attempt: number }
  /** Wake attempts exhausted: record `failed`, emit an Event and the failure metric. */
  | { kind: 'mark-failed'; node: string; reason: string; attempts: number }
  /** A draining node is needed again: stop evicting, uncordon, back to awake. */
  | { kind: 'cancel-sleep'; node: string; reason: string }
  /** A node left cordoned by the power manager while awake (crash, rollback): uncordon it. */
  | { kind: 'uncordon'; node: string; reason: string }
  /** Record state awake (the node is Ready although the record says otherwise); uncordon if we cordoned it. */
  | { kind: 'mark-awake'; node: string; reason: string }
  /** Record state asleep (suspend finished while the controller was away). */
  | { kind: 'mark-asleep'; node: string; reason: string };

export type ActionKind = Action['kind'];

export interface Skipped {
  node: string;
  reason: string;
}

/**
 * What becomes of a pending request this round. `done`: carried out by an action of this decision,
 * or already true (a wake request for a node awake and Ready); `refused`: it will not be carried
 * out, and why (the node also gets a skip with that reason). Both clear the request. A request not
 * listed stays pending (waiting for a transition slot or for a transition in progress).
 */
export interface RequestOutcome {
  node: string;
  action: 'wake' | 'sleep';
  outcome: 'done' | 'refused';
  reason: string;
}

/**
 * An input decide() could not use (a window whose cron cannot be evaluated, a node it could not
 * evaluate). It is left out, the rest of the decision stands, and the controller reports it.
 */
export interface InputProblem {
  /** What is wrong, e.g. "spec.power.quietHours[0]" or "node homelab". */
  subject: string;
  /** The node concerned, when there is one (its Events carry the report). */
  node?: string | undefined;
  message: string;
}

export interface Decision {
  actions: Action[];
  /** Nodes considered and left alone, each with why. */
  skipped: Skipped[];
  /**
   * Nodes active at `now` and why; the controller sets their `lastActivityAt` to `now` so idle
   * time is measured under its own observation.
   */
  active: Skipped[];
  /** Requests done or refused this round (the executor clears them; a refusal gets a Warning Event). */
  requests: RequestOutcome[];
  /** Inputs left out because they could not be used; the rest of the decision stands. */
  problems: InputProblem[];
}
