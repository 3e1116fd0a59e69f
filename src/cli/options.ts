// Flags shared by verbs, so every verb spells them the same way.
import { Option, type Command } from 'commander';
import type { OutputFormat } from './io.js';

export interface ClusterFlags {
  file?: string;
  vaultPasswordFile?: string;
}

export interface OutputFlags {
  output: OutputFormat;
}

export function withClusterFile(cmd: Command): Command {
  return cmd
    .option('-f, --file <file>', 'the cluster file (default: vmstation.yaml)')
    .option('--vault-password-file <file>', 'file whose first line is the secrets vault password (or set VMSTATION_VAULT_PASSWORD_FILE)');
}

export function withOutput(cmd: Command): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}
