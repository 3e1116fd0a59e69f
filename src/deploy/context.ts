// Where a deploy keeps its things, and the I/O edges every verb of the deploy pipeline shares:
// the persistent SSH pool, the wake-up path through the power drivers, the vault.
import os from 'node:os';
import path from 'node:path';
import type { Cluster } from '../config/model.js';
import { createDrivers } from '../power/drivers/index.js';
import { mapSecrets, vaultSecrets, type SecretSource } from '../power/drivers/secrets.js';
import { SecretsFile } from '../secrets/store.js';
import { SshPool, knownHostsPathOf, type SshOpen } from './ssh-pool.js';
import { ensureNodeAwake, type WakeOutcome } from './wake.js';

export interface DeployPaths {
  /** Per-cluster state: deploy-state.json, logs/, kubeconfig. */
  stateDir: string;
  stateFile: string;
  logsDir: string;
  kubeconfig: string;
  /** Shared cache (Kubespray checkouts and their Python environments). */
  cacheDir: string;
}

export function deployPaths(cluster: Cluster, env: NodeJS.ProcessEnv): DeployPaths {
  const home = env.HOME ?? os.homedir();
  const stateRoot = env.VMSTATION_STATE_DIR ?? path.join(env.XDG_STATE_HOME ?? path.join(home, '.local', 'state'), 'vmstation');
  const stateDir = path.join(stateRoot, cluster.metadata.name);
  return {
    stateDir,
    stateFile: path.join(stateDir, 'deploy-state.json'),
    logsDir: path.join(stateDir, 'logs'),
    kubeconfig: path.join(stateDir, 'kubeconfig'),
    cacheDir: env.VMSTATION_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'vmstation'),
  };
}

export async function secretSource(secretsFile: string | undefined, password: string | undefined): Promise<{ source: SecretSource; store?: SecretsFile }> {
  if (!secretsFile || password === undefined) return { source: mapSecrets({}) };
  const store = await SecretsFile.open(secretsFile, password);
  return { source: vaultSecrets(store), store };
}

export interface NodeAccess {
  pool: SshPool;
  ensureAwake: (node: string) => Promise<WakeOutcome>;
  close(): Promise<void>;
}

export interface NodeAccessOptions {
  secrets: SecretSource;
  open?: SshOpen;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function nodeAccess(cluster: Cluster, opts: NodeAccessOptions): NodeAccess {
  const pool = new SshPool(cluster, opts.open);
  const drivers = createDrivers(cluster, { secrets: opts.secrets, knownHostsPath: knownHostsPathOf(cluster) });
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  return {
    pool,
    ensureAwake: (node) => ensureNodeAwake(cluster, node, { drivers, sleep, now }),
    close: () => pool.closeAll(),
  };
}
