// `vmstation plan` with and without --observe against the running lab (3 hosts, the Kubernetes
// API stand-in), as a person runs it: a fresh `node bin/vmstation.js` process each time (start-up
// included), 5 runs each, medians. --observe adds one SSH-port probe per node (in parallel) and
// the API's /version and Node list. Needs a running lab and `npm run build`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fmtMs, report, runningLab, timeRuns } from './_util.js';

const lab = runningLab();
const bin = path.resolve(import.meta.dirname, '..', 'bin', 'vmstation.js');
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, 'plan', '-f', lab.clusterFile, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plan ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};
const observeArgs = ['--observe', '--kubeconfig', lab.kubeconfig ?? ''];
if (!cli(observeArgs).includes('Changes (the file compared with what the cluster reports)')) throw new Error('plan --observe did not compare with the cluster');
const plain = await timeRuns(5, () => cli([]));
const observed = await timeRuns(5, () => cli(observeArgs));
report('vmstation plan (lab file, CLI process), median', fmtMs(plain.median));
report('vmstation plan --observe (3 lab hosts + API stand-in), median', fmtMs(observed.median));
report('  of which observing (difference of the medians)', fmtMs(observed.median - plain.median));
