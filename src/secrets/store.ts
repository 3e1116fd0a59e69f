// The secrets file: a YAML mapping of name -> value, encrypted in the Ansible Vault 1.1 format
// so `ansible-vault view/edit` keep working on it. Values never go to argv, logs or renders.
import { randomBytes } from 'node:crypto';
import { chmod, chown, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { errorMessage, fileSystemError, userError } from '../errors.js';

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

/**
 * What is wrong with the structure of an Ansible Vault 1.1 file, or undefined when it is intact.
 * The format (ansible/parsing/vault/__init__.py): a header line, then hex lines that decode to
 * three hex lines: a 32-byte salt, a 32-byte HMAC-SHA256 and the AES-CTR ciphertext. A file that
 * breaks this is damaged; only an intact one can tell a wrong password (its HMAC does not match).
 */
export function vaultDamage(vaultText: string): string | undefined {
  const [header, ...lines] = vaultText.replace(/\r\n/g, '\n').trimEnd().split('\n');
  if (!header?.startsWith('$ANSIBLE_VAULT;1.1;AES256') && !header?.startsWith('$ANSIBLE_VAULT;1.2;AES256')) return `its header is "${header ?? ''}", not $ANSIBLE_VAULT;1.1;AES256`;
  const body = lines.join('');
  if (body === '') return 'it has a header but no encrypted content';
  if (!/^[0-9a-f]*$/i.test(body)) return 'its content has characters that are not hexadecimal';
  if (body.length % 2 !== 0) return 'its hexadecimal content has an odd length (cut off?)';
  const parts = Buffer.from(body, 'hex').toString('latin1').split('\n');
  if (parts.length !== 3) return `its content decodes to ${parts.length} part(s) instead of salt, HMAC and ciphertext (cut off?)`;
  const [salt, hmac, cipher] = parts as [string, string, string];
  if (!/^[0-9a-f]{64}$/i.test(salt)) return 'its salt is not 32 bytes';
  if (!/^[0-9a-f]{64}$/i.test(hmac)) return 'its HMAC is not 32 bytes';
  if (!/^([0-9a-f]{32})+$/i.test(cipher)) return 'its ciphertext is not a whole number of AES blocks (cut off?)';
  return undefined;
}

/** Decrypts vault text into name -> value. */
export async function decryptSecrets(vaultText: string, password: string, file: string): Promise<Map<string, string>> {
  if (!vaultText.startsWith('$ANSIBLE_VAULT;'))
    throw userError('secrets-not-encrypted', `${file} is not an Ansible Vault file`, 'encrypt it with `ansible-vault encrypt FILE`, or remove it and use `vmstation secrets set NAME`');
  const damage = vaultDamage(vaultText);
  if (damage) throw userError('secrets-damaged', `${file} is damaged: ${damage}`, 'restore it from a backup (or version control); the password cannot be the problem');
  let plain: string | undefined;
  try {
    const { Vault } = await import('ansible-vault'); // loaded only when a vault is opened
    plain = await new Vault({ password }).decrypt(vaultText, undefined);
  } catch (err) {
    const message = errorMessage(err);
    if (/integrity|hmac|decrypt/i.test(message))
      throw userError(
        'vault-password-wrong',
        `cannot decrypt ${file}: wrong vault password (its integrity check failed; the file's structure is intact)`,
        'check the vault password file (`ansible-vault view FILE` must accept the same password); if the password is right, the encrypted content was changed',
      );
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
  static async open(file: string, password: string): Promise<SecretsFile> {
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw userError('secrets-unreadable', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, 'check the file permissions');
    }
    const values = text === undefined ? new Map<string, string>() : await decryptSecrets(text, password, file);
    return new SecretsFile(file, password, values);
  }

  /**
   * Opens, changes and saves the file while holding its lock, so concurrent `secrets set` runs
   * (10 at once kept only 4 values before) each see the others' writes.
   */
  static async update(file: string, password: string, change: (store: SecretsFile) => void): Promise<SecretsFile> {
    const target = await writeTarget(file);
    let release: (() => Promise<void>) | undefined;
    try {
      // Loaded here, not at start-up: every verb that reads the cluster file imports this module,
      // and only writes need the lock (proper-lockfile brings graceful-fs and signal-exit).
      const { default: lockfile } = await import('proper-lockfile');
      const lock = (retries: number) => lockfile.lock(target, { realpath: false, stale: LOCK_STALE_MS, retries: { retries, minTimeout: 50, maxTimeout: 500 } });
      // proper-lockfile retries on any error: a missing or read-only folder would be retried for
      // about 30 s before the user hears of it. Only a lock held by another run is worth waiting for.
      release = await lock(0).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return lock(60);
        throw err;
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw fileSystemError(err) ?? err;
      throw userError('secrets-locked', `${file} is locked by another vmstation (${errorMessage(err)})`, `wait for it to finish; if none runs, remove ${target}.lock`);
    }
    try {
      const store = await SecretsFile.open(target, password);
      change(store);
      await store.save();
      return new SecretsFile(file, password, store.values);
    } finally {
      await release();
    }
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

  /** Stores one value in the file now, under its lock (other names written meanwhile are kept), and in this view. */
  async put(name: string, value: string): Promise<void> {
    await SecretsFile.update(this.path, this.password, (store) => store.set(name, value));
    this.values.set(name, value);
  }

  /**
   * Writes atomically (temp file + rename) so a crash never leaves half a vault. Through a
   * symlink to its target (the link stays a link); an existing file keeps its mode and owner,
   * a new one is 0600.
   */
  async save(): Promise<void> {
    const text = await encryptSecrets(this.values, this.password);
    const target = await writeTarget(this.path);
    const existing = await stat(target).catch(() => undefined);
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, text, { mode: 0o600 });
      await chmod(tmp, existing ? existing.mode & 0o7777 : 0o600);
      if (existing && process.getuid?.() === 0) await chown(tmp, existing.uid, existing.gid);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

/** A lock older than this is a crashed run's: proper-lockfile refreshes live locks meanwhile. */
const LOCK_STALE_MS = 10_000;

/** The file a write must replace: the end of the symlink chain, or the path itself when new. */
async function writeTarget(file: string, depth = 0): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    // Not there (yet): a dangling symlink's target (followed), or the path in its real folder.
    const link = await readlink(file).catch(() => undefined);
    if (link !== undefined && depth < 32) return writeTarget(path.resolve(path.dirname(file), link), depth + 1);
    const dir = await realpath(path.dirname(file)).catch(() => path.dirname(file));
    return path.join(dir, path.basename(file));
  }
}

export const SECRET_NAME_PATTERN = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;
