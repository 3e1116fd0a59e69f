// vmstation reset [-f FILE] [--yes] [--kubespray-dir PATH]
import path from 'node:path';
import type { Command } from 'commander';
import { deployPaths } from '../../deploy/context.js';
import { kubesprayLocation } from '../../deploy/kubespray.js';
import { runReset } from '../../deploy/reset.js';
import { knownHostsPathOf } from '../../deploy/ssh-pool.js';
import { renderCluster } from '../../render/index.js';
import { loadCluster } from '../cluster-file.js';
import { writeLine, type CliIo } from '../io.js';
import { withClusterFile, type ClusterFlags } from '../options.js';

export function registerReset(program: Command, io: CliIo): void {
  const cmd = program.command('reset').description("remove Kubernetes from every node with the method's own reset (asks for the cluster name)");
  withClusterFile(cmd)
    .option('--yes', 'do not ask for the cluster name')
    .option('--kubespray-dir <path>', 'use this Kubespray checkout instead of the cached v2.31.0')
    .option('--kubespray-python <python>', 'Python used to create the Kubespray venv', 'python3')
    .action(async (flags: ClusterFlags & { yes?: boolean; kubesprayDir?: string; kubesprayPython: string }) => {
      const { cluster } = await loadCluster(io, flags);
      const paths = deployPaths(cluster, io.env);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const summary = await runReset({
        cluster,
        artifacts: renderCluster(cluster),
        renderDir: path.join(paths.stateDir, 'render'),
        knownHosts: knownHostsPathOf(cluster, io.env),
        kubespray: { loc: kubesprayLocation(paths.cacheDir, flags.kubesprayDir ? path.resolve(io.cwd, flags.kubesprayDir) : undefined), python: flags.kubesprayPython },
        stateFile: paths.stateFile,
        kubeconfig: paths.kubeconfig,
        logFile: path.join(paths.logsDir, `reset-${stamp}.log`),
        yes: flags.yes === true,
        ansibleEnv: io.env,
        out: io.stdout,
        input: io.stdin,
      });
      writeLine(io.stdout, summary);
    });
}
