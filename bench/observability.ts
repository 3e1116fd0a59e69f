// Render speed of the observability renderer (Grafana with its dashboards, Loki, the log
// shipper, storage, NetworkPolicies): the example and a generated 200-node cluster, in-process,
// first call (cold) and steady state; plus every renderer together for reference.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { validateText } from '../src/config/validate.js';
import { renderCluster } from '../src/render/index.js';
import { renderObservability } from '../src/render/observability/index.js';
import { fmtMs, generatedClusterYaml, report, timeRuns } from './_util.js';

const root = path.resolve(import.meta.dirname, '..');

function load(file: string, text: string) {
  const r = validateText({ file, text });
  if (!r.cluster) throw new Error(`${file} does not validate: ${JSON.stringify(r.problems.slice(0, 3))}`);
  return r.cluster;
}

const example = load('examples/vmstation.yaml', readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8'));
const big = load('generated-200.yaml', generatedClusterYaml(200));

const t0 = performance.now();
const files = renderObservability(example);
const cold = performance.now() - t0;
report(`observability render of the example, first call (${files.length} files)`, fmtMs(cold), '< 150 ms', cold < 150);

const warm = await timeRuns(30, () => renderObservability(example));
report('observability render of the example (median of 30)', fmtMs(warm.median), '< 150 ms', warm.median < 150);
report('  p95 / min / max', `${fmtMs(warm.p95)} / ${fmtMs(warm.min)} / ${fmtMs(warm.max)}`);

const bigRuns = await timeRuns(10, () => renderObservability(big));
report('observability render of a 200-node cluster (median of 10)', fmtMs(bigRuns.median), '< 2 s', bigRuns.median < 2000);

const all = await timeRuns(10, () => renderCluster(example));
report(`every renderer on the example (median of 10, ${renderCluster(example).length} files)`, fmtMs(all.median), '< 150 ms', all.median < 150);
const allBig = await timeRuns(5, () => renderCluster(big));
report('every renderer on the 200-node cluster (median of 5)', fmtMs(allBig.median), '< 2 s', allBig.median < 2000);
