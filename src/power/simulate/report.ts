// The simulator's report: energy under the policy, always-on and the oracle, captured share,
// transitions, and demand latency, for the cluster and per node.
import type { Policy } from '../core/types.js';
import { oracleEnergy, type Interval } from './oracle.js';
import type { Demand, SimWorld, TransitionRecord } from './world.js';

export interface LatencySummary {
  p50: number;
  p95: number;
  max: number;
}

export interface NodeReport {
  name: string;
  maySleep: boolean;
  energyKwh: number;
  alwaysOnKwh: number;
  oracleKwh: number;
  /** Share of the oracle's saving this node's policy captured (1 when the oracle saves nothing). */
  capturedShare: number;
  asleepHours: number;
  oracleAsleepHours: number;
  sleeps: number;
  wakes: number;
  failedWakes: number;
  demands: number;
  missedDemands: number;
}

export interface SimulationReport {
  start: string;
  end: string;
  hours: number;
  energyKwh: number;
  alwaysOnKwh: number;
  oracleKwh: number;
  savedKwh: number;
  oracleSavedKwh: number;
  /** (alwaysOn - energy) / (alwaysOn - oracle), clamped to 0..1; 1 when the oracle saves nothing. */
  capturedShare: number;
  wakes: number;
  sleeps: number;
  failedWakes: number;
  demands: number;
  /** Demands that arrived while their node was not awake and had to wait. */
  delayedDemands: number;
  /** Demands never served before their end or the end of the trace. */
  missedDemands: number;
  /** Arrival at a node that was not awake until that node was Ready (delayed demands only; 0 when none). */
  latencySeconds: LatencySummary;
  /** Nodes without power.watts: counted at 0 W. */
  nodesWithoutWatts: string[];
  nodes: NodeReport[];
  transitions?: TransitionRecord[];
}

const HOUR_MS = 3_600_000;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function share(alwaysOn: number, energy: number, oracle: number): number {
  const possible = alwaysOn - oracle;
  if (possible <= 1e-12) return 1;
  return Math.min(1, Math.max(0, (alwaysOn - energy) / possible));
}

const kwhOf = (wattMs: number) => wattMs / HOUR_MS / 1000;

/** When each node was needed: pods until they stopped, requests for their seconds. */
function demandIntervals(demands: readonly Demand[], end: number): Map<string, Interval[]> {
  const out = new Map<string, Interval[]>();
  for (const d of demands) {
    const to = d.busySeconds !== undefined ? d.arrivedAt + d.busySeconds * 1000 : (d.endedAt ?? end);
    out.set(d.node, [...(out.get(d.node) ?? []), { from: d.arrivedAt, to }]);
  }
  return out;
}

interface Span {
  start: number;
  end: number;
  goDownSeconds: number;
}

function nodeReport(policy: Policy, world: SimWorld, name: string, span: Span, intervals: Map<string, Interval[]>, missed: readonly Demand[]): NodeReport {
  const n = world.node(name);
  const np = policy.nodes[name]!;
  const maySleep = np.autoSleep && np.alwaysOnReasons.length === 0 && np.usableDrivers.length > 0;
  const oracle = oracleEnergy({ start: span.start, end: span.end, demand: intervals.get(name) ?? [], bootSeconds: n.bootSeconds, goDownSeconds: span.goDownSeconds, watts: n.watts, maySleep });
  const alwaysOnKwh = kwhOf(n.watts.awake * (span.end - span.start));
  const energyKwh = kwhOf(n.wattMs);
  return {
    name,
    maySleep,
    energyKwh: round(energyKwh, 4),
    alwaysOnKwh: round(alwaysOnKwh, 4),
    oracleKwh: round(oracle.kwh, 4),
    capturedShare: round(share(alwaysOnKwh, energyKwh, oracle.kwh), 4),
    asleepHours: round(n.asleepMs / HOUR_MS, 3),
    oracleAsleepHours: round(oracle.asleepSeconds / 3600, 3),
    sleeps: n.sleeps,
    wakes: n.wakes,
    failedWakes: n.failedWakes,
    demands: world.demands.filter((d) => d.node === name).length,
    missedDemands: missed.filter((d) => d.node === name).length,
  };
}

export function buildReport(policy: Policy, world: SimWorld, span: Span, keepTransitions: boolean): SimulationReport {
  const { demands, names } = world;
  const { start, end } = span;
  for (const d of demands) if (d.servedAt === undefined && d.endedAt === undefined) d.endedAt = end;
  const latencies = demands.filter((d) => d.servedAt !== undefined && d.servedAt > d.arrivedAt).map((d) => ((d.servedAt as number) - d.arrivedAt) / 1000).sort((a, b) => a - b);
  const missed = demands.filter((d) => d.servedAt === undefined);
  const intervals = demandIntervals(demands, end);
  const nodeReports = names.map((name) => nodeReport(policy, world, name, span, intervals, missed));
  const sum = (f: (r: NodeReport) => number) => nodeReports.reduce((acc, r) => acc + f(r), 0);
  const energyKwh = names.reduce((acc, name) => acc + kwhOf(world.node(name).wattMs), 0);
  const alwaysOnKwh = names.reduce((acc, name) => acc + kwhOf(world.node(name).watts.awake * (end - start)), 0);
  const oracleKwh = sum((r) => r.oracleKwh);
  const report: SimulationReport = {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    hours: round((end - start) / HOUR_MS, 3),
    energyKwh: round(energyKwh, 4),
    alwaysOnKwh: round(alwaysOnKwh, 4),
    oracleKwh: round(oracleKwh, 4),
    savedKwh: round(alwaysOnKwh - energyKwh, 4),
    oracleSavedKwh: round(alwaysOnKwh - oracleKwh, 4),
    capturedShare: round(share(alwaysOnKwh, energyKwh, oracleKwh), 4),
    wakes: sum((r) => r.wakes),
    sleeps: sum((r) => r.sleeps),
    failedWakes: sum((r) => r.failedWakes),
    demands: demands.length,
    delayedDemands: latencies.length,
    missedDemands: missed.length,
    latencySeconds: { p50: round(percentile(latencies, 50), 3), p95: round(percentile(latencies, 95), 3), max: round(latencies[latencies.length - 1] ?? 0, 3) },
    nodesWithoutWatts: names.filter((name) => !policy.nodes[name]?.watts),
    nodes: nodeReports,
  };
  if (keepTransitions) report.transitions = world.transitions;
  return report;
}
