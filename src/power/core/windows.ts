// Quiet-hours and keep-awake windows: a window opens at every occurrence of a 5-field cron
// expression (in the policy's time zone) and stays open for its duration.
//
// Evaluating cron is slow compared with the rest of decide(), and the simulator calls decide()
// tens of thousands of times, so occurrences are computed once per (expression, zone) over a
// span around the asked instant and looked up by binary search. The cache only memoizes a pure
// function: results do not depend on the order of calls.
import { cronOccurrences, cronProblem, isTimeZone } from '../../config/cron.js';
import type { Millis, PolicyWindow } from './types.js';

const DAY = 86_400_000;

export class WindowError extends Error {
  constructor(
    readonly window: PolicyWindow,
    message: string,
  ) {
    super(message);
    this.name = 'WindowError';
  }
}

interface Series {
  from: Millis;
  to: Millis;
  starts: Millis[];
}

const cache = new Map<string, Series>();
const MAX_CACHE = 256;

function computeSeries(expr: string, tz: string, from: Millis, to: Millis): Series {
  return { from, to, starts: cronOccurrences(expr, tz, from, to) };
}

/** Occurrences of `expr` covering [at - back, at + ahead), from the cache when it covers them. */
function series(expr: string, tz: string, at: Millis, back: Millis, ahead: Millis): Series {
  const key = `${tz}\u0000${expr}`;
  const hit = cache.get(key);
  if (hit && hit.from <= at - back && hit.to >= at + ahead) return hit;
  // Cover generously so a simulation walking forward recomputes about once a week.
  const from = Math.floor((at - back) / DAY) * DAY - DAY;
  const to = Math.ceil((at + ahead) / DAY) * DAY + 7 * DAY;
  const fresh = computeSeries(expr, tz, from, to);
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(key, fresh);
  return fresh;
}

/** Index of the last start <= t, or -1. */
function lastAtOrBefore(starts: readonly Millis[], t: Millis): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((starts[mid] as Millis) <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Throws a WindowError when the window's cron expression or the time zone cannot be used. */
export function checkWindow(window: PolicyWindow, timezone: string): void {
  if (window.start.trim().split(/\s+/).length !== 5) throw new WindowError(window, `window start "${window.start}" is not a 5-field cron expression (minute hour day month weekday)`);
  const problem = isTimeZone(timezone) ? cronProblem(window.start, timezone) : `"${timezone}" is not a time zone`;
  if (problem) throw new WindowError(window, `cron "${window.start}" in ${timezone}: ${problem}`);
}

export interface OpenWindow {
  window: PolicyWindow;
  openedAt: Millis;
  closesAt: Millis;
}

/** The occurrence of `window` open at `now`, if any (the latest one when occurrences overlap). */
export function openWindowAt(window: PolicyWindow, timezone: string, now: Millis): OpenWindow | undefined {
  const durationMs = window.durationSeconds * 1000;
  const s = series(window.start, timezone, now, durationMs, 0);
  const i = lastAtOrBefore(s.starts, now);
  if (i < 0) return undefined;
  const openedAt = s.starts[i] as Millis;
  return now < openedAt + durationMs ? { window, openedAt, closesAt: openedAt + durationMs } : undefined;
}

/** The first opening of `window` strictly after `now` and no later than `now + withinMs`. */
export function nextOpeningWithin(window: PolicyWindow, timezone: string, now: Millis, withinMs: Millis): Millis | undefined {
  const s = series(window.start, timezone, now, 0, withinMs);
  const i = lastAtOrBefore(s.starts, now) + 1;
  const t = s.starts[i];
  return t !== undefined && t <= now + withinMs ? t : undefined;
}

export function firstOpen(windows: readonly PolicyWindow[], timezone: string, now: Millis): OpenWindow | undefined {
  for (const w of windows) {
    const open = openWindowAt(w, timezone, now);
    if (open) return open;
  }
  return undefined;
}

/**
 * The policy's windows at one instant, for one decide() round. Each window is evaluated at most
 * once per question; a window that cannot be evaluated (a cron expression the validator should
 * have refused, an unknown time zone) never opens, is reported once through `onProblem`, and the
 * other windows still count.
 */
export class WindowsAt {
  private readonly broken = new Set<PolicyWindow>();
  private keep: { open: OpenWindow | undefined } | undefined;
  private quiet: { open: OpenWindow | undefined } | undefined;

  constructor(
    private readonly policy: { keepAwake: readonly PolicyWindow[]; quietHours: readonly PolicyWindow[]; timezone: string },
    private readonly now: Millis,
    private readonly onProblem: (subject: string, message: string) => void,
  ) {}

  private evaluate<T>(list: 'keepAwake' | 'quietHours', index: number, run: (w: PolicyWindow) => T): T | undefined {
    const w = this.policy[list][index] as PolicyWindow;
    if (this.broken.has(w)) return undefined;
    try {
      return run(w);
    } catch (err) {
      this.broken.add(w);
      this.onProblem(`spec.power.${list}[${index}]`, `window ${describeWindow(w)} cannot be evaluated, so it never opens: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private firstOpen(list: 'keepAwake' | 'quietHours'): OpenWindow | undefined {
    for (let i = 0; i < this.policy[list].length; i++) {
      const open = this.evaluate(list, i, (w) => openWindowAt(w, this.policy.timezone, this.now));
      if (open) return open;
    }
    return undefined;
  }

  /** The keep-awake window open now, if any. */
  keepAwakeOpen(): OpenWindow | undefined {
    this.keep ??= { open: this.firstOpen('keepAwake') };
    return this.keep.open;
  }

  /** The quiet-hours window open now, if any. */
  quietOpen(): OpenWindow | undefined {
    this.quiet ??= { open: this.firstOpen('quietHours') };
    return this.quiet.open;
  }

  /** The first keep-awake window (in the configured order) opening within `withinMs`, and when. */
  keepAwakeOpeningWithin(withinMs: Millis): { window: PolicyWindow; at: Millis } | undefined {
    for (let i = 0; i < this.policy.keepAwake.length; i++) {
      const at = this.evaluate('keepAwake', i, (w) => nextOpeningWithin(w, this.policy.timezone, this.now, withinMs));
      if (at !== undefined) return { window: this.policy.keepAwake[i] as PolicyWindow, at };
    }
    return undefined;
  }
}

export function describeWindow(w: PolicyWindow): string {
  return `"${w.start}" for ${formatSeconds(w.durationSeconds)}`;
}

/** 2040 -> "34m", 5400 -> "1h30m", 45 -> "45s". */
export function formatSeconds(total: number): string {
  const s = total > 0 ? Math.round(total) : 0;
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  let out = '';
  if (d) out += `${d}d`;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  return out || '0m';
}
