// The secrets file: a YAML mapping of name -> value, encrypted in the Ansible Vault 1.1 format
// so `ansible-vault view/edit` keep working on it. Values never go to argv, logs or renders.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { userError, errorMessage } from '../errors.js';

export const VAULT_HEADER = '$ANSIBLE_VAULT;1.1;AES256';
export const VAULT_PASSWORD_ENV = 'VMSTATION_VAULT_PASSWORD_FILE';

/** Reads the vault password from a file, as ansible-vault's --vault-password-file does (first line, trimmed). */
export async function readVaultPassword(passwordFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const file = passwordFile ?? env[VAULT_PASSWORD_ENV];
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw userError('vault-password-file-unreadable', `cannot read the vault password file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, `check the path given to --vault-password-file or ${VAULT_PASSWORD_ENV}`);
  }
  const password = text.split('\n')[0]?.trim() ?? '';
  if (!password) throw userError('vault-password-empty', `the vault password file ${file} is empty`, 'write the password on its first line');
  return password;
}

export function requirePassword(password: string | undefined): string {
  if (password === undefined)
    throw userError('vault-password-missing', 'the secrets file needs a vault password', `pass --vault-password-file FILE or set ${VAULT_PASSWORD_ENV}=FILE (the password on the file's first line)`);
  return password;
}

/** Decrypts vault text into name -> value. */
export async function decryptSecrets(vaultText: string, password: string, file: string): Promise<Map<string, string>> {
  if (!vaultText.startsWith('$ANSIBLE_VAULT;'))
    throw userError('secrets-not-encrypted', `${file} is not an Ansible Vault file`, 'encrypt it with `ansible-vault encrypt FILE`, or remove it and use `vmstation secrets set NAME`');
  let plain: string | undefined;
  try {
    const { Vault } = await import('ansible-vault'); // loaded only when a vault is opened
    plain = await new Vault({ password }).decrypt(vaultText, undefined);
  } catch (err) {
    const message = errorMessage(err);
    if (/integrity|hmac|decrypt/i.test(message))
      throw userError('vault-password-wrong', `cannot decrypt ${file}: wrong vault password (integrity check failed)`, 'check the vault password file; `ansible-vault view FILE` must accept the same password');
    throw userError('secrets-unreadable', `cannot decrypt ${file}: ${message}`, 'check that the file is an intact Ansible Vault 1.1 file');
  }
  if (plain === undefined) throw userError('vault-password-wrong', `cannot decrypt ${file}: wrong vault password`, 'check the vault password file');
  let data: unknown;
  try {
    data = parse(plain);
  } catch {
    throw userError('secrets-malformed', `${file} decrypts, but its content is not YAML`, 'run `ansible-vault edit FILE` and make it a mapping of name: value');
  }
  if (data === null || data === undefined) return new Map();
  if (typeof data !== 'object' || Array.isArray(data))
    throw userError('secrets-malformed', `${file} decrypts, but its content is not a mapping of name: value`, 'run `ansible-vault edit FILE` and make it a mapping of name: value');
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) out.set(k, typeof v === 'string' ? v : String(v));
  return out;
}

export async function encryptSecrets(secrets: ReadonlyMap<string, string>, password: string): Promise<string> {
  const sorted = Object.fromEntries([...secrets.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const plain = secrets.size === 0 ? '{}\n' : stringify(sorted, { defaultStringType: 'QUOTE_DOUBLE', lineWidth: 0 });
  const { Vault } = await import('ansible-vault');
  const text = await new Vault({ password }).encrypt(plain, undefined as unknown as string); // no vault id: the 1.1 header
  return text.endsWith('\n') ? text : `${text}\n`;
}

export class SecretsFile {
  private constructor(
    readonly path: string,
    private readonly password: string,
    private readonly values: Map<string, string>,
  ) {}

  /** Opens the file; a missing file is an empty store (created on first save). */
  static async open(path: string, password: string): Promise<SecretsFile> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw userError('secrets-unreadable', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`, 'check the file permissions');
    }
    const values = text === undefined ? new Map<string, string>() : await decryptSecrets(text, password, path);
    return new SecretsFile(path, password, values);
  }

  names(): string[] {
    return [...this.values.keys()].sort();
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  set(name: string, value: string): void {
    this.values.set(name, value);
  }

  delete(name: string): boolean {
    return this.values.delete(name);
  }

  /** Writes atomically (temp file + rename, mode 0600) so a crash never leaves half a vault. */
  async save(): Promise<void> {
    const text = await encryptSecrets(this.values, this.password);
    const tmp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
  }
}

export const SECRET_NAME_PATTERN = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;
