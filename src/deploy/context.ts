// Where a deploy keeps its things, and the I/O edges every verb of the deploy pipeline shares:
// the persistent SSH pool, the wake-up path through the power drivers, the vault.
import path from 'node:path';
import type { Cluster } from '../config/model.js';
import { access } from 'node:fs/promises';
import { KubeClient } from '../adapters/kube/client.js';
import { POWER_ANNOTATIONS } from '../power/controller/annotations.js';
import { systemClock, type Clock } from '../power/controller/clock.js';
import { ensureAwake } from '../power/controller/ensure-awake.js';
import { createDrivers } from '../power/drivers/index.js';
import { mapSecrets, vaultSecrets, type SecretSource } from '../power/drivers/secrets.js';
import { SecretsFile } from '../secrets/store.js';
import { SshPool, knownHostsPathOf, type SshOpen } from './ssh-pool.js';
import { ensureNodeAwake, type WakeOutcome } from './wake.js';
import { homeDir } from '../util/home.js';

export interface DeployPaths {
  /** Per-cluster state: deploy-state.json, logs/, kubeconfig. */
  stateDir: string;
  stateFile: string;
  logsDir: string;
  kubeconfig: string;
  /** The nodes the last Kubernetes phase deployed (for later removals). */
  deployedNodes: string;
  /** Shared cache (Kubespray checkouts and their Python environments). */
  cacheDir: string;
}

export function deployPaths(cluster: Cluster, env: NodeJS.ProcessEnv): DeployPaths {
  const home = homeDir(env);
  const stateRoot = env.VMSTATION_STATE_DIR ?? path.join(env.XDG_STATE_HOME ?? path.join(home, '.local', 'state'), 'vmstation');
  const stateDir = path.join(stateRoot, cluster.metadata.name);
  return {
    stateDir,
    stateFile: path.join(stateDir, 'deploy-state.json'),
    logsDir: path.join(stateDir, 'logs'),
    kubeconfig: path.join(stateDir, 'kubeconfig'),
    deployedNodes: path.join(stateDir, 'deployed-nodes.json'),
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
  /** The cluster, when it exists: nodes the power manager manages are woken through it. */
  kube?: Pick<KubeClient, 'getNode' | 'patchNode'> | undefined;
  open?: SshOpen;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function nodeAccess(cluster: Cluster, opts: NodeAccessOptions): NodeAccess {
  const pool = new SshPool(cluster, opts.open);
  const drivers = createDrivers(cluster, { secrets: opts.secrets, knownHostsPath: knownHostsPathOf(cluster) });
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const direct = (node: string) => ensureNodeAwake(cluster, node, { drivers, sleep, now });
  const kube = opts.kube;
  return {
    pool,
    ensureAwake: kube ? (node) => wakeThroughPowerManager(cluster, node, { kube, direct, reachable: drivers.reachable }) : direct,
    close: () => pool.closeAll(),
  };
}

/**
 * A node the power manager put to sleep is woken through it (a wake request on the Node, source
 * `preflight`), so it knows why the node is up and does not put it back to sleep mid-deploy.
 * Nodes it does not manage (no power-state annotation), or when it does not act in time, are
 * woken directly by the drivers.
 */
export interface PowerManagerWakeDeps {
  kube: Pick<KubeClient, 'getNode' | 'patchNode'>;
  direct: (node: string) => Promise<WakeOutcome>;
  reachable: (node: string, timeoutMs: number) => Promise<boolean>;
  clock?: Clock;
  /** How long the power manager gets (default twice the node's boot time plus 30 s). */
  timeoutMs?: number;
}

export async function wakeThroughPowerManager(cluster: Cluster, node: string, deps: PowerManagerWakeDeps): Promise<WakeOutcome> {
  const clock = deps.clock ?? systemClock;
  const n = await deps.kube.getNode(node).catch(() => undefined);
  if (!n?.metadata?.annotations?.[POWER_ANNOTATIONS.state]) return deps.direct(node);
  if (await deps.reachable(node, 1500)) return { node, wasAwake: true, reachable: true, sent: [], waitedMs: 0, message: 'awake' };
  const spec = cluster.spec.nodes.find((x) => x.name === node);
  const started = clock.now();
  const [r] = await ensureAwake(cluster, [node], { kube: deps.kube, clock, timeoutMs: deps.timeoutMs ?? (spec?.power.bootSeconds ?? 60) * 2000 + 30_000 }).catch(() => [undefined]);
  if (r?.ok && (await deps.reachable(node, 1500))) return { node, wasAwake: false, reachable: true, sent: ['power-manager'], waitedMs: clock.now() - started, message: `woken by the power manager (${r.message})` };
  const fallback = await deps.direct(node);
  return { ...fallback, message: `${fallback.message} (the power manager did not wake it: ${r?.message ?? 'no answer'})` };
}

/** A Kubernetes client when the kubeconfig exists (a deployed cluster), else undefined. */
export async function kubeIfPresent(kubeconfig: string): Promise<KubeClient | undefined> {
  if (!(await access(kubeconfig).then(() => true, () => false))) return undefined;
  try {
    return new KubeClient({ kubeconfig });
  } catch {
    return undefined;
  }
}
