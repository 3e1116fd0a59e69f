// vmstation host [-f FILE] [--check] [--tags prep,power,ntp,syslog,kerberos,firewall] [--node N,...]
// Applies the host layer with ansible-playbook (until `deploy --phase host` takes it over).
import path from 'node:path';
import type { Command } from 'commander';
import { Listr } from 'listr2';
import { formatHostResult, type AnsibleEvent } from '../../adapters/ansible/index.js';
import { nodeAccess, secretSource } from '../../deploy/context.js';
import { applyHostLayer, type HostApplyResult } from '../../host/apply.js';
import { HOST_LAYER_TAGS } from '../../render/ansible/project.js';
import { SecretsFile, readVaultPassword, requirePassword } from '../../secrets/store.js';
import { displayPath, loadCluster, secretsPath } from '../cluster-file.js';
import { writeLine, type CliIo } from '../io.js';
import { withClusterFile, type ClusterFlags } from '../options.js';

interface HostFlags extends ClusterFlags {
  check?: boolean;
  tags?: string;
  node?: string;
  workDir?: string;
}

const list = (s: string | undefined) => s?.split(',').map((x) => x.trim()).filter(Boolean) ?? [];

/** Plain progress lines: one per task result that matters (changed, failed, unreachable). */
function plainProgress(io: CliIo): (e: AnsibleEvent) => void {
  return (e) => {
    if (e.event === 'play_start') writeLine(io.stdout, `==> ${e.play}`);
    if (e.event === 'host_result' && e.status !== 'ok' && e.status !== 'skipped') writeLine(io.stdout, `  ${formatHostResult(e)}`);
  };
}

function summary(io: CliIo, r: HostApplyResult): void {
  const hosts = Object.entries(r.run.stats).sort(([a], [b]) => a.localeCompare(b));
  for (const [h, s] of hosts) writeLine(io.stdout, `${h.padEnd(20)} ok=${s.ok} changed=${s.changed} failed=${s.failed} unreachable=${s.unreachable} skipped=${s.skipped}`);
  const changed = hosts.reduce((n, [, s]) => n + s.changed, 0);
  writeLine(io.stdout, `host layer applied in ${(r.run.durationMs / 1000).toFixed(1)}s: ${changed} change(s); log ${displayPath(io, r.run.logFile)}`);
}

export function registerHost(program: Command, io: CliIo): void {
  withClusterFile(program.command('host').description('apply the host layer with Ansible: prep, Wake-on-LAN/suspend readiness, chrony, central syslog, Kerberos, firewall'))
    .option('--check', 'dry run: report what would change (ansible-playbook --check --diff)')
    .option('--tags <tags>', `only these parts (comma-separated: ${HOST_LAYER_TAGS.join(', ')})`)
    .option('--node <names>', 'only these nodes (comma-separated)')
    .option('--work-dir <dir>', 'where the rendered project and logs go (default .vmstation next to the cluster file)')
    .action(async (flags: HostFlags) => {
      const { cluster, dir } = await loadCluster(io, flags);
      const workDir = path.resolve(io.cwd, flags.workDir ?? path.join(dir, '.vmstation'));
      const password = await readVaultPassword(flags.vaultPasswordFile, io.env);
      const secrets = async () => SecretsFile.open(secretsPath(dir, cluster), requirePassword(password));
      // Sleeping nodes are woken first (Wake-on-LAN, then IPMI), as the deploy does.
      const access = nodeAccess(cluster, { secrets: (await secretSource(secretsPath(dir, cluster), password)).source });
      const base = {
        ensureAwake: access.ensureAwake,
        cluster,
        workDir,
        tags: list(flags.tags),
        nodes: list(flags.node),
        check: Boolean(flags.check),
        secrets,
        notice: (line: string) => writeLine(io.stderr, line),
      };
      let result: HostApplyResult;
      try {
      if (io.isTTY) {
        let latest = 'starting';
        const tasks = new Listr(
          [
            {
              title: `ansible-playbook site.yaml${flags.check ? ' --check' : ''}`,
              task: async (_ctx, task) => {
                result = await applyHostLayer({
                  ...base,
                  onEvent: (e) => {
                    if (e.event === 'task_start') task.title = `ansible-playbook: ${e.role ? `${e.role}: ` : ''}${e.task.replace(/^\S+ : /, '')}`;
                    if (e.event === 'host_result' && e.status !== 'ok' && e.status !== 'skipped') task.output = latest = formatHostResult(e);
                  },
                });
                task.title = `ansible-playbook site.yaml: done (${latest})`;
              },
              rendererOptions: { persistentOutput: true, outputBar: 5 },
            },
          ],
          { exitOnError: true, rendererOptions: { collapseErrors: false } },
        );
        await tasks.run();
      } else {
        result = await applyHostLayer({ ...base, onEvent: plainProgress(io) });
      }
      } finally {
        await access.close();
      }
      summary(io, result!);
    });
}
