// vmstation init [--name N] [--nodes ...] [-f FILE]: writes a commented starter file.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseNodesFlag, starterFile } from '../../config/starter.js';
import { userError } from '../../errors.js';
import { clusterFilePath, displayPath } from '../cluster-file.js';
import { writeLine, type CliIo } from '../io.js';

export function registerInit(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('write a commented starter cluster file (never overwrites)')
    .option('-f, --file <file>', 'where to write it', 'vmstation.yaml')
    .option('--name <name>', 'cluster name', 'homelab')
    .option('--nodes <list>', 'nodes as NAME=ADDRESS[/ROLE],... (first is the control plane)')
    .action(async (flags: { file: string; name: string; nodes?: string }) => {
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.name))
        throw userError('bad-name', `--name "${flags.name}" is not a valid cluster name`, 'use lower-case letters, digits and "-"', { exitCode: 2 });
      const nodes = flags.nodes === undefined ? undefined : parseNodesFlag(flags.nodes);
      const target = clusterFilePath(io, flags.file);
      const shown = displayPath(io, target);
      try {
        await writeFile(target, starterFile(flags.name, nodes), { flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw userError('file-exists', `${shown} already exists; not overwriting it`, 'remove it first, or write elsewhere with -f FILE');
        throw userError('file-unwritable', `cannot write ${shown}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check the folder exists and is writable');
      }
      writeLine(io.stdout, `wrote ${shown}; next: edit it, then run \`vmstation validate -f ${shown}\``);
    });
}
