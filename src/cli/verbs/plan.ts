// vmstation plan [-f FILE] [--output json]: what deploy would do, changing nothing.
import path from 'node:path';
import type { Command } from 'commander';
import { deployPaths } from '../../deploy/context.js';
import { observe } from '../../deploy/observe.js';
import { formatPlan, planDeploy } from '../../deploy/plan.js';
import { renderCluster } from '../../render/index.js';
import { loadCluster } from '../cluster-file.js';
import { powerImageFor } from '../power-image.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

export function registerPlan(program: Command, io: CliIo): void {
  const cmd = program.command('plan').description('print the ordered deploy phases and steps for the cluster file (changes nothing)');
  withOutput(withClusterFile(cmd))
    .option('--observe', 'look first: which nodes answer (asleep ones get a wake step) and what the cluster runs (versions, Nodes, roles: nodes to add, remove or upgrade; kubeconfig from deploy, or --kubeconfig)')
    .option('--kubeconfig <file>', 'with --observe: the kubeconfig to ask')
    .action(async (flags: ClusterFlags & OutputFlags & { observe?: boolean; kubeconfig?: string }) => {
    const { cluster } = await loadCluster(io, flags);
    const paths = deployPaths(cluster, io.env);
    const observed = flags.observe ? await observe(cluster, flags.kubeconfig ? path.resolve(io.cwd, flags.kubeconfig) : paths.kubeconfig, undefined, paths.deployedNodes) : undefined;
    const powerImage = await powerImageFor(cluster, io.env);
    const manifests = renderCluster(cluster, undefined, { powerImage: powerImage.reference })
      .filter((a) => a.path.startsWith('manifests/'))
      .map((a) => ({ path: a.path, component: a.component }));
    const plan = planDeploy({ cluster, manifests, observed, powerImage });
    if (flags.output === 'json') writeJson(io.stdout, plan);
    else writeLine(io.stdout, formatPlan(plan));
  });
}
