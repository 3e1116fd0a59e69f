// vmstation render [-f FILE] -o DIR [--only NAME,...]: writes the render tree.
import type { Command } from 'commander';
import { renderCluster } from '../../render/index.js';
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
      const { cluster } = await loadCluster(io, flags);
      const image = await powerImageFor(cluster, io.env);
      const artifacts = renderCluster(cluster, flags.only?.split(',').map((s) => s.trim()), { powerImage: image.reference });
      const written = await writeRenderTree(io.cwd, flags.out, artifacts);
      writeLine(io.stdout, `rendered ${artifacts.length} files to ${written}`);
    });
}
