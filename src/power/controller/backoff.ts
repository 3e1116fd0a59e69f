// Capped exponential backoff: initial, initial*factor, ... never above max.
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const WAKE_BACKOFF: BackoffPolicy = { initialMs: 5_000, factor: 2, maxMs: 60_000 };
/** Between probes inside one confirmation step (TCP 22, SSH, Ready). */
export const PROBE_BACKOFF: BackoffPolicy = { initialMs: 250, factor: 2, maxMs: 2_000 };
/** Restarting an informer whose watch failed (the stand-in's 500s, a dropped connection). */
export const INFORMER_BACKOFF: BackoffPolicy = { initialMs: 500, factor: 2, maxMs: 30_000 };

/** Delay before retry number `retry` (1-based). */
export function backoffDelay(policy: BackoffPolicy, retry: number): number {
  return Math.min(policy.maxMs, Math.round(policy.initialMs * policy.factor ** Math.max(0, retry - 1)));
}

export function backoffSequence(policy: BackoffPolicy, count: number): number[] {
  return Array.from({ length: count }, (_, i) => backoffDelay(policy, i + 1));
}
