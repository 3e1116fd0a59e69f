// vmstation validate [-f FILE] [--output json]
import type { Command } from 'commander';
import { ExitCode, ExitWith } from '../../errors.js';
import { summarizeCluster } from '../../config/summary.js';
import { checkClusterFile, printProblems } from '../cluster-file.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

export function registerValidate(program: Command, io: CliIo): void {
  const cmd = program.command('validate').description('check the cluster file and print a summary of the cluster');
  withOutput(withClusterFile(cmd)).action(async (flags: ClusterFlags & OutputFlags) => {
    const loaded = await checkClusterFile(io, flags);
    const { problems, cluster } = loaded.result;
    const errors = problems.filter((p) => p.severity === 'error').length;
    if (flags.output === 'json') {
      writeJson(io.stdout, problems);
    } else {
      printProblems(io, problems);
      if (cluster) {
        const warnings = problems.length - errors;
        writeLine(io.stdout, `${loaded.file}: valid${warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}`);
        writeLine(io.stdout);
        writeLine(io.stdout, summarizeCluster(cluster));
      } else {
        writeLine(io.stderr, `${loaded.file}: ${errors} error${errors === 1 ? '' : 's'}`);
      }
    }
    if (errors > 0) throw new ExitWith(ExitCode.userError);
  });
}
