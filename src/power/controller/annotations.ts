// The power record lives in Node annotations, so a restarted controller (or another replica)
// resumes where the last one stopped. Parse and format are exact inverses (tested).
import type { PowerRecord } from '../core/lifecycle.js';
import { POWER_STATES, type MaintenanceHold, type PowerState, type SleepRequest, type WakeRequest, type WakeSource, WAKE_SOURCES } from '../core/types.js';

export const POWER_ANNOTATIONS = {
  state: 'vmstation.io/power-state',
  since: 'vmstation.io/power-since',
  reason: 'vmstation.io/power-reason',
  attempts: 'vmstation.io/power-attempts',
  lastWakeSeconds: 'vmstation.io/power-last-wake-seconds',
  /** "true" while the power manager holds the cordon; only then does it uncordon. */
  cordoned: 'vmstation.io/power-cordoned',
  /** When the current wake was triggered (wake latency survives a restart). */
  wakeTriggeredAt: 'vmstation.io/power-wake-triggered-at',
  /** Who asked for the current wake (manual, gateway, pending-pod, ...): its retries keep it. */
  wakeSource: 'vmstation.io/power-wake-source',
  /** kWh saved so far (the counter restarts from here). */
  energySavedKwh: 'vmstation.io/power-energy-saved-kwh',
  /** A pending request from the CLI, the HTTP API or preflight: JSON `{action, source, at, reason}`. */
  request: 'vmstation.io/power-request',
  /** Maintenance holds on the node: JSON `[{id, reason, until}]` (`power hold`, deploy, etcd restore). */
  holds: 'vmstation.io/power-holds',
} as const;

/** The record the executors write (lifecycle.ts), plus the kWh saved so far. */
export interface PowerAnnotations extends PowerRecord {
  energySavedKwh: number;
}

export interface PowerRequest {
  action: 'wake' | 'sleep';
  source: WakeSource;
  at: number;
  reason: string;
}

function isPowerState(s: string | undefined): s is PowerState {
  return s !== undefined && (POWER_STATES as readonly string[]).includes(s);
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function wakeSourceOf(s: string | undefined): WakeSource | undefined {
  return s !== undefined && (WAKE_SOURCES as readonly string[]).includes(s) ? (s as WakeSource) : undefined;
}

function time(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Reads the record. A node without one (never managed) is `awake` since `fallbackSince` (the
 * moment this controller first saw it), so idle time never counts from a stale timestamp.
 */
export function parsePowerAnnotations(annotations: Readonly<Record<string, string>> | undefined, fallbackSince: number): PowerAnnotations {
  const a = annotations ?? {};
  const state = a[POWER_ANNOTATIONS.state];
  const known = isPowerState(state);
  return {
    state: known ? state : 'awake',
    since: (known ? time(a[POWER_ANNOTATIONS.since]) : undefined) ?? fallbackSince,
    reason: known ? (a[POWER_ANNOTATIONS.reason] ?? '') : 'not managed yet',
    attempts: Math.max(0, Math.trunc(num(a[POWER_ANNOTATIONS.attempts]) ?? 0)),
    lastWakeLatencySeconds: num(a[POWER_ANNOTATIONS.lastWakeSeconds]),
    cordonedByPowerManager: a[POWER_ANNOTATIONS.cordoned] === 'true',
    wakeTriggeredAt: time(a[POWER_ANNOTATIONS.wakeTriggeredAt]),
    wakeSource: wakeSourceOf(a[POWER_ANNOTATIONS.wakeSource]),
    energySavedKwh: num(a[POWER_ANNOTATIONS.energySavedKwh]) ?? 0,
  };
}

/** The annotations for a record; `null` removes a key (JSON merge patch semantics). */
export function formatPowerAnnotations(r: PowerAnnotations): Record<string, string | null> {
  return {
    [POWER_ANNOTATIONS.state]: r.state,
    [POWER_ANNOTATIONS.since]: new Date(r.since).toISOString(),
    [POWER_ANNOTATIONS.reason]: r.reason,
    [POWER_ANNOTATIONS.attempts]: String(r.attempts),
    [POWER_ANNOTATIONS.lastWakeSeconds]: r.lastWakeLatencySeconds === undefined ? null : String(Math.round(r.lastWakeLatencySeconds * 1000) / 1000),
    [POWER_ANNOTATIONS.cordoned]: r.cordonedByPowerManager ? 'true' : null,
    [POWER_ANNOTATIONS.wakeTriggeredAt]: r.wakeTriggeredAt === undefined ? null : new Date(r.wakeTriggeredAt).toISOString(),
    [POWER_ANNOTATIONS.wakeSource]: r.wakeSource ?? null,
    [POWER_ANNOTATIONS.energySavedKwh]: String(Math.round(r.energySavedKwh * 1e6) / 1e6),
  };
}

export function parsePowerRequest(annotations: Readonly<Record<string, string>> | undefined): PowerRequest | undefined {
  const raw = annotations?.[POWER_ANNOTATIONS.request];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<Record<keyof PowerRequest, unknown>>;
    if (v.action !== 'wake' && v.action !== 'sleep') return undefined;
    const source = typeof v.source === 'string' && (WAKE_SOURCES as readonly string[]).includes(v.source) ? (v.source as WakeSource) : 'manual';
    const at = typeof v.at === 'string' ? Date.parse(v.at) : NaN;
    return { action: v.action, source, at: Number.isNaN(at) ? 0 : at, reason: typeof v.reason === 'string' ? v.reason : `${v.action} requested` };
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with the power manager's annotations on a Node (someone edited them by hand, or an
 * older version wrote them): each is read conservatively by the parsers above, and reported.
 */
export function powerAnnotationProblems(annotations: Readonly<Record<string, string>> | undefined): string[] {
  const a = annotations ?? {};
  const out: string[] = [];
  const state = a[POWER_ANNOTATIONS.state];
  if (state !== undefined && !isPowerState(state)) out.push(`${POWER_ANNOTATIONS.state} "${state}" is not a power state (${POWER_STATES.join(', ')}); read as a node not managed yet`);
  const since = a[POWER_ANNOTATIONS.since];
  if (isPowerState(state) && since !== undefined && time(since) === undefined) out.push(`${POWER_ANNOTATIONS.since} "${since}" is not a time; read as the moment the controller first saw the node`);
  const raw = a[POWER_ANNOTATIONS.request];
  const holds = a[POWER_ANNOTATIONS.holds];
  if (holds) {
    let entries = -1;
    try {
      const v = JSON.parse(holds) as unknown;
      entries = Array.isArray(v) ? v.length : -1;
    } catch {
      // reported below
    }
    if (entries !== parseHolds(a).length) out.push(`${POWER_ANNOTATIONS.holds} holds entries that are not holds ([{"id":...,"reason":...,"until":"ISO time"}]); those are ignored`);
  }
  if (raw && !parsePowerRequest(a)) out.push(`${POWER_ANNOTATIONS.request} is not a request ({"action":"wake"|"sleep","source":...,"at":...,"reason":...}); ignored: ${raw.length > 120 ? `${raw.slice(0, 117)}...` : raw}`);
  return out;
}

export function formatPowerRequest(r: PowerRequest): string {
  return JSON.stringify({ action: r.action, source: r.source, at: new Date(r.at).toISOString(), reason: r.reason });
}

export function toWakeRequest(node: string, r: PowerRequest): WakeRequest | undefined {
  return r.action === 'wake' ? { node, source: r.source, at: r.at, reason: r.reason } : undefined;
}

export function toSleepRequest(node: string, r: PowerRequest): SleepRequest | undefined {
  return r.action === 'sleep' ? { node, source: r.source, at: r.at, reason: r.reason } : undefined;
}

/** The holds recorded on a Node; an entry that is not a hold is left out (and reported below). */
export function parseHolds(annotations: Readonly<Record<string, string>> | undefined): MaintenanceHold[] {
  const raw = annotations?.[POWER_ANNOTATIONS.holds];
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return [];
    return v.flatMap((h: Partial<Record<keyof MaintenanceHold, unknown>>) => {
      const until = typeof h?.until === 'string' ? Date.parse(h.until) : NaN;
      return typeof h?.id === 'string' && typeof h.reason === 'string' && !Number.isNaN(until) ? [{ id: h.id, reason: h.reason, until }] : [];
    });
  } catch {
    return [];
  }
}

export function formatHolds(holds: readonly MaintenanceHold[]): string | null {
  return holds.length === 0 ? null : JSON.stringify(holds.map((h) => ({ id: h.id, reason: h.reason, until: new Date(h.until).toISOString() })));
}

/** The holds after taking `hold` at `now`: expired ones and an earlier one with the same id dropped. */
export function withHold(holds: readonly MaintenanceHold[], hold: MaintenanceHold, now: number): MaintenanceHold[] {
  return [...holds.filter((h) => h.until > now && h.id !== hold.id), hold];
}

/** The holds after releasing `id` (every hold when undefined) at `now`; expired ones dropped too. */
export function withoutHold(holds: readonly MaintenanceHold[], id: string | undefined, now: number): MaintenanceHold[] {
  return id === undefined ? [] : holds.filter((h) => h.until > now && h.id !== id);
}
