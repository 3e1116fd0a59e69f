// Manifests to the cluster: parse the rendered files, order objects so dependencies come first
// (namespaces and CRDs, then what pods mount, then workloads), create the Secrets the vault
// holds (never written to the render tree), server-side apply as `vmstation`, wait for each
// workload's rollout by its real kind, and prune our objects that are no longer rendered.
import type { KubernetesObject } from '@kubernetes/client-node';
import { POWER_KEY_SECRET } from '../render/ansible/power-key.js';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { refText, type ApplyOutcome, type ObjectClient, type ObjectRef } from '../adapters/kube/apply.js';
import type { Cluster } from '../config/model.js';
import { ExitCode, VmstationError, errorMessage } from '../errors.js';
import { MANAGED_BY } from '../render/k8s/common.js';
import { alertmanagerSecretKeys, ipmiSecretKeys, NAMES } from '../render/metrics/names.js';
import { grafanaAdminSecret } from '../render/observability/grafana/manifest.js';
import { driverSecretNames, POWER_SECRETS } from '../render/power/index.js';
import { knownHostsPathOf } from './ssh-pool.js';

export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
export const FROM_VAULT_ANNOTATION = 'vmstation.io/from-vault';

/** Apply order by kind; unknown kinds (custom resources) go last, after their CRDs exist. */
const KIND_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'DaemonSet',
  'Deployment',
  'StatefulSet',
  'Job',
  'CronJob',
  'Ingress',
];

export interface SourcedObject {
  object: KubernetesObject;
  file: string;
}

export function parseManifests(files: ReadonlyArray<{ path: string; content: string }>): SourcedObject[] {
  const out: SourcedObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(f.content)) {
      if (doc.errors.length > 0) throw new VmstationError({ code: 'manifest-invalid', message: `${f.path}: ${doc.errors[0]!.message}`, hint: 'render again; rendered manifests are always valid YAML' });
      const o = doc.toJSON() as KubernetesObject | null;
      if (o && typeof o === 'object' && o.kind) out.push({ object: o, file: f.path });
    }
  }
  return out;
}

const rank = (kind: string | undefined) => {
  const i = KIND_ORDER.indexOf(kind ?? '');
  return i === -1 ? KIND_ORDER.length : i;
};

/** Stable dependency order (pure): by kind rank, then as rendered. */
export function orderForApply<T extends { object: KubernetesObject }>(objects: readonly T[]): T[] {
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o.object.kind) - rank(b.o.object.kind) || a.i - b.i)
    .map(({ o }) => o);
}

export interface VaultSecret {
  namespace: string;
  name: string;
  /** Secret key -> name in the vault. */
  keys: Record<string, string>;
  /** Secret key -> local file (the SSH key and known_hosts the power manager uses). */
  files?: Record<string, string>;
}

/**
 * The power manager's Secrets (src/render/power): its own SSH key from the vault (the host layer
 * creates it there and authorizes it on the sleepers for the suspend program only; never the
 * operator's key), known_hosts from the local file, the rest from the vault.
 */
function powerSecrets(cluster: Cluster): VaultSecret[] {
  if (!cluster.spec.power.enabled) return [];
  const ns = cluster.spec.power.controller.namespace;
  const out: VaultSecret[] = [
    { namespace: ns, name: POWER_SECRETS.ssh, keys: { id: POWER_KEY_SECRET }, files: { known_hosts: knownHostsPathOf(cluster) } },
    { namespace: ns, name: POWER_SECRETS.token, keys: { token: cluster.spec.power.apiToken.secret } },
  ];
  const drivers = driverSecretNames(cluster);
  if (drivers.length > 0) out.push({ namespace: ns, name: POWER_SECRETS.drivers, keys: Object.fromEntries(drivers.map((k) => [k, k])) });
  return out;
}

/** The Secrets the rendered manifests reference and the deploy creates from the vault (and local key files). */
export function vaultBackedSecrets(cluster: Cluster): VaultSecret[] {
  const out: VaultSecret[] = [];
  const m = cluster.spec.monitoring;
  if (m.enabled) {
    const g = grafanaAdminSecret(cluster);
    out.push({ namespace: g.namespace, name: g.name, keys: { [g.key]: g.vaultSecret } });
    const am = alertmanagerSecretKeys(cluster);
    if (am.length > 0) out.push({ namespace: m.namespace, name: NAMES.alertmanagerSecret, keys: Object.fromEntries(am.map((k) => [k, k])) });
    if (m.exporters.ipmi) {
      const ipmi = ipmiSecretKeys(cluster);
      if (ipmi.length > 0) out.push({ namespace: m.namespace, name: NAMES.ipmiSecret, keys: Object.fromEntries(ipmi.map((k) => [k, k])) });
    }
  }
  return [...out, ...powerSecrets(cluster)];
}

export type SecretLookup = (vaultName: string) => Promise<string | undefined>;

export async function secretObject(s: VaultSecret, lookup: SecretLookup, readLocal: (file: string) => Promise<string | undefined> = readIfExists): Promise<KubernetesObject> {
  const data: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, file] of Object.entries(s.files ?? {})) {
    const v = await readLocal(file);
    if (v === undefined)
      throw new VmstationError({ code: 'secret-file-missing', message: `Secret ${s.namespace}/${s.name} needs ${file}`, hint: 'check spec.ssh.privateKey and spec.ssh.knownHosts (run `vmstation preflight` once so the known_hosts file lists every node)' });
    data[key] = Buffer.from(v, 'utf8').toString('base64');
  }
  for (const [key, vaultName] of Object.entries(s.keys)) {
    const v = await lookup(vaultName);
    if (v === undefined) missing.push(vaultName);
    else data[key] = Buffer.from(v, 'utf8').toString('base64');
  }
  if (missing.length > 0)
    throw new VmstationError({ code: 'secret-missing', message: `Secret ${s.namespace}/${s.name} needs ${missing.join(', ')} from the secrets file`, hint: `${missing.map((n) => `vmstation secrets set ${n}`).join('; ')} (and pass --vault-password-file)` });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: s.name, namespace: s.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': 'vmstation' }, annotations: { [FROM_VAULT_ANNOTATION]: 'true' } },
    type: 'Opaque',
    data,
  } as KubernetesObject;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

// ---- rollouts --------------------------------------------------------------------------------

interface WorkloadStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  desiredNumberScheduled?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
}

type RolloutJudge = (s: WorkloadStatus, want: number) => { done: boolean; detail: string };

/** Per kind, what `kubectl rollout status` waits for. */
const ROLLOUT_JUDGES: Readonly<Record<string, RolloutJudge>> = {
  Deployment: (s, want) => {
    const updated = s.updatedReplicas ?? 0;
    const available = s.availableReplicas ?? 0;
    return { done: updated >= want && available >= want && (s.replicas ?? 0) <= want, detail: `${updated}/${want} updated, ${available} available` };
  },
  StatefulSet: (s, want) => {
    const ready = s.readyReplicas ?? 0;
    const updated = s.updatedReplicas ?? 0;
    return { done: ready >= want && updated >= want && (s.updateRevision === undefined || s.currentRevision === s.updateRevision), detail: `${ready}/${want} ready, ${updated} updated` };
  },
  DaemonSet: (s) => {
    const desired = s.desiredNumberScheduled ?? 0;
    const updated = s.updatedNumberScheduled ?? 0;
    const available = s.numberAvailable ?? 0;
    return { done: updated >= desired && available >= desired, detail: `${available}/${desired} available, ${updated} updated` };
  },
};

/** Whether a workload finished rolling out, judged the way `kubectl rollout status` does for its kind (pure). */
export function rolloutDone(o: KubernetesObject & { spec?: { replicas?: number }; status?: WorkloadStatus }): { done: boolean; detail: string } {
  const s = o.status ?? {};
  if ((s.observedGeneration ?? 0) < (o.metadata?.generation ?? 0)) return { done: false, detail: 'waiting for the controller to see the new generation' };
  // Own keys only: a kind named like an Object method (`constructor`) is not a workload.
  const judge = o.kind !== undefined && Object.hasOwn(ROLLOUT_JUDGES, o.kind) ? ROLLOUT_JUDGES[o.kind] : undefined;
  return judge ? judge(s, o.spec?.replicas ?? 1) : { done: true, detail: 'not a workload' };
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

export interface ApplyDeps {
  client: ObjectClient;
  secrets: SecretLookup;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  progress?: (line: string) => void;
  /** Reads the local files some Secrets carry (default: the file system). */
  readLocal?: (file: string) => Promise<string | undefined>;
  rolloutTimeoutMs?: number;
  pollMs?: number;
}

export interface ApplyReport {
  outcomes: Array<{ ref: ObjectRef; outcome: ApplyOutcome; file: string }>;
  rollouts: Array<{ ref: ObjectRef; detail: string }>;
}

export function countOutcomes(report: ApplyReport): Record<ApplyOutcome, number> {
  const c: Record<ApplyOutcome, number> = { created: 0, configured: 0, unchanged: 0 };
  for (const o of report.outcomes) c[o.outcome]++;
  return c;
}

export async function applyManifests(cluster: Cluster, files: ReadonlyArray<{ path: string; content: string }>, deps: ApplyDeps): Promise<ApplyReport> {
  const ordered = orderForApply(parseManifests(files));
  const namespaces = new Set(ordered.map((o) => (o.object.kind === 'Namespace' ? o.object.metadata?.name : o.object.metadata?.namespace)).filter((n): n is string => Boolean(n)));
  const secrets = vaultBackedSecrets(cluster).filter((s) => namespaces.has(s.namespace));
  const report: ApplyReport = { outcomes: [], rollouts: [] };
  const apply = async (object: KubernetesObject, file: string) => {
    const r = await deps.client.apply(object).catch((err: unknown) => {
      throw new VmstationError({ code: 'apply-failed', message: errorMessage(err), hint: `see ${file}; fix the cluster file and render again`, exitCode: ExitCode.partial });
    });
    report.outcomes.push({ ref: r.ref, outcome: r.outcome, file });
    deps.progress?.(`${refText(r.ref)} ${r.outcome}`);
  };
  // Namespaces first, then the vault's Secrets (so pods never start without them), then the rest.
  const isNs = (o: SourcedObject) => o.object.kind === 'Namespace' || o.object.kind === 'CustomResourceDefinition';
  for (const o of ordered.filter(isNs)) await apply(o.object, o.file);
  for (const s of secrets) await apply(await secretObject(s, deps.secrets, deps.readLocal), s.files ? '(secrets file and local files)' : '(secrets file)');
  for (const o of ordered.filter((x) => !isNs(x))) await apply(o.object, o.file);

  const timeout = deps.rolloutTimeoutMs ?? 300_000;
  const poll = deps.pollMs ?? 2000;
  for (const o of ordered.filter((x) => WORKLOAD_KINDS.includes(x.object.kind ?? ''))) {
    const ref: ObjectRef = { apiVersion: o.object.apiVersion ?? '', kind: o.object.kind ?? '', name: o.object.metadata?.name ?? '', namespace: o.object.metadata?.namespace };
    const until = deps.now() + timeout;
    let last = '';
    for (;;) {
      const live = await deps.client.read(ref);
      const state = live ? rolloutDone(live) : { done: false, detail: 'not found' };
      last = state.detail;
      if (state.done) break;
      if (deps.now() >= until)
        throw new VmstationError({
          code: 'rollout-timeout',
          message: `${refText(ref)} did not finish rolling out within ${Math.round(timeout / 1000)} s (${last})`,
          hint: `kubectl -n ${ref.namespace ?? 'default'} describe ${ref.kind.toLowerCase()} ${ref.name} shows why (image pull, Pending pods, a sleeping node)`,
          exitCode: ExitCode.partial,
        });
      deps.progress?.(`waiting for ${refText(ref)}: ${last}`);
      await deps.sleep(poll);
    }
    report.rollouts.push({ ref, detail: last });
  }
  return report;
}

// ---- prune -----------------------------------------------------------------------------------

/** Kinds prune looks at. Namespaces, PersistentVolumes and their claims are never pruned: they hold data. */
export const PRUNE_KINDS: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
  { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' },
];

const key = (r: ObjectRef) => `${r.kind}|${r.namespace ?? ''}|${r.name}`;

/** What prune deletes: ours, not rendered, not a Secret the vault still provides (pure). */
export function pruneCandidates(live: readonly KubernetesObject[], rendered: readonly KubernetesObject[], vault: readonly VaultSecret[]): ObjectRef[] {
  const keep = new Set([
    ...rendered.map((o) => key({ apiVersion: '', kind: o.kind ?? '', name: o.metadata?.name ?? '', namespace: o.metadata?.namespace })),
    ...vault.map((s) => key({ apiVersion: 'v1', kind: 'Secret', name: s.name, namespace: s.namespace })),
  ]);
  return live
    .map((o) => ({ apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata?.name ?? '', namespace: o.metadata?.namespace }))
    .filter((r) => !keep.has(key(r)))
    .sort((a, b) => key(a).localeCompare(key(b)));
}

export async function pruneManifests(cluster: Cluster, files: ReadonlyArray<{ path: string; content: string }>, deps: Pick<ApplyDeps, 'client' | 'progress'>): Promise<ObjectRef[]> {
  const rendered = parseManifests(files).map((o) => o.object);
  const live: KubernetesObject[] = [];
  for (const k of PRUNE_KINDS) live.push(...(await deps.client.list(k.apiVersion, k.kind, MANAGED_SELECTOR)));
  const doomed = pruneCandidates(live, rendered, vaultBackedSecrets(cluster));
  for (const r of doomed) {
    await deps.client.delete(r);
    deps.progress?.(`${refText(r)} pruned`);
  }
  return doomed;
}
