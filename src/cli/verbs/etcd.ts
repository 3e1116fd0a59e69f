// vmstation etcd snapshot | snapshots | restore SNAPSHOT [--yes]
// etcd snapshots over SSH on the etcd nodes (the units `deploy` installs; see src/render/etcd).
import type { Command } from 'commander';
import { deployPaths, kubeIfPresent, nodeAccess, secretSource, type NodeAccess } from '../../deploy/context.js';
import { withHold } from '../../deploy/hold.js';
import { maintenanceHolds } from '../maintenance-hold.js';
import type { Cluster } from '../../config/model.js';
import { locateSnapshot, runRestore } from '../../etcd/restore.js';
import { listSnapshots, takeSnapshots } from '../../etcd/snapshots.js';
import { copyTargetNode } from '../../render/etcd/index.js';
import { etcdNodes } from '../../render/etcd/layout.js';
import { readVaultPassword } from '../../secrets/store.js';
import { loadCluster, secretsPath } from '../cluster-file.js';
import { formatTable, writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

/** SSH to the etcd nodes (and the copy target), waking any that sleeps first. */
async function access(io: CliIo, flags: ClusterFlags): Promise<{ cluster: Cluster; access: NodeAccess }> {
  const { cluster, dir } = await loadCluster(io, flags);
  const password = await readVaultPassword(flags.vaultPasswordFile, io.env);
  const { source } = await secretSource(secretsPath(dir, cluster), password);
  const a = nodeAccess(cluster, { secrets: source, kube: await kubeIfPresent(deployPaths(cluster, io.env).kubeconfig) });
  const involved = [...etcdNodes(cluster).map((n) => n.name), ...(copyTargetNode(cluster) ? [copyTargetNode(cluster)!.name] : [])];
  for (const r of await Promise.all(involved.map((n) => a.ensureAwake(n)))) if (!r.wasAwake) writeLine(io.stderr, `${r.node}: ${r.message}`);
  return { cluster, access: a };
}

const age = (epoch: number) => {
  const s = Math.max(0, Math.round(Date.now() / 1000 - epoch));
  return s < 3600 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${(s / 3600).toFixed(1)}h` : `${Math.round(s / 86400)}d`;
};

export function registerEtcd(program: Command, io: CliIo): void {
  const etcd = program.command('etcd').description('etcd snapshots: take one now, list them, restore one');

  withOutput(withClusterFile(etcd.command('snapshot').description('take a snapshot now on every etcd node (checked, pruned and copied as the scheduled ones)'))).action(async (flags: ClusterFlags & OutputFlags) => {
    const { cluster, access: a } = await access(io, flags);
    try {
      const taken = await takeSnapshots(cluster, a.pool);
      if (flags.output === 'json') writeJson(io.stdout, taken);
      else for (const t of taken) writeLine(io.stdout, `${t.node}: ${t.path} (${(t.ms / 1000).toFixed(1)} s)`);
    } finally {
      await a.close();
    }
  });

  withOutput(withClusterFile(etcd.command('snapshots').description('list the snapshots kept on the etcd nodes and at the copy target'))).action(async (flags: ClusterFlags & OutputFlags) => {
    const { cluster, access: a } = await access(io, flags);
    try {
      const list = await listSnapshots(cluster, a.pool);
      if (flags.output === 'json') return writeJson(io.stdout, list);
      if (list.length === 0) return writeLine(io.stdout, 'no snapshots yet: `vmstation etcd snapshot` takes one');
      writeLine(io.stdout, formatTable(['NAME', 'ON', 'OF', 'WHERE', 'SIZE', 'AGE', 'SHA256'], list.map((e) => [e.name, e.node, e.of, e.place === 'local' ? e.dir : `copy: ${e.dir}`, `${(e.bytes / 1024).toFixed(0)} KiB`, age(e.time), e.sha256?.slice(0, 12) ?? '-'])));
    } finally {
      await a.close();
    }
  });

  withClusterFile(etcd.command('restore').description("restore a snapshot into every etcd member with the method's documented restore (asks for the cluster name)"))
    .argument('<snapshot>', 'a name from `etcd snapshots` (NODE:NAME to pick where), or a local file path')
    .option('--yes', 'do not ask for the cluster name')
    .action(async (snapshot: string, flags: ClusterFlags & { yes?: boolean }) => {
      const { cluster, access: a } = await access(io, flags);
      try {
        const source = await locateSnapshot(cluster, a.pool, snapshot, io.cwd);
        // The maintenance hold seam (src/deploy/hold.ts): the whole cluster restarts on the restored state.
        const r = await withHold(await maintenanceHolds(cluster, deployPaths(cluster, io.env).kubeconfig, a.ensureAwake, 'etcd-restore'), { reason: `vmstation etcd restore of ${source.name}`, nodes: cluster.spec.nodes.map((n) => n.name), maxMs: 3600_000 }, () =>
          runRestore({ cluster, pool: a.pool, source, yes: flags.yes === true, out: io.stdout, input: io.stdin }),
        );
        writeLine(io.stdout, `restored ${source.name} into ${cluster.metadata.name} in ${(r.ms / 1000).toFixed(1)} s (${r.steps} steps)`);
      } finally {
        await a.close();
      }
    });
}
