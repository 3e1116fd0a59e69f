// `vmstation etcd snapshot` and `vmstation etcd restore` against the lab's real etcd (Debian's etcd
// 3.4 with TLS on masternode, laid out as Kubespray runs it: lab/test/etcd-lab.ts), as a person
// runs them: a fresh `node bin/vmstation.js` process each time. The rendered snapshot script is
// installed by `deploy --phase kubernetes` first (schedule twice a day, so the timer does not run
// meanwhile; copies to storagenodet3500). Snapshot: 5 runs (each checked with `snapshot status`,
// its sha256 written, pruned to keep 5, copied to the other node). Restore: 3 runs from the copy on
// storagenodet3500 onto the running member (staged, checked, trial-restored, etcd stopped, data
// folder moved aside, restored, etcd healthy), every key read back after each. Needs a running lab
// and `npm run build`; removes etcd and its files from the lab at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { putKeys, readKeys, removeLabEtcd, startLabEtcd } from '../lab/test/etcd-lab.js';
import { ensureAllAwake } from '../lab/test/lab-fixture.js';
import { fmtMs, report, runningLab, timeRuns } from './_util.js';

const KEYS = 1000;
const VALUE_BYTES = 2048;

const lab = runningLab();
const bin = path.resolve(import.meta.dirname, '..', 'bin', 'vmstation.js');
const dir = mkdtempSync(path.join(tmpdir(), 'bench-etcd-'));
const env = { ...process.env, VMSTATION_STATE_DIR: path.join(dir, 'state'), VMSTATION_CACHE_DIR: path.join(dir, 'cache') };
const cli = (args: string[]): string => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: dir });
  if (r.status !== 0) throw new Error(`vmstation ${args.join(' ')} exited ${r.status}: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
};

const doc = parse(readFileSync(lab.clusterFile, 'utf8')) as { spec: { kubernetes: Record<string, unknown> } };
doc.spec.kubernetes['etcd'] = { snapshots: { schedule: '0 */12 * * *', keep: 5, copyTo: 'storagenodet3500' } };
const file = path.join(dir, 'vmstation.etcd.yaml');
writeFileSync(file, stringify(doc));

try {
  await ensureAllAwake();
  await startLabEtcd(dir);
  const putStart = performance.now();
  await putKeys(KEYS, VALUE_BYTES);
  console.log(`(${KEYS} keys of ${VALUE_BYTES} B written with etcdctl put in ${((performance.now() - putStart) / 1000).toFixed(1)} s)`);
  cli(['deploy', '-f', file, '--phase', 'kubernetes', '--yes', '--kubeconfig', lab.kubeconfig ?? '']);

  // Besides the whole process, what the command itself reports: the snapshot on the node (save,
  // status, sha256, prune, copy over SSH) and the restore from staging to etcd healthy.
  const snapOwn: number[] = [];
  const snap = await timeRuns(5, () => {
    const m = /^masternode: \S+ \((\d+\.\d) s\)$/m.exec(cli(['etcd', 'snapshot', '-f', file]));
    if (m) snapOwn.push(Number(m[1]) * 1000);
  });
  const list = JSON.parse(cli(['etcd', 'snapshots', '-f', file, '-o', 'json'])) as Array<{ node: string; place: string; name: string; bytes: number }>;
  const copies = list.filter((e) => e.place === 'copy' && e.node === 'storagenodet3500').sort((a, b) => (a.name < b.name ? -1 : 1));
  const newest = copies.at(-1);
  if (!newest) throw new Error(`no copy on storagenodet3500 in ${JSON.stringify(list)}`);
  const bytes = newest.bytes;

  const restoreOwn: number[] = [];
  const restore = await timeRuns(3, async () => {
    const m = / in (\d+\.\d) s \(\d+ steps\)$/m.exec(cli(['etcd', 'restore', `storagenodet3500:${newest.name}`, '-f', file, '--yes']));
    if (m) restoreOwn.push(Number(m[1]) * 1000);
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const keys = await readKeys();
  if (keys.length !== KEYS) throw new Error(`after the restores etcd holds ${keys.length} keys, not ${KEYS}`);

  report(`etcd snapshot (${KEYS} keys x ${VALUE_BYTES} B, db ${(bytes / 1e6).toFixed(1)} MB), median of 5`, fmtMs(snap.median));
  report('  min / max', `${fmtMs(snap.min)} / ${fmtMs(snap.max)}`);
  report('  as the command reports it (the node\'s part), median', fmtMs(median(snapOwn)));
  report('etcd restore from the copy on another node, median of 3', fmtMs(restore.median));
  report('  min / max', `${fmtMs(restore.min)} / ${fmtMs(restore.max)}`);
  report('  as the command reports it (stage to healthy), median', fmtMs(median(restoreOwn)));
  console.log(`every one of the ${KEYS} keys read back after the restores`);
} finally {
  await removeLabEtcd();
}
