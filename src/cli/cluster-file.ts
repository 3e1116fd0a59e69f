// Loads the cluster file for a verb: reads it, opens the secrets file when it can, validates,
// prints problems. Verbs that need a valid cluster call `loadCluster`.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Cluster } from '../config/model.js';
import { formatProblem, type Problem } from '../config/problems.js';
import type { ValidateInput, ValidateResult } from '../config/validate-core.js';
import { validateTextFast } from '../config/validate-fast.js';
import { VmstationError, isVmstationError, userError } from '../errors.js';
import { SecretsFile, readVaultPassword } from '../secrets/store.js';
import { writeLine, type CliIo } from './io.js';

export const DEFAULT_CLUSTER_FILE = 'vmstation.yaml';

export interface ClusterFileOptions {
  file?: string | undefined;
  vaultPasswordFile?: string | undefined;
}

export interface LoadedCluster {
  file: string;
  /** Folder of the cluster file: relative paths in it (secrets.file) are resolved from here. */
  dir: string;
  result: ValidateResult;
}

export function clusterFilePath(io: CliIo, file: string | undefined): string {
  return path.resolve(io.cwd, file ?? DEFAULT_CLUSTER_FILE);
}

/** Display name of a file: relative to the working folder when inside it. */
export function displayPath(io: CliIo, absolute: string): string {
  const rel = path.relative(io.cwd, absolute);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : absolute;
}

/**
 * Larger files are refused before they are read: a 50 MB file took 15 s and 1.8 GB of memory to
 * parse, while a 1,000-node cluster file is about 120 KiB.
 */
export const MAX_CLUSTER_FILE_BYTES = 4 * 2 ** 20;

export async function readClusterText(io: CliIo, file: string | undefined): Promise<{ absolute: string; shown: string; text: string }> {
  const absolute = clusterFilePath(io, file);
  const shown = displayPath(io, absolute);
  try {
    const size = (await stat(absolute)).size;
    if (size > MAX_CLUSTER_FILE_BYTES)
      throw userError(
        'file-too-large',
        `${shown} is ${(size / 2 ** 20).toFixed(1)} MiB; a cluster file may be at most ${MAX_CLUSTER_FILE_BYTES / 2 ** 20} MiB`,
        'check that -f names the cluster file (a 1,000-node cluster file is about 120 KiB)',
      );
    return { absolute, shown, text: await readFile(absolute, 'utf8') };
  } catch (err) {
    if (isVmstationError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw userError('file-not-found', `${shown}: no such file`, file ? 'check the path given to -f' : `create one with \`vmstation init\`, or name another with -f FILE`);
    throw userError('file-unreadable', `${shown}: cannot read (${code ?? String(err)})`, 'check the file permissions');
  }
}

export function secretsPath(dir: string, cluster: Pick<Cluster, 'spec'>): string {
  return path.resolve(dir, cluster.spec.secrets.file);
}

/**
 * The fast path first; zod (and its exact messages) only when the fast path declines, imported
 * then so that a valid file never loads it (start-up time, issue 16 §7).
 */
async function validateClusterText(input: ValidateInput): Promise<ValidateResult> {
  return validateTextFast(input) ?? (await import('../config/validate.js')).validateTextWithZod(input);
}

/**
 * Validates the cluster file. The secrets file is opened (to check references) when a vault
 * password is available and the file exists; otherwise a warning says the check was skipped.
 */
export async function checkClusterFile(io: CliIo, opts: ClusterFileOptions): Promise<LoadedCluster> {
  const { absolute, shown, text } = await readClusterText(io, opts.file);
  const dir = path.dirname(absolute);
  const first = await validateClusterText({ file: shown, text });
  if (!first.cluster || first.secretRefs.length === 0) return { file: shown, dir, result: first };

  const vaultPath = secretsPath(dir, first.cluster);
  const password = await readVaultPassword(opts.vaultPasswordFile, io.env);
  const exists = await readFile(vaultPath).then(
    () => true,
    () => false,
  );
  if (password !== undefined && exists) {
    const store = await SecretsFile.open(vaultPath, password);
    return { file: shown, dir, result: await validateClusterText({ file: shown, text, secretNames: new Set(store.names()) }) };
  }
  const reason = exists ? 'no vault password was given (--vault-password-file or VMSTATION_VAULT_PASSWORD_FILE)' : `${displayPath(io, vaultPath)} does not exist yet`;
  const warning: Problem = {
    file: shown,
    line: 1,
    column: 1,
    severity: 'warning',
    code: 'secrets-unchecked',
    message: `${first.secretRefs.length} secret reference(s) not checked: ${reason}`,
    hint: exists ? 'pass the vault password to check them' : `create them with \`vmstation secrets set NAME\` (${[...new Set(first.secretRefs.map((r) => r.name))].join(', ')})`,
  };
  return { file: shown, dir, result: { ...first, problems: [...first.problems, warning] } };
}

export function printProblems(io: CliIo, problems: readonly Problem[]): void {
  for (const p of problems) writeLine(io.stderr, formatProblem(p));
}

/** For verbs that need a valid cluster: prints problems and fails with exit 1 on errors. */
export async function loadCluster(io: CliIo, opts: ClusterFileOptions): Promise<{ cluster: Cluster; file: string; dir: string }> {
  const loaded = await checkClusterFile(io, opts);
  const errors = loaded.result.problems.filter((p) => p.severity === 'error');
  printProblems(io, loaded.result.problems.filter((p) => p.severity === 'error' || p.code !== 'secrets-unchecked'));
  if (errors.length > 0 || !loaded.result.cluster) {
    throw new VmstationError({
      code: 'invalid-cluster-file',
      message: `${loaded.file} has ${errors.length} error(s)`,
      hint: `fix them, then run \`vmstation validate -f ${loaded.file}\``,
    });
  }
  return { cluster: loaded.result.cluster, file: loaded.file, dir: loaded.dir };
}
