// Where drivers get secret values (BMC credentials, SecureOn passwords): the vault when the CLI
// runs with a vault password, a directory of mounted Secret keys in the cluster.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SecretsFile } from '../../secrets/store.js';

export interface SecretSource {
  /** The value of vault secret `name`, or undefined when it is not there. */
  get(name: string): Promise<string | undefined>;
}

export function vaultSecrets(store: Pick<SecretsFile, 'get'>): SecretSource {
  return { get: (name) => Promise.resolve(store.get(name)) };
}

/** A mounted Secret: one file per key, named like the vault secret. */
export function directorySecrets(dir: string): SecretSource {
  return {
    async get(name) {
      if (name.includes('/') || name.startsWith('.')) return undefined;
      try {
        return (await readFile(path.join(dir, name), 'utf8')).replace(/\r?\n$/, '');
      } catch {
        return undefined;
      }
    },
  };
}

export function mapSecrets(values: Record<string, string>): SecretSource {
  return { get: (name) => Promise.resolve(values[name]) };
}
