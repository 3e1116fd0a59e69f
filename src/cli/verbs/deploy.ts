// vmstation deploy [-f FILE] [--phase P | --from P] [--yes] [--dry-run] [--kubespray-dir PATH]
import path from 'node:path';
import type { Command } from 'commander';
import { deployPaths, kubeIfPresent, nodeAccess, secretSource } from '../../deploy/context.js';
import { kubesprayLocation } from '../../deploy/kubespray.js';
import { observeForDeploy } from '../../deploy/observe.js';
import { parseSelection, runDeploy } from '../../deploy/run.js';
import { durationSeconds, isDuration } from '../../config/duration.js';
import { ExitCode, VmstationError } from '../../errors.js';
import { knownHostsPathOf } from '../../deploy/ssh-pool.js';
import { createStepRunner } from '../../deploy/steps.js';
import { renderCluster } from '../../render/index.js';
import { readVaultPassword } from '../../secrets/store.js';
import { loadCluster, secretsPath } from '../cluster-file.js';
import { maintenanceHolds } from '../maintenance-hold.js';
import { powerImageFor } from '../power-image.js';
import type { CliIo } from '../io.js';
import { withClusterFile, type ClusterFlags } from '../options.js';

interface DeployFlags extends ClusterFlags {
  phase?: string;
  from?: string;
  yes?: boolean;
  dryRun?: boolean;
  kubesprayDir?: string;
  kubesprayPython: string;
  kubeconfig?: string;
  renderDir?: string;
  output?: string;
  drainTimeout: string;
  nodeTimeout: string;
}

function durationMs(flag: string, value: string): number {
  if (!isDuration(value)) throw new VmstationError({ code: 'usage', message: `${flag} "${value}" is not a duration`, hint: 'write it like 30s, 2m or 1h', exitCode: ExitCode.usage });
  return durationSeconds(value) * 1000;
}

export function registerDeploy(program: Command, io: CliIo): void {
  const cmd = program.command('deploy').description('execute the plan: preflight, host layer, Kubernetes, add-ons, monitoring, infrastructure, power manager, verify (resumes a failed run)');
  withClusterFile(cmd)
    .option('--phase <phase>', 'run only this phase')
    .option('--from <phase>', 'run this phase and every later one')
    .option('--yes', 'do not ask for confirmation')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--kubespray-dir <path>', 'use this Kubespray checkout instead of cloning v2.31.0 into the cache')
    .option('--kubespray-python <python>', 'Python used to create the Kubespray venv', 'python3')
    .option('--kubeconfig <file>', 'kubeconfig for the manifest phases (default: the one the Kubernetes phase fetched)')
    .option('--render-dir <dir>', 'where the render tree for this deploy is written (default: in the state folder)')
    .option('-o, --output <format>', 'with --dry-run: text or json', 'text')
    .option('--drain-timeout <duration>', 'how long a drain waits for PodDisruptionBudgets and evicted pods (day two)', '2m')
    .option('--node-timeout <duration>', 'how long a joined or upgraded node may take to be Ready (day two)', '10m')
    .action(async (flags: DeployFlags) => {
      const selection = parseSelection(flags.phase, flags.from);
      const drainTimeoutMs = durationMs('--drain-timeout', flags.drainTimeout);
      const nodeWaitTimeoutMs = durationMs('--node-timeout', flags.nodeTimeout);
      const { cluster, dir } = await loadCluster(io, flags);
      const paths = deployPaths(cluster, io.env);
      const powerImage = await powerImageFor(cluster, io.env);
      const artifacts = renderCluster(cluster, undefined, { powerImage: powerImage.reference });
      const renderDir = path.resolve(io.cwd, flags.renderDir ?? path.join(paths.stateDir, 'render'));
      const password = await readVaultPassword(flags.vaultPasswordFile, io.env);
      const { source, store } = await secretSource(secretsPath(dir, cluster), password);
      const kubeconfig = flags.kubeconfig ? path.resolve(io.cwd, flags.kubeconfig) : paths.kubeconfig;
      // A deployed cluster's power manager wakes the nodes it manages (it then knows why they are up).
      const access = nodeAccess(cluster, { secrets: source, kube: await kubeIfPresent(kubeconfig) });
      try {
        await runDeploy({
          cluster,
          artifacts,
          powerImage,
          renderDir,
          stateFile: paths.stateFile,
          logsDir: paths.logsDir,
          selection,
          // Day two: the file is compared with what the cluster reports (when it answers).
          observed: await observeForDeploy(cluster, kubeconfig, paths.deployedNodes),
          // The maintenance hold (src/deploy/hold.ts): the power manager's, or wake-first without one.
          hold: await maintenanceHolds(cluster, kubeconfig, access.ensureAwake, 'deploy'),
          yes: flags.yes === true,
          dryRun: flags.dryRun === true,
          json: flags.output === 'json',
          out: io.stdout,
          input: io.stdin,
          tty: io.isTTY,
          runStep: createStepRunner({
            cluster,
            renderDir,
            access,
            secrets: source,
            secretsStore: store,
            hostWorkDir: path.join(paths.stateDir, 'host'),
            knownHosts: knownHostsPathOf(cluster, io.env),
            // Subprocesses see the verb's environment (tests pass their own).
            ansibleEnv: io.env,
            kubeconfig,
            kubeconfigOut: paths.kubeconfig,
            kubespray: { loc: kubesprayLocation(paths.cacheDir, flags.kubesprayDir ? path.resolve(io.cwd, flags.kubesprayDir) : undefined), python: flags.kubesprayPython },
            deployedNodesFile: paths.deployedNodes,
            drainTimeoutMs,
            nodeWaitTimeoutMs,
            now: Date.now,
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
          }),
        });
      } finally {
        await access.close();
      }
    });
}
