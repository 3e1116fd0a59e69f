// vmstation render [-f FILE] -o DIR [--only NAME,...]: writes the render tree.
import type { Command } from 'commander';
import { ALL_RENDERERS, renderCluster } from '../../render/index.js';
import { unknownRendererNames } from '../../render/registry.js';
import { ExitCode, VmstationError } from '../../errors.js';
import { writeRenderTree } from '../../render/write.js';
import { loadCluster } from '../cluster-file.js';
import { powerImageFor } from '../power-image.js';
import { writeLine, type CliIo } from '../io.js';
import { withClusterFile, type ClusterFlags } from '../options.js';

export function registerRender(program: Command, io: CliIo): void {
  withClusterFile(program.command('render').description('write every rendered file (Ansible, Kubespray, manifests, service configs) to a folder'))
    .requiredOption('-o, --out <dir>', 'output folder (created; files vmstation rendered before are replaced)')
    .option('--only <renderers>', 'comma-separated renderer names')
    .action(async (flags: ClusterFlags & { out: string; only?: string }) => {
      const only = flags.only?.split(',').map((s) => s.trim());
      const unknown = only ? unknownRendererNames(ALL_RENDERERS, only) : [];
      if (unknown.length > 0)
        throw new VmstationError({
          code: 'unknown-renderer',
          message: `--only: no renderer named ${unknown.map((n) => `"${n}"`).join(', ')}`,
          hint: `the renderers are: ${ALL_RENDERERS.map((r) => r.name).join(', ')}`,
          exitCode: ExitCode.usage,
        });
      const { cluster } = await loadCluster(io, flags);
      const image = await powerImageFor(cluster, io.env);
      const artifacts = renderCluster(cluster, only, { powerImage: image.reference });
      const written = await writeRenderTree(io.cwd, flags.out, artifacts);
      writeLine(io.stdout, `rendered ${artifacts.length} files to ${written}`);
    });
}
