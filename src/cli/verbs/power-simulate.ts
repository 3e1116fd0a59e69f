// vmstation power simulate [-f FILE] --trace TRACE.jsonl [--output json] [--transitions]
// Replays a workload trace through the power policy in the cluster file (the same decide() the
// controller runs, with a fake clock) and compares its energy with always-on and the oracle.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Cluster } from '../../config/model.js';
import { userError, VmstationError } from '../../errors.js';
import { policyFromCluster } from '../../power/core/policy.js';
import { checkWindow, WindowError } from '../../power/core/windows.js';
import { simulatePolicy, type SimulationReport } from '../../power/simulate/simulate.js';
import { parseTrace, TraceError, type Trace } from '../../power/simulate/trace.js';
import { displayPath, loadCluster } from '../cluster-file.js';
import { formatTable, writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

interface SimulateFlags extends ClusterFlags, OutputFlags {
  trace: string;
  transitions?: boolean;
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
  out(`latency          p50 ${secs(r.latencySeconds.p50)}, p95 ${secs(r.latencySeconds.p95)}, max ${secs(r.latencySeconds.max)} (demands that waited)`);
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

export function registerPowerSimulate(powerCommand: Command, io: CliIo): void {
  const cmd = powerCommand
    .command('simulate')
    .description('replay a workload trace through the power policy: energy vs always-on and the oracle, wakes, demand latency')
    .requiredOption('--trace <file>', 'workload trace, one JSON object per line (see docs/power.md)')
    .option('--transitions', 'also list every action the policy took, with its reason');
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
    const report = simulatePolicy(policy, trace, { keepTransitions: flags.transitions === true });
    if (flags.output === 'json') writeJson(io.stdout, report);
    else printReport(io, file, displayPath(io, path.resolve(io.cwd, flags.trace)), report);
  });
}
