// The controller's timings: how often it reconciles, how long each step may take, how it backs off.
// Tests pass faster ones; the defaults are what the cluster runs.
import { SUSPEND_GRACE_SECONDS } from '../core/round.js';
import { PROBE_BACKOFF, WAKE_BACKOFF, type BackoffPolicy } from './backoff.js';

export interface ControllerTuning {
  /** Periodic reconcile (idle timers, failed-node retries, energy accrual). */
  tickMs: number;
  /** Longest delay of a reconcile caused by routine events (bound pods, PDB status). */
  routineDelayMs: number;
  wakeBackoff: BackoffPolicy;
  probeBackoff: BackoffPolicy;
  /** Retries of a Kubernetes API call that failed with 5xx or a connection error. */
  apiBackoff: BackoffPolicy;
  apiRetries: number;
  /** How long evicted pods may take to leave the node. */
  drainTimeoutMs: number;
  /** How long after the suspend command TCP 22 must stop answering. */
  suspendConfirmMs: number;
  /** How long after TCP 22 went quiet the kubelet may take to report the Node not Ready (node-monitor-grace-period is 40-50 s). */
  notReadyTimeoutMs: number;
  /** Longest SSH check step inside one wake attempt. */
  sshStepMs: number;
  probeTimeoutMs: number;
  leaseName: string;
  leaseDurationSeconds: number;
  leaseRenewMs: number;
  /** How often the demand profile is written at most (default PROFILE_SAVE_EVERY_MS, 5 min). */
  profileSaveMs?: number | undefined;
}

export const DEFAULT_TUNING: ControllerTuning = {
  tickMs: 10_000,
  routineDelayMs: 1_000,
  wakeBackoff: WAKE_BACKOFF,
  probeBackoff: PROBE_BACKOFF,
  apiBackoff: { initialMs: 200, factor: 2, maxMs: 5_000 },
  apiRetries: 6,
  drainTimeoutMs: 120_000,
  suspendConfirmMs: 60_000,
  notReadyTimeoutMs: SUSPEND_GRACE_SECONDS * 1000,
  sshStepMs: 30_000,
  probeTimeoutMs: 1_000,
  leaseName: 'vmstation-power-manager',
  leaseDurationSeconds: 15,
  leaseRenewMs: 5_000,
};
