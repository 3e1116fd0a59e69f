// vmstation secrets set|get|list|rm: the encrypted secrets file (Ansible Vault format).
// Values come from standard input only, never from argv.
import path from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { userError } from '../../errors.js';
import { requirePassword, readVaultPassword, SECRET_NAME_PATTERN, SecretsFile } from '../../secrets/store.js';
import { displayPath, readClusterText } from '../cluster-file.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';

interface SecretsFlags extends ClusterFlags {
  secretsFile?: string;
}

/** The secrets file: --secrets-file, else spec.secrets.file of the cluster file (read leniently). */
async function resolveSecretsFile(io: CliIo, flags: SecretsFlags): Promise<string> {
  if (flags.secretsFile) return path.resolve(io.cwd, flags.secretsFile);
  const { absolute, text } = await readClusterText(io, flags.file);
  const doc = parseDocument(text);
  const named = doc.getIn(['spec', 'secrets', 'file']);
  return path.resolve(path.dirname(absolute), typeof named === 'string' ? named : 'secrets.vault.yaml');
}

async function storeLocation(io: CliIo, flags: SecretsFlags): Promise<{ file: string; password: string }> {
  const file = await resolveSecretsFile(io, flags);
  const password = requirePassword(await readVaultPassword(flags.vaultPasswordFile, io.env));
  return { file, password };
}

async function openStore(io: CliIo, flags: SecretsFlags): Promise<SecretsFile> {
  const { file, password } = await storeLocation(io, flags);
  return SecretsFile.open(file, password);
}

function checkName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name))
    throw userError('bad-secret-name', `"${name}" is not a valid secret name`, 'use lower-case letters, digits, "-", "_" and "."', { exitCode: 2 });
}

async function readStdin(io: CliIo, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const bytes = Buffer.concat(chunks);
  // The vault holds YAML text: bytes that are not UTF-8 text would come back changed.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = '\0';
  }
  if (text.includes('\0'))
    throw userError('secret-binary', `the value for ${name} on standard input is binary (not UTF-8 text); it would not come back unchanged`, `encode it first: \`base64 -w0 < FILE | vmstation secrets set ${name}\`, and decode where it is used`);
  // One trailing newline (from `echo` or a terminal) is not part of the value.
  return text.replace(/\r?\n$/, '');
}

function withSecretsFile(cmd: Command): Command {
  return withClusterFile(cmd).option('--secrets-file <file>', 'the secrets file (default: spec.secrets.file of the cluster file)');
}

export function registerSecrets(program: Command, io: CliIo): void {
  const secrets = program.command('secrets').description('manage the encrypted secrets file (Ansible Vault format)');

  withSecretsFile(secrets.command('set <name>').description('store a secret; the value is read from standard input')).action(async (name: string, flags: SecretsFlags) => {
    checkName(name);
    const { file, password } = await storeLocation(io, flags);
    await SecretsFile.open(file, password); // a wrong password or a damaged file stops us before the value is read
    if (io.isTTY && io.stdin === process.stdin && process.stdin.isTTY) writeLine(io.stderr, `value for ${name} (end with Ctrl-D):`);
    const value = await readStdin(io, name);
    if (value === '') throw userError('empty-secret', `no value for ${name} on standard input`, `pipe it in, e.g. \`vmstation secrets set ${name} < file\``);
    await SecretsFile.update(file, password, (store) => store.set(name, value));
    writeLine(io.stderr, `stored ${name} in ${displayPath(io, file)}`);
  });

  withOutput(withSecretsFile(secrets.command('list').description('list secret names (never values)'))).action(async (flags: SecretsFlags & OutputFlags) => {
    const store = await openStore(io, flags);
    if (flags.output === 'json') writeJson(io.stdout, store.names());
    else for (const n of store.names()) writeLine(io.stdout, n);
  });

  withSecretsFile(secrets.command('get <name>').description('print one secret value to standard output')).action(async (name: string, flags: SecretsFlags) => {
    const store = await openStore(io, flags);
    const value = store.get(name);
    if (value === undefined) throw userError('secret-not-found', `no secret named ${name} in ${displayPath(io, store.path)}`, `list names with \`vmstation secrets list\`; add it with \`vmstation secrets set ${name}\``);
    io.stdout.write(value);
    if (io.isTTY) io.stdout.write('\n');
  });

  withSecretsFile(secrets.command('rm <name>').description('remove a secret')).action(async (name: string, flags: SecretsFlags) => {
    const { file, password } = await storeLocation(io, flags);
    await SecretsFile.update(file, password, (store) => {
      if (!store.delete(name)) throw userError('secret-not-found', `no secret named ${name} in ${displayPath(io, file)}`, 'list names with `vmstation secrets list`');
    });
    writeLine(io.stderr, `removed ${name}`);
  });
}
