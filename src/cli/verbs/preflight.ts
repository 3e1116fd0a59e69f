// vmstation preflight [-f FILE] [--node N,...] [--output json]
import type { Command } from 'commander';
import { ExitCode, ExitWith } from '../../errors.js';
import { deployPaths, kubeIfPresent, nodeAccess, secretSource } from '../../deploy/context.js';
import { formatPreflight, runPreflight } from '../../deploy/preflight/run.js';
import { readVaultPassword } from '../../secrets/store.js';
import { loadCluster, secretsPath } from '../cluster-file.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';
import { userError } from '../../errors.js';

export function registerPreflight(program: Command, io: CliIo): void {
  const cmd = program.command('preflight').description('check every node over SSH (waking sleepers first): OS, resources, swap, ports, clock, SELinux, modules, leftovers, sudo, WoL, suspend');
  withOutput(withClusterFile(cmd))
    .option('--node <names>', 'only these nodes (comma-separated)')
    .action(async (flags: ClusterFlags & OutputFlags & { node?: string }) => {
      const { cluster, dir } = await loadCluster(io, flags);
      const only = flags.node?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
      const unknown = only.filter((n) => !cluster.spec.nodes.some((x) => x.name === n));
      if (unknown.length > 0) throw userError('unknown-node', `no node named ${unknown.join(', ')} in the cluster file`, `nodes are: ${cluster.spec.nodes.map((n) => n.name).join(', ')}`);
      const password = await readVaultPassword(flags.vaultPasswordFile, io.env);
      const { source } = await secretSource(secretsPath(dir, cluster), password);
      const access = nodeAccess(cluster, { secrets: source, kube: await kubeIfPresent(deployPaths(cluster, io.env).kubeconfig) });
      try {
        const report = await runPreflight(cluster, { pool: access.pool, ensureAwake: access.ensureAwake, now: Date.now }, only);
        if (flags.output === 'json') writeJson(io.stdout, report);
        else writeLine(io.stdout, formatPreflight(report));
        if (!report.ok) throw new ExitWith(ExitCode.userError);
      } finally {
        await access.close();
      }
    });
}
