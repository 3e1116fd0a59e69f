// The oracle: an optimal schedule that knows the future. For each node that may sleep it sleeps
// through every gap between demands that is long enough to pay for the transition, and wakes
// the node exactly bootSeconds before the next demand. Its energy is the floor any policy can reach.

export interface Interval {
  from: number;
  to: number;
}

/** Sorted, merged copy of `intervals` (ms). */
export function mergeIntervals(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].filter((i) => i.to > i.from).sort((a, b) => a.from - b.from || a.to - b.to);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ ...i });
  }
  return out;
}

export interface OracleInput {
  start: number;
  end: number;
  /** Times the node must be Ready (merged or not). */
  demand: readonly Interval[];
  bootSeconds: number;
  /** Time from the sleep decision until the node is off (drain + suspend). */
  goDownSeconds: number;
  watts: { awake: number; asleep: number };
  /** False for nodes the oracle may not sleep either (always-on, autoSleep false, no driver). */
  maySleep: boolean;
}

export interface OracleResult {
  kwh: number;
  asleepSeconds: number;
  sleeps: number;
}

const HOUR_MS = 3_600_000;

/** Energy of the oracle schedule for one node. */
export function oracleEnergy(input: OracleInput): OracleResult {
  const { start, end, watts } = input;
  const alwaysOnKwh = (watts.awake * (end - start)) / HOUR_MS / 1000;
  if (!input.maySleep || watts.awake <= watts.asleep) return { kwh: alwaysOnKwh, asleepSeconds: 0, sleeps: 0 };
  const demand = mergeIntervals(input.demand.map((d) => ({ from: Math.max(start, d.from), to: Math.min(end, d.to) })));
  const boot = input.bootSeconds * 1000;
  const down = input.goDownSeconds * 1000;
  // Gaps the node is not needed: before the first demand, between demands, after the last.
  const gaps: Array<Interval & { wakeAfter: boolean }> = [];
  let cursor = start;
  for (const d of demand) {
    if (d.from > cursor) gaps.push({ from: cursor, to: d.from, wakeAfter: true });
    cursor = Math.max(cursor, d.to);
  }
  if (cursor < end) gaps.push({ from: cursor, to: end, wakeAfter: false });
  let asleep = 0;
  let sleeps = 0;
  for (const g of gaps) {
    const off = g.to - g.from - down - (g.wakeAfter ? boot : 0);
    if (off > 0) {
      asleep += off;
      sleeps++;
    }
  }
  const kwh = alwaysOnKwh - ((watts.awake - watts.asleep) * asleep) / HOUR_MS / 1000;
  return { kwh, asleepSeconds: asleep / 1000, sleeps };
}
