// The demand profile: per node, when demand started in each 15-minute slot of the last eight weeks
// of days, and how its last predicted wakes turned out. The predictive-wake stage (predict.ts)
// reads it; the controller and the simulator fold what they see into it with the functions below.
//
// Pure and bounded: a node keeps at most HISTORY_DAYS days of 96 bits each plus OUTCOMES_KEPT
// outcomes, whatever it is fed, so the persisted profile has a fixed upper size. Every update
// returns a new profile (the caller owns the only copy). Strictly causal: a forecast at t reads
// only days before t's local day, so nothing that happens at or after t (nor earlier the same
// day) changes it.
import type { Millis } from './types.js';

export const SLOT_MINUTES = 15;
export const SLOTS_PER_DAY = (24 * 60) / SLOT_MINUTES;
/** Eight weeks of days: enough same-weekday history to say "5 of the last 6 Thursdays". */
export const HISTORY_DAYS = 56;
/** Predicted-wake outcomes kept per node (they tell the stage when its forecasts are not used). */
export const OUTCOMES_KEPT = 16;
/** The weight of each older week (and of each older day in the time-of-day fallback, per week). */
export const WEEKLY_DECAY = 0.7;
/** Below this many past same weekdays, the forecast uses every day (time of day). */
export const MIN_SAME_WEEKDAYS = 1;
/** Fewer past days than this: no forecast at all. */
export const MIN_DAYS = 2;
/** The time-of-day fallback looks at this many past days. */
export const FALLBACK_DAYS = 14;

const HEX_PER_DAY = SLOTS_PER_DAY / 4;
const EMPTY_DAY = '0'.repeat(HEX_PER_DAY);
const DAY_MS = 86_400_000;
const SLOT_MS = SLOT_MINUTES * 60_000;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** What a forecast was judged from: the same weekday of past weeks, or every past day (short history). */
export type ForecastBasis = 'weekday' | 'time of day';

export interface PredictionOutcome {
  at: Millis;
  used: boolean;
  basis: ForecastBasis;
}

export interface NodeDemandHistory {
  /** Local day number (days since 1970-01-01 in the profile's time zone) of the last entry of `days`. */
  lastDay: number;
  /** Oldest first, one per day up to lastDay: 24 hex digits, bit i set when demand started in slot i. */
  days: string[];
  /** The last predicted wakes, oldest first: was the node used before it went back to sleep? */
  outcomes: PredictionOutcome[];
  /** A predicted wake not yet used nor ended (when it was sent). */
  pendingSince?: Millis | undefined;
  /** What that wake's forecast was judged from. */
  pendingBasis?: ForecastBasis | undefined;
}

export interface DemandProfile {
  version: 1;
  timezone: string;
  nodes: Record<string, NodeDemandHistory>;
}

export function emptyProfile(timezone: string): DemandProfile {
  return { version: 1, timezone, nodes: {} };
}

// ---- local time -----------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

export interface LocalSlot {
  /** Local day number. */
  day: number;
  /** 0 = Sunday. */
  weekday: number;
  slot: number;
}

/** The local day and 15-minute slot of `t` in `tz`. */
export function localSlot(t: Millis, tz: string): LocalSlot {
  let day: number;
  let minute: number;
  if (tz === 'UTC' || tz === 'Etc/UTC') {
    day = Math.floor(t / DAY_MS);
    minute = Math.floor((t - day * DAY_MS) / 60_000);
  } else {
    const parts: Record<string, number> = {};
    for (const p of formatter(tz).formatToParts(new Date(t))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
    day = Math.floor(Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1) / DAY_MS);
    minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0);
  }
  return { day, weekday: (((day + 4) % 7) + 7) % 7, slot: Math.floor(minute / SLOT_MINUTES) };
}

// ---- updates --------------------------------------------------------------------------------------

function setBit(hex: string, slot: number): string {
  const i = Math.floor(slot / 4);
  const digit = parseInt(hex[i] as string, 16) | (1 << (slot % 4));
  return hex.slice(0, i) + digit.toString(16) + hex.slice(i + 1);
}

export function hasBit(hex: string, slot: number): boolean {
  return (parseInt(hex[Math.floor(slot / 4)] as string, 16) & (1 << (slot % 4))) !== 0;
}

/** The node's history with its days advanced to `day` (empty days in between), at most HISTORY_DAYS. */
function advanced(h: NodeDemandHistory | undefined, day: number): NodeDemandHistory {
  if (!h) return { lastDay: day, days: [EMPTY_DAY], outcomes: [] };
  if (day <= h.lastDay) return h;
  const gap = Math.min(day - h.lastDay, HISTORY_DAYS);
  const days = [...h.days, ...Array<string>(gap).fill(EMPTY_DAY)].slice(-HISTORY_DAYS);
  return { ...h, lastDay: day, days };
}

function withNode(p: DemandProfile, node: string, h: NodeDemandHistory): DemandProfile {
  return { ...p, nodes: { ...p.nodes, [node]: h } };
}

/** The node was watched until `t` (days without demand count as evidence too). */
export function observeUntil(p: DemandProfile, node: string, t: Millis): DemandProfile {
  const h = p.nodes[node];
  const next = advanced(h, localSlot(t, p.timezone).day);
  return next === h ? p : withNode(p, node, next);
}

function withOutcome(h: NodeDemandHistory, at: Millis, used: boolean): NodeDemandHistory {
  const o: PredictionOutcome = { at, used, basis: h.pendingBasis ?? 'weekday' };
  return { ...h, outcomes: [...h.outcomes, o].slice(-OUTCOMES_KEPT), pendingSince: undefined, pendingBasis: undefined };
}

/** Demand for `node` started at `t` (a pod that needed it, a gateway request). A predicted wake waiting for it was used. */
export function recordDemand(p: DemandProfile, node: string, t: Millis): DemandProfile {
  const at = localSlot(t, p.timezone);
  let h = advanced(p.nodes[node], at.day);
  const index = h.days.length - 1 - (h.lastDay - at.day);
  // An event older than the kept history (or out of order by days) only settles the outcome.
  if (index >= 0) h = { ...h, days: h.days.map((d, i) => (i === index ? setBit(d, at.slot) : d)) };
  if (h.pendingSince !== undefined && t >= h.pendingSince) h = withOutcome(h, t, true);
  return withNode(p, node, h);
}

/** decide() woke `node` ahead of predicted demand at `t`, judging from `basis`. */
export function recordPredictedWake(p: DemandProfile, node: string, t: Millis, basis: ForecastBasis): DemandProfile {
  const h = advanced(p.nodes[node], localSlot(t, p.timezone).day);
  return withNode(p, node, { ...h, pendingSince: t, pendingBasis: basis });
}

/** `node` goes back to sleep at `t`: a predicted wake still waiting for demand was a miss. */
export function recordSleep(p: DemandProfile, node: string, t: Millis): DemandProfile {
  const h = p.nodes[node];
  if (h?.pendingSince === undefined) return p;
  return withNode(p, node, withOutcome(h, t, false));
}

// ---- forecasts ------------------------------------------------------------------------------------

export interface Forecast {
  basis: ForecastBasis;
  /** Weighted share of past comparable days on which demand started in the window, 0..1. */
  chance: number;
  /** "demand started 18:45-19:15 on 5 of the last 6 Thursdays" */
  evidence: string;
}

const hhmm = (slot: number) => {
  const m = (((slot % SLOTS_PER_DAY) + SLOTS_PER_DAY) % SLOTS_PER_DAY) * SLOT_MINUTES;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

/** The entry for local day `day`, or undefined when it is not in the kept history. */
function dayBits(h: NodeDemandHistory, day: number): string | undefined {
  const index = h.days.length - 1 - (h.lastDay - day);
  return index >= 0 && index < h.days.length ? h.days[index] : undefined;
}

/** Whether demand started in slots [first, first + count) counted from the start of local day `day` (may run past midnight). */
function startedIn(h: NodeDemandHistory, day: number, first: number, count: number, before: number): boolean | undefined {
  let seen = false;
  for (let s = first; s < first + count; s++) {
    const d = day + Math.floor(s / SLOTS_PER_DAY);
    // Never `before` (today) or later: the forecast is strictly causal.
    const bits = d < before ? dayBits(h, d) : undefined;
    if (bits === undefined) return undefined;
    seen = true;
    if (hasBit(bits, s % SLOTS_PER_DAY)) return true;
  }
  return seen ? false : undefined;
}

interface Tally {
  hits: number;
  days: number;
  weight: number;
  weightedHits: number;
}

function tally(h: NodeDemandHistory, base: number, today: number, first: number, count: number, step: number, limit: number, decayPerStep: number): Tally {
  const t: Tally = { hits: 0, days: 0, weight: 0, weightedHits: 0 };
  for (let k = 1; k <= limit; k++) {
    const hit = startedIn(h, base - k * step, first, count, today);
    if (hit === undefined) continue;
    const w = decayPerStep ** (k - 1);
    t.days++;
    t.weight += w;
    if (hit) {
      t.hits++;
      t.weightedHits += w;
    }
  }
  return t;
}

/**
 * The chance that demand for the node starts in the 15-minute slots lying wholly inside
 * [from, to), judged from the days before `now`'s local day: the same weekday of past weeks (each
 * older week weighs WEEKLY_DECAY as much), or every past day while fewer than MIN_SAME_WEEKDAYS
 * weeks are known. Undefined when no whole slot fits or the history is too short to say anything.
 */
export function forecast(p: DemandProfile, node: string, now: Millis, from: Millis, to: Millis): Forecast | undefined {
  const h = p.nodes[node];
  // Zone offsets are whole quarter hours, so slot boundaries are multiples of 15 minutes in UTC too.
  const first = Math.ceil(from / SLOT_MS) * SLOT_MS;
  const count = Math.floor(to / SLOT_MS) - first / SLOT_MS;
  if (!h || count <= 0) return undefined;
  const today = localSlot(now, p.timezone).day;
  const a = localSlot(first, p.timezone);
  const span = `${hhmm(a.slot)}-${hhmm(a.slot + count)}`;
  const weekly = tally(h, a.day, today, a.slot, count, 7, Math.floor(HISTORY_DAYS / 7), WEEKLY_DECAY);
  if (weekly.days >= MIN_SAME_WEEKDAYS) {
    const weekday = WEEKDAYS[a.weekday] as string;
    return { basis: 'weekday', chance: weekly.weightedHits / weekly.weight, evidence: `demand started ${span} on ${weekly.hits} of the last ${weekly.days} ${weekday}s` };
  }
  const daily = tally(h, a.day, today, a.slot, count, 1, FALLBACK_DAYS, WEEKLY_DECAY ** (1 / 7));
  if (daily.days < MIN_DAYS) return undefined;
  return { basis: 'time of day', chance: daily.weightedHits / daily.weight, evidence: `demand started ${span} on ${daily.hits} of the last ${daily.days} days` };
}

/** Share of the node's recent predicted wakes (since `since`, on this basis) that were used; undefined with fewer than `min`. */
export function recentHitRate(p: DemandProfile, node: string, basis: ForecastBasis, since: Millis, min: number): { used: number; of: number } | undefined {
  const recent = (p.nodes[node]?.outcomes ?? []).filter((o) => o.at >= since && o.basis === basis);
  if (recent.length < min) return undefined;
  return { used: recent.filter((o) => o.used).length, of: recent.length };
}
