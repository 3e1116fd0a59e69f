// Validation speed: the CLI on the example (Node start included) and a 500-node file in-process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateText } from '../src/config/validate.js';
import { fmtMs, generatedClusterYaml, report, timeRuns } from './_util.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/vmstation.js');
const example = path.join(root, 'examples/vmstation.yaml');

execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
const cli = await timeRuns(15, () => execFileSync(process.execPath, [bin, 'validate', '-f', example], { stdio: 'ignore' }));
report('vmstation validate -f examples/vmstation.yaml (wall, median)', fmtMs(cli.median), '< 300 ms', cli.median < 300);
report('  p95 / min / max', `${fmtMs(cli.p95)} / ${fmtMs(cli.min)} / ${fmtMs(cli.max)}`);
const node = await timeRuns(10, () => execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore' }));
report('  (bare `node -e 0` on this machine, median)', fmtMs(node.median));

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
