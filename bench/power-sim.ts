// Power simulator: speed for a week of 3 nodes (the example) and of 500 nodes, and how much of
// the oracle's saving the example policy captures on the shipped traces.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Cluster } from '../src/config/model.js';
import { validateText } from '../src/config/validate.js';
import { policyFromCluster } from '../src/power/core/policy.js';
import { simulate, simulatePolicy } from '../src/power/simulate/simulate.js';
import { parseTrace, type Trace } from '../src/power/simulate/trace.js';
import { fmtMs, generatedClusterYaml, report, timeRuns } from './_util.js';

const root = path.resolve(import.meta.dirname, '..');

function load(file: string, text: string): Cluster {
  const { cluster, problems } = validateText({ file, text });
  if (!cluster) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
  return cluster;
}

function traceFor(cluster: Cluster, text: string): Trace {
  return parseTrace(text, { nodes: new Set(cluster.spec.nodes.map((n) => n.name)), apps: new Map(cluster.spec.apps.map((a) => [a.name, { node: a.node }])) });
}

const example = load('examples/vmstation.yaml', readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8'));
const shipped = ['media-week.jsonl', 'batch-week.jsonl'].map((f) => ({ f, text: readFileSync(path.join(root, 'examples/traces', f), 'utf8') }));

// ---- 3 nodes, a week -------------------------------------------------------------------------
const media = traceFor(example, shipped[0]!.text);
const small = await timeRuns(10, () => simulate(example, media));
report('simulate a week, 3 nodes (media-week, median)', fmtMs(small.median), '< 1 s', small.median < 1000);

// ---- 500 nodes, a week -----------------------------------------------------------------------
/** A week for `count` nodes: every worker runs two or three jobs a day at its own times. */
function bigTrace(names: string[], bootSeconds: number): string {
  let seed = 0x5eed_0500;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const start = Date.parse('2026-03-02T00:00:00Z');
  const events: Array<{ t: number; line: string }> = [];
  const iso = (t: number) => new Date(t).toISOString();
  for (const name of names.slice(1)) {
    for (let day = 0; day < 7; day++) {
      for (let j = 0, jobs = 2 + Math.floor(rand() * 2); j < jobs; j++) {
        const at = start + day * 86_400_000 + Math.floor(rand() * 22 * 60) * 60_000;
        const stop = at + (10 + Math.floor(rand() * 110)) * 60_000;
        const pod = `batch/${name}-d${day}-j${j}`;
        events.push({ t: at, line: JSON.stringify({ t: iso(at), kind: 'pod-start', pod, node: name }) });
        events.push({ t: stop, line: JSON.stringify({ t: iso(stop), kind: 'pod-stop', pod }) });
      }
    }
  }
  events.sort((a, b) => a.t - b.t || (a.line < b.line ? -1 : 1));
  const header = { kind: 'header', start: iso(start), end: iso(start + 7 * 86_400_000), bootSeconds: Object.fromEntries(names.slice(1).map((n) => [n, bootSeconds])) };
  return [JSON.stringify(header), ...events.map((e) => e.line)].join('\n') + '\n';
}

const big = load('big.yaml', generatedClusterYaml(500));
const names = big.spec.nodes.map((n) => n.name);
const bigText = bigTrace(names, 60);
let t0 = performance.now();
const bigParsed = traceFor(big, bigText);
const parseMs = performance.now() - t0;
// 500 nodes cannot wake one at a time: the bench lets 25 transition at once.
const bigPolicy = { ...policyFromCluster(big), maxConcurrentTransitions: 25 };
t0 = performance.now();
const cpu0 = process.cpuUsage();
const bigReport = simulatePolicy(bigPolicy, bigParsed);
const bigMs = performance.now() - t0;
const bigCpu = process.cpuUsage(cpu0);
report(`simulate a week, 500 nodes (${bigParsed.events.length} events, wall)`, fmtMs(bigMs), '< 60 s', bigMs < 60_000);
report('  CPU time of that run (user + system)', fmtMs((bigCpu.user + bigCpu.system) / 1000));
report('  load average when it ran / cores', `${loadavg()[0]!.toFixed(1)} / ${cpus().length}`);
report('  parsing that trace', fmtMs(parseMs));
report('  captured share of the oracle / missed demands', `${(bigReport.capturedShare * 100).toFixed(1)}% / ${bigReport.missedDemands}`);
report('  demand latency p50 / p95 / max', `${bigReport.latencySeconds.p50} / ${bigReport.latencySeconds.p95} / ${bigReport.latencySeconds.max} s`);

// ---- the example policy on the shipped traces ------------------------------------------------
const busyNode: Record<string, string> = { 'media-week.jsonl': 'storagenodet3500', 'batch-week.jsonl': 'homelab' };
for (const { f, text } of shipped) {
  const r = simulate(example, traceFor(example, text));
  const node = r.nodes.find((n) => n.name === busyNode[f])!;
  report(`${f}: captured share of the oracle's saving (all nodes)`, `${(r.capturedShare * 100).toFixed(1)}%`, '>= 90%', r.capturedShare >= 0.9);
  report(`  ${node.name} alone (the node the demand is on)`, `${(node.capturedShare * 100).toFixed(1)}%`, '>= 90%', node.capturedShare >= 0.9);
  report('  missed demands', String(r.missedDemands), '0', r.missedDemands === 0);
  report('  kWh used / always on / oracle', `${r.energyKwh.toFixed(2)} / ${r.alwaysOnKwh.toFixed(2)} / ${r.oracleKwh.toFixed(2)}`);
  report('  wakes / latency p50 p95 max', `${r.wakes} / ${r.latencySeconds.p50} ${r.latencySeconds.p95} ${r.latencySeconds.max} s`);
}
