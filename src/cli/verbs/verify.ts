// vmstation verify [-f FILE] [--kubeconfig FILE] [--output json]
import path from 'node:path';
import type { Command } from 'commander';
import { ExitCode, ExitWith } from '../../errors.js';
import { deployPaths, nodeAccess, secretSource } from '../../deploy/context.js';
import { parseManifests } from '../../deploy/manifests.js';
import { httpGet, kubeClient } from '../../deploy/steps.js';
import { formatVerify, probeNode, runVerify } from '../../deploy/verify.js';
import { renderCluster } from '../../render/index.js';
import { readVaultPassword } from '../../secrets/store.js';
import { loadCluster, secretsPath } from '../cluster-file.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

export function registerVerify(program: Command, io: CliIo): void {
  const cmd = program.command('verify').description('check the deployed cluster: nodes, rollouts, Prometheus targets, Grafana, Loki, NTP offsets, syslog');
  withOutput(withClusterFile(cmd))
    .option('--kubeconfig <file>', 'kubeconfig (default: the one deploy fetched)')
    .action(async (flags: ClusterFlags & OutputFlags & { kubeconfig?: string }) => {
      const { cluster, dir } = await loadCluster(io, flags);
      const paths = deployPaths(cluster, io.env);
      const password = await readVaultPassword(flags.vaultPasswordFile, io.env);
      const { source } = await secretSource(secretsPath(dir, cluster), password);
      const access = nodeAccess(cluster, { secrets: source });
      try {
        const rendered = parseManifests(renderCluster(cluster).filter((a) => a.path.startsWith('manifests/'))).map((o) => o.object);
        const report = await runVerify(cluster, {
          client: kubeClient(flags.kubeconfig ? path.resolve(io.cwd, flags.kubeconfig) : paths.kubeconfig),
          rendered,
          pool: access.pool,
          httpGet,
          reachable: (n) => probeNode(cluster, n),
          now: Date.now,
        });
        if (flags.output === 'json') writeJson(io.stdout, report);
        else writeLine(io.stdout, formatVerify(report));
        if (!report.ok) throw new ExitWith(ExitCode.userError);
      } finally {
        await access.close();
      }
    });
}
