// vmstation plan [-f FILE] [--output json]: what deploy would do, changing nothing.
import type { Command } from 'commander';
import { formatPlan, planDeploy } from '../../deploy/plan.js';
import { renderCluster } from '../../render/index.js';
import { loadCluster } from '../cluster-file.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

export function registerPlan(program: Command, io: CliIo): void {
  const cmd = program.command('plan').description('print the ordered deploy phases and steps for the cluster file (changes nothing)');
  withOutput(withClusterFile(cmd)).action(async (flags: ClusterFlags & OutputFlags) => {
    const { cluster } = await loadCluster(io, flags);
    const manifests = renderCluster(cluster)
      .filter((a) => a.path.startsWith('manifests/'))
      .map((a) => ({ path: a.path, component: a.component }));
    const plan = planDeploy({ cluster, manifests });
    if (flags.output === 'json') writeJson(io.stdout, plan);
    else writeLine(io.stdout, formatPlan(plan));
  });
}
