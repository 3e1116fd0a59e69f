// vmstation power simulate [-f FILE] --trace TRACE.jsonl [--output json] [--transitions] [--compare]
// Replays a workload trace through the power policy in the cluster file (the same decide() the
// controller runs, with a fake clock) and compares its energy with always-on and the oracle.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Cluster } from '../../config/model.js';
import { userError, VmstationError } from '../../errors.js';
import { DEFAULT_PREDICT_UNUSED_AFTER_SECONDS, policyFromCluster } from '../../power/core/policy.js';
import type { Policy } from '../../power/core/types.js';
import { checkWindow, WindowError } from '../../power/core/windows.js';
import { simulatePolicy, type SimulationReport } from '../../power/simulate/simulate.js';
import { parseTrace, TraceError, type Trace } from '../../power/simulate/trace.js';
import { displayPath, loadCluster } from '../cluster-file.js';
import { formatTable, writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

interface SimulateFlags extends ClusterFlags, OutputFlags {
  trace: string;
  transitions?: boolean;
  compare?: boolean;
}

async function readTrace(io: CliIo, file: string, cluster: Cluster): Promise<Trace> {
  const absolute = path.resolve(io.cwd, file);
  const shown = displayPath(io, absolute);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw userError('trace-not-found', `${shown}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`}`, 'pass a trace with --trace, e.g. examples/traces/media-week.jsonl');
  }
  try {
    return parseTrace(text, {
      nodes: new Set(cluster.spec.nodes.map((n) => n.name)),
      apps: new Map(cluster.spec.apps.map((a) => [a.name, { node: a.node }])),
    });
  } catch (err) {
    if (!(err instanceof TraceError)) throw err;
    throw new VmstationError({
      code: 'invalid-trace',
      message: err.message,
      location: { file: shown, line: err.line, column: 1 },
      hint: 'each line is one JSON object; see docs/power.md, "Simulator", for the trace format',
    });
  }
}

/** The threshold --compare tries when the cluster file has predict off (the chosen default, docs/power.md). */
const COMPARE_THRESHOLD = 0.6;

const kwh = (x: number) => `${x.toFixed(2)} kWh`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const secs = (x: number) => `${Math.round(x * 10) / 10} s`;

function printReport(io: CliIo, file: string, trace: string, r: SimulationReport): void {
  const out = (line = '') => writeLine(io.stdout, line);
  out(`${trace}: ${r.hours} h from ${r.start} with the power policy of ${file}`);
  out();
  out(`energy used      ${kwh(r.energyKwh)}`);
  out(`always on        ${kwh(r.alwaysOnKwh)}`);
  out(`oracle           ${kwh(r.oracleKwh)} (knows the future)`);
  out(`saved            ${kwh(r.savedKwh)} of the oracle's ${kwh(r.oracleSavedKwh)}: ${pct(r.capturedShare)} captured`);
  out(`transitions      ${r.sleeps} sleeps, ${r.wakes} wakes, ${r.failedWakes} failed`);
  out(`demands          ${r.demands}: ${r.delayedDemands} waited for a node, ${r.missedDemands} missed`);
  out(`latency          p50 ${secs(r.latencySeconds.p50)}, p95 ${secs(r.latencySeconds.p95)}, max ${secs(r.latencySeconds.max)} (demands that waited), ${secs(r.waitSeconds)} in all`);
  if (r.predictedWakes > 0) out(`predicted wakes  ${r.predictedWakes}, ${r.unusedPredictedWakes} unused`);
  for (const w of r.warnings) out(`warning          ${w}`);
  if (r.nodesWithoutWatts.length > 0) out(`no power.watts   ${r.nodesWithoutWatts.join(', ')} (counted at 0 W)`);
  out();
  const rows = r.nodes.map((n) => [
    n.name,
    n.maySleep ? 'yes' : 'no',
    n.energyKwh.toFixed(2),
    n.alwaysOnKwh.toFixed(2),
    n.oracleKwh.toFixed(2),
    pct(n.capturedShare),
    `${n.asleepHours.toFixed(1)}/${n.oracleAsleepHours.toFixed(1)}`,
    String(n.sleeps),
    String(n.wakes),
    `${n.demands}/${n.missedDemands}`,
  ]);
  out(formatTable(['NODE', 'SLEEPS?', 'KWH', 'ALWAYS-ON', 'ORACLE', 'CAPTURED', 'ASLEEP-H/ORACLE', 'SLEEPS', 'WAKES', 'DEMANDS/MISSED'], rows));
  if (r.transitions) {
    out();
    out(formatTable(['TIME', 'NODE', 'ACTION', 'REASON'], r.transitions.map((t) => [t.t.replace(/\.000Z$/, 'Z'), t.node, t.action, t.reason])));
  }
}

/** The policy with prediction (the file's setting, else the default threshold) and without. */
function comparePolicies(policy: Policy): { without: Policy; with: Policy; label: string } {
  const on = policy.predict ?? { threshold: COMPARE_THRESHOLD, unusedAfterSeconds: DEFAULT_PREDICT_UNUSED_AFTER_SECONDS };
  return { without: { ...policy, predict: undefined }, with: { ...policy, predict: on }, label: `predict ${on.threshold}, unusedAfter ${Math.round(on.unusedAfterSeconds / 60)}m` };
}

function printComparison(io: CliIo, trace: string, label: string, a: SimulationReport, b: SimulationReport): void {
  const out = (line = '') => writeLine(io.stdout, line);
  out(`${trace}: ${a.hours} h from ${a.start}, the same trace without and with prediction`);
  out();
  const weeks = (r: SimulationReport, from: number) => r.weeks.slice(from);
  const later = (r: SimulationReport) => `${weeks(r, 1).reduce((x, w) => x + w.delayedDemands, 0)} / ${secs(weeks(r, 1).reduce((x, w) => x + w.waitSeconds, 0))}`;
  const rows: string[][] = [
    ['energy used', kwh(a.energyKwh), kwh(b.energyKwh)],
    ['captured share', pct(a.capturedShare), pct(b.capturedShare)],
    ...a.nodes.filter((n) => n.demands > 0).map((n) => [`  ${n.name}`, pct(n.capturedShare), pct(b.nodes.find((m) => m.name === n.name)?.capturedShare ?? 0)]),
    ['wakes', String(a.wakes), String(b.wakes)],
    ['predicted wakes (unused)', `${a.predictedWakes} (${a.unusedPredictedWakes})`, `${b.predictedWakes} (${b.unusedPredictedWakes})`],
    ['demands waited / missed', `${a.delayedDemands} / ${a.missedDemands}`, `${b.delayedDemands} / ${b.missedDemands}`],
    ['total wait', secs(a.waitSeconds), secs(b.waitSeconds)],
  ];
  if (a.weeks.length > 1) rows.push(['weeks 2+: waited / wait', later(a), later(b)]);
  out(formatTable(['', 'PREDICT OFF', label.toUpperCase()], rows));
  for (const w of a.warnings) out(`warning: ${w}`);
}

export function registerPowerSimulate(powerCommand: Command, io: CliIo): void {
  const cmd = powerCommand
    .command('simulate')
    .description('replay a workload trace through the power policy: energy vs always-on and the oracle, wakes, demand latency')
    .requiredOption('--trace <file>', 'workload trace, one JSON object per line (see docs/power.md)')
    .option('--transitions', 'also list every action the policy took, with its reason')
    .option('--compare', 'run the policy without and with predictive wake (spec.power.predict, else 0.6) and print both side by side');
  withOutput(withClusterFile(cmd)).action(async (flags: SimulateFlags) => {
    const { cluster, file } = await loadCluster(io, flags);
    const policy = policyFromCluster(cluster);
    for (const [list, key] of [
      [policy.quietHours, 'quietHours'],
      [policy.keepAwake, 'keepAwake'],
    ] as const) {
      list.forEach((w, i) => {
        try {
          checkWindow(w, policy.timezone);
        } catch (err) {
          if (!(err instanceof WindowError)) throw err;
          throw userError('invalid-window', `spec.power.${key}[${i}]: ${err.message}`, 'write a 5-field cron such as "0 19 * * *" and an IANA time zone such as Europe/Berlin in spec.power.timezone');
        }
      });
    }
    const trace = await readTrace(io, flags.trace, cluster);
    if (flags.compare) {
      const both = comparePolicies(policy);
      const without = simulatePolicy(both.without, trace);
      const withPrediction = simulatePolicy(both.with, trace);
      if (flags.output === 'json') writeJson(io.stdout, { without, with: withPrediction });
      else printComparison(io, displayPath(io, path.resolve(io.cwd, flags.trace)), both.label, without, withPrediction);
      return;
    }
    const report = simulatePolicy(policy, trace, { keepTransitions: flags.transitions === true });
    if (flags.output === 'json') writeJson(io.stdout, report);
    else printReport(io, file, displayPath(io, path.resolve(io.cwd, flags.trace)), report);
  });
}
