// Render speed of the metrics renderer (Prometheus with its rules, Alertmanager, exporters): the
// example and a generated 200-node cluster, in-process, first call (cold) and steady state.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { validateText } from '../src/config/validate.js';
import { renderMetrics } from '../src/render/metrics/index.js';
import { fmtMs, generatedClusterYaml, report, timeRuns } from './_util.js';

const root = path.resolve(import.meta.dirname, '..');

function load(file: string, text: string) {
  const r = validateText({ file, text });
  if (!r.cluster) throw new Error(`${file} does not validate: ${JSON.stringify(r.problems.slice(0, 3))}`);
  return r.cluster;
}

export async function benchMetrics(): Promise<Record<string, number>> {
  const example = load('examples/vmstation.yaml', readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8'));
  const big = load('generated-200.yaml', generatedClusterYaml(200));

  const t0 = performance.now();
  const files = renderMetrics(example);
  const cold = performance.now() - t0;
  report(`metrics render of the example, first call (${files.length} files)`, fmtMs(cold), '< 150 ms', cold < 150);

  const warm = await timeRuns(30, () => renderMetrics(example));
  report('metrics render of the example (median of 30)', fmtMs(warm.median), '< 150 ms', warm.median < 150);
  report('  p95 / min / max', `${fmtMs(warm.p95)} / ${fmtMs(warm.min)} / ${fmtMs(warm.max)}`);

  const bigFiles = renderMetrics(big);
  const bigBytes = bigFiles.reduce((n, f) => n + f.content.length, 0);
  const bigRuns = await timeRuns(10, () => renderMetrics(big));
  report(`metrics render of a 200-node cluster (median of 10, ${(bigBytes / 1024).toFixed(0)} KiB)`, fmtMs(bigRuns.median), '< 2 s', bigRuns.median < 2000);
  return { exampleColdMs: cold, exampleMedianMs: warm.median, big200MedianMs: bigRuns.median };
}

if (import.meta.url === `file://${process.argv[1]}`) await benchMetrics();
