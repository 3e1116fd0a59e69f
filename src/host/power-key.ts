// The power manager's own SSH key (issue 17 §4): kept in the secrets file under `power-ssh-key`,
// created there by the host layer when missing (or taken from there when the operator stored one
// with `vmstation secrets set power-ssh-key`). Only its public half leaves this machine through
// Ansible; the private half goes only into the power manager's Secret, at deploy time.
// ssh2 is CommonJS and sets `utils` in a way Node's ESM loader cannot see as a named export
// ("does not provide an export named 'utils'" from the built CLI): take it off the default.
import ssh2 from 'ssh2';

const { utils } = ssh2;
import { userError } from '../errors.js';
import { POWER_KEY_COMMENT, POWER_KEY_SECRET } from '../render/ansible/power-key.js';

export interface PowerKeyVault {
  get(name: string): string | undefined;
  /** Stores a value in the secrets file (under its lock) and in this view of it. */
  put(name: string, value: string): Promise<void>;
}

export interface PowerKey {
  /** `ssh-ed25519 AAAA... vmstation-power-manager`, for authorized_keys. */
  publicKey: string;
  /** True when this call generated it. */
  created: boolean;
}

/** The public line of an OpenSSH private key; a clear error when it is not one or has a passphrase. */
export function powerPublicKey(privateKey: string): string {
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error || !key.isPrivateKey())
    throw userError(
      'power-key-invalid',
      `the secrets file's ${POWER_KEY_SECRET} is not an unencrypted OpenSSH private key${key instanceof Error ? ` (${key.message})` : ''}`,
      `remove it (vmstation secrets rm ${POWER_KEY_SECRET}) and run vmstation host again to create one, or store a key without a passphrase`,
    );
  return `${key.type} ${key.getPublicSSH().toString('base64')} ${POWER_KEY_COMMENT}`;
}

/** The key from the secrets file, generated (ed25519) and stored first when it is not there. */
export async function ensurePowerKey(vault: PowerKeyVault, generate: () => string = generatePowerKey): Promise<PowerKey> {
  const existing = vault.get(POWER_KEY_SECRET);
  if (existing !== undefined) return { publicKey: powerPublicKey(existing), created: false };
  const privateKey = generate();
  const publicKey = powerPublicKey(privateKey);
  await vault.put(POWER_KEY_SECRET, privateKey);
  return { publicKey, created: true };
}

export function generatePowerKey(): string {
  return utils.generateKeyPairSync('ed25519', { comment: POWER_KEY_COMMENT }).private;
}
