// Validation speed: the CLI on the example (Node start included) and a 500-node file in-process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateText } from '../src/config/validate.js';
import { performance } from 'node:perf_hooks';
import { fmtMs, generatedClusterYaml, percentile, report, timeRuns } from './_util.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/vmstation.js');
const example = path.join(root, 'examples/vmstation.yaml');

execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
// Side by side: each round runs a bare `node -e 0` and then `vmstation validate`, so both see the
// same machine load; the ratio of the medians is the figure (issue 16 §7: at most 2x).
const ROUNDS = 21;
const bare: number[] = [];
const validate: number[] = [];
const wall = (args: string[]): number => {
  const t0 = performance.now();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return performance.now() - t0;
};
wall([bin, 'validate', '-f', example]); // warm the file cache once, not counted
for (let i = 0; i < ROUNDS; i++) {
  bare.push(wall(['-e', '0']));
  validate.push(wall([bin, 'validate', '-f', example]));
}
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const cli = median(validate);
const node = median(bare);
report('vmstation validate -f examples/vmstation.yaml (wall, median)', fmtMs(cli), '< 300 ms', cli < 300);
report('  p95 / min / max', `${fmtMs(percentile([...validate].sort((a, b) => a - b), 95))} / ${fmtMs(Math.min(...validate))} / ${fmtMs(Math.max(...validate))}`);
report('  bare `node -e 0` in the same rounds (median)', fmtMs(node));
report('  ratio validate / bare node (medians)', `${(cli / node).toFixed(2)}x`, '<= 2x', cli / node <= 2);

const big = generatedClusterYaml(500);
const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-bench-'));
const bigFile = path.join(dir, 'big.yaml');
writeFileSync(bigFile, big);
const inproc = await timeRuns(5, () => {
  const r = validateText({ file: 'big.yaml', text: big });
  if (!r.cluster) throw new Error(`generated file invalid: ${JSON.stringify(r.problems.slice(0, 3))}`);
});
report('validate a 500-node file in-process (median)', fmtMs(inproc.median), '< 1 s', inproc.median < 1000);
const bigCli = await timeRuns(5, () => execFileSync(process.execPath, [bin, 'validate', '-f', bigFile], { stdio: 'ignore' }));
report('vmstation validate of the 500-node file (wall, median)', fmtMs(bigCli.median), '< 1 s', bigCli.median < 1000);
