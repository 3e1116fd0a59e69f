// `vmstation etcd restore SNAPSHOT`: find the snapshot (a name listed by `etcd snapshots`,
// NODE:NAME, or a local file), stage it on every member and check it, then (after the person
// typed the cluster name) run the method's restore, stage by stage. A check that fails refuses
// the restore before anything is stopped or moved; a step that fails later stops with what was
// done and where the old data is.
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Cluster } from '../config/model.js';
import { ExitCode, userError, VmstationError } from '../errors.js';
import { readLine } from '../deploy/run.js';
import type { SshPool } from '../deploy/ssh-pool.js';
import { listSnapshots, type SnapshotEntry } from './snapshots.js';
import { planRestore, STAGES, type RestoreStep, type SnapshotSource } from './restore-plan.js';

/** Which listed snapshot an argument names (pure): `NAME` (the etcd node's own copy first) or `NODE:NAME`. */
export function pickSnapshot(arg: string, listed: readonly SnapshotEntry[]): SnapshotEntry | undefined {
  const [node, name] = arg.includes(':') ? (arg.split(':', 2) as [string, string]) : [undefined, arg];
  const matches = listed.filter((e) => e.name === name && (node === undefined || e.node === node));
  return matches.find((e) => e.place === 'local') ?? matches[0];
}

export async function locateSnapshot(cluster: Cluster, pool: Pick<SshPool, 'exec'>, arg: string, cwd: string): Promise<SnapshotSource> {
  const local = path.resolve(cwd, arg);
  if (arg.includes('/') && (await access(local).then(() => true, () => false))) return { name: path.basename(local), at: { local } };
  const listed = await listSnapshots(cluster, pool);
  const e = pickSnapshot(arg, listed);
  if (!e)
    throw userError('snapshot-not-found', `no snapshot named ${arg} on the etcd nodes or at the copy target`, listed.length > 0 ? `\`vmstation etcd snapshots\` lists them; e.g. ${listed[0]!.name}` : 'take one with `vmstation etcd snapshot`, or give a local file path');
  return { name: e.name, at: { node: e.node, path: `${e.dir}/${e.name}` }, sha256: e.sha256 };
}

export interface RestoreOptions {
  cluster: Cluster;
  pool: Pick<SshPool, 'exec'>;
  source: SnapshotSource;
  yes: boolean;
  out: Writable;
  input: Readable;
  now?: () => number;
}

async function runStep(pool: Pick<SshPool, 'exec'>, s: RestoreStep): Promise<string> {
  const a = s.action;
  if (a.kind === 'run') {
    const r = await pool.exec(a.node, a.command, a.timeoutMs ?? 120_000);
    if (r.exitCode !== 0) throw new Error(`${`${r.stderr}${r.stdout}`.trim().split('\n').slice(-6).join(' | ') || `exit ${r.exitCode ?? 'none'}`}`);
    return r.stdout;
  }
  const data = 'local' in a.from ? await readFile(a.from.local) : await download(pool, a.from.node, a.from.path);
  const w = await pool.exec(a.to.node, `cat > '${a.to.path}.part' && mv '${a.to.path}.part' '${a.to.path}'`, 600_000, { stdin: data });
  if (w.exitCode !== 0) throw new Error(`cannot write ${a.to.path} on ${a.to.node}: ${w.stderr.trim()}`);
  return `${data.length} bytes`;
}

async function download(pool: Pick<SshPool, 'exec'>, node: string, file: string): Promise<Buffer> {
  const r = await pool.exec(node, `cat '${file}'`, 600_000, { binary: true });
  if (r.exitCode !== 0 || !r.stdoutBytes) throw new Error(`cannot read ${file} on ${node}: ${r.stderr.trim()}`);
  return r.stdoutBytes;
}

export async function runRestore(opts: RestoreOptions): Promise<{ ms: number; steps: number }> {
  const now = opts.now ?? Date.now;
  const started = now();
  const { cluster } = opts;
  const write = (line: string) => opts.out.write(`${line}\n`);
  const stamp = new Date(now()).toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const steps = planRestore(cluster, opts.source, stamp);
  const done: string[] = [];
  const exec = async (s: RestoreStep) => {
    write(`  - ${s.title}`);
    const t = now();
    const outText = await runStep(opts.pool, s);
    done.push(s.title);
    write(`    ok (${((now() - t) / 1000).toFixed(1)} s)`);
    return outText;
  };
  write(`Restore ${opts.source.name} into ${cluster.metadata.name} (${cluster.spec.kubernetes.method})`);
  write('1. stage the snapshot on every member and check it (nothing is stopped yet)');
  for (const s of steps.filter((x) => x.stage === 'stage')) await exec(s).catch((err: unknown) => Promise.reject(refused(`cannot stage the snapshot: ${(err as Error).message}`)));
  for (const s of steps.filter((x) => x.stage === 'check')) await exec(s).catch((err: unknown) => Promise.reject(refused(`the snapshot fails its check on ${s.action.kind === 'run' ? s.action.node : '?'}: ${(err as Error).message}`)));
  write('2. then, one stage after the other:');
  for (const s of steps.filter((x) => x.stage !== 'stage' && x.stage !== 'check')) write(`   [${s.stage}] ${s.title}`);
  if (!opts.yes) {
    opts.out.write(`This replaces the whole cluster state of ${cluster.metadata.name} with ${opts.source.name}: every change since it was taken is lost.\nType the cluster name (${cluster.metadata.name}) to confirm: `);
    const answer = await readLine(opts.input);
    if (answer !== cluster.metadata.name) throw userError('not-confirmed', `restore cancelled: "${answer}" is not the cluster name`, `type ${cluster.metadata.name}, or pass --yes in scripts`);
  }
  for (const stage of STAGES.filter((x) => x !== 'stage' && x !== 'check')) {
    for (const s of steps.filter((x) => x.stage === stage)) {
      try {
        const text = await exec(s);
        if (stage === 'verify') write(`    ${text.trim()}`);
      } catch (err) {
        throw new VmstationError({
          code: 'etcd-restore-failed',
          message: `restore stopped at "${s.title}": ${(err as Error).message}`,
          hint: `the data that was there before is kept next to the data folder as *.before-restore-${stamp}; stopped API servers' manifests are in /etc/kubernetes/manifests-stopped-by-vmstation. Fix the cause, then run the restore again`,
          details: [`done: ${done.length} step(s)`, ...done.slice(-5).map((d) => `  ${d}`)],
          exitCode: ExitCode.partial,
        });
      }
    }
  }
  return { ms: now() - started, steps: steps.length };
}

function refused(message: string): VmstationError {
  return new VmstationError({ code: 'snapshot-refused', message: `${message}; nothing was stopped, moved or wiped`, hint: 'pick another snapshot (`vmstation etcd snapshots`)', exitCode: ExitCode.userError });
}
