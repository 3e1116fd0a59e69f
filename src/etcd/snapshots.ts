// `vmstation etcd snapshot` and `etcd snapshots`: take a snapshot now on every etcd node (the
// rendered unit, so the check, pruning, copy and metrics are the timer's), and list what is kept
// on the etcd nodes and at the copy target. I/O over the deploy's SSH pool; parsing is pure.
import type { Cluster } from '../config/model.js';
import { ExitCode, VmstationError } from '../errors.js';
import type { SshPool } from '../deploy/ssh-pool.js';
import { COPIES_DIR, etcdLayout, etcdNodes } from '../render/etcd/layout.js';
import { copyTargetNode, SNAPSHOT_UNIT } from '../render/etcd/index.js';
import { ENV_FILE, RECEIVE_SCRIPT, SNAPSHOT_SCRIPT } from '../render/etcd/scripts.js';

export interface SnapshotEntry {
  /** The node the file is on. */
  node: string;
  /** The etcd node it was taken on. */
  of: string;
  /** `local`: in the etcd node's own folder; `copy`: at copyTo. */
  place: 'local' | 'copy';
  dir: string;
  name: string;
  bytes: number;
  /** mtime, epoch seconds. */
  time: number;
  sha256?: string | undefined;
}

/** Lines of `vmstation-etcd-snapshot list` / the receive script's `list`: NAME BYTES EPOCH SHA256|- (pure). */
export function parseList(text: string, where: Omit<SnapshotEntry, 'name' | 'bytes' | 'time' | 'sha256'>): SnapshotEntry[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 4 && /^\d+$/.test(p[1]!) && /^\d+$/.test(p[2]!))
    .map(([name, bytes, time, sum]) => ({ ...where, name: name!, bytes: Number(bytes), time: Number(time), ...(sum && sum !== '-' ? { sha256: sum } : {}) }));
}

const withSettings = (cmd: string) => `set -a; . ${ENV_FILE}; set +a; ${cmd}`;

async function run(pool: Pick<SshPool, 'exec'>, node: string, command: string, timeoutMs = 120_000): Promise<string> {
  const r = await pool.exec(node, command, timeoutMs);
  if (r.exitCode !== 0) throw new VmstationError({ code: 'etcd-command-failed', message: `${node}: ${command.split(';').at(-1)?.trim() ?? command} failed (exit ${r.exitCode ?? 'none'})`, hint: 'is the Kubernetes phase deployed (it installs the snapshot units)? see the output below', details: `${r.stderr}${r.stdout}`.trim().split('\n').slice(-8), exitCode: ExitCode.partial });
  return r.stdout;
}

export async function listSnapshots(cluster: Cluster, pool: Pick<SshPool, 'exec'>): Promise<SnapshotEntry[]> {
  const layout = etcdLayout(cluster);
  const out: SnapshotEntry[] = [];
  const copyTo = cluster.spec.kubernetes.etcd.snapshots.copyTo;
  const target = copyTargetNode(cluster);
  for (const n of etcdNodes(cluster)) {
    out.push(...parseList(await run(pool, n.name, withSettings(`${SNAPSHOT_SCRIPT} list`)), { node: n.name, of: n.name, place: 'local', dir: layout.snapshotDir }));
    if (copyTo?.startsWith('/')) out.push(...parseList(await run(pool, n.name, withSettings(`SNAPSHOT_DIR=${copyTo} ${SNAPSHOT_SCRIPT} list`)), { node: n.name, of: n.name, place: 'copy', dir: copyTo }));
  }
  if (target)
    for (const n of etcdNodes(cluster))
      out.push(...parseList(await run(pool, target.name, `SSH_ORIGINAL_COMMAND=list ${RECEIVE_SCRIPT} ${n.name} ${cluster.spec.kubernetes.etcd.snapshots.keep}`), { node: target.name, of: n.name, place: 'copy', dir: `${COPIES_DIR}/${n.name}` }));
  return out;
}

export interface TakenSnapshot {
  node: string;
  path: string;
  ms: number;
}

/** Runs the snapshot unit on every etcd node now (RKE2: `rke2 etcd-snapshot save`, then the unit copies it). */
export async function takeSnapshots(cluster: Cluster, pool: Pick<SshPool, 'exec'>, now: () => number = Date.now): Promise<TakenSnapshot[]> {
  const rke2 = cluster.spec.kubernetes.method === 'rke2';
  const nodes = rke2 ? etcdNodes(cluster).slice(0, 1) : etcdNodes(cluster);
  return Promise.all(
    nodes.map(async (n) => {
      const started = now();
      if (rke2) await run(pool, n.name, 'rke2 etcd-snapshot save --name vmstation', 600_000);
      const r = await pool.exec(n.name, `systemctl start ${SNAPSHOT_UNIT}.service`, 600_000);
      if (r.exitCode !== 0) {
        const log = await pool.exec(n.name, `journalctl -u ${SNAPSHOT_UNIT}.service -n 12 --no-pager -o cat`, 30_000).catch(() => undefined);
        throw new VmstationError({
          code: 'etcd-snapshot-failed',
          message: `${n.name}: the etcd snapshot failed`,
          hint: 'the lines below are from journalctl -u vmstation-etcd-snapshot; an older snapshot that passed its check is still kept',
          details: (log?.stdout ?? r.stderr).trim().split('\n').slice(-12),
          exitCode: ExitCode.partial,
        });
      }
      const newest = parseList(await run(pool, n.name, withSettings(`${SNAPSHOT_SCRIPT} list`)), { node: n.name, of: n.name, place: 'local', dir: etcdLayout(cluster).snapshotDir })[0];
      return { node: n.name, path: newest ? `${newest.dir}/${newest.name}` : '(none listed)', ms: now() - started };
    }),
  );
}
