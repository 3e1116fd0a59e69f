// Kubernetes API stand-in for the VMStation lab: an in-memory HTTP server speaking the parts
// of the Kubernetes REST API that VMStation, kubectl and @kubernetes/client-node use. It is a
// stand-in, not a kube-apiserver: see README.md for what it does and does not do.
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { DisruptionController } from './disruption.js';
import { Faults } from './faults.js';
import type { JsonObject } from './json.js';
import { standinKubeconfig } from './kubeconfig.js';
import { KubeletEmulator, type EmulatedNode, type KubeletOptions } from './kubelet.js';
import { guarded, Operations } from './operations.js';
import { ResourceRegistry, type ResourceType } from './resources.js';
import { RolloutEmulator } from './rollout.js';
import { Binder } from './scheduling.js';
import { StandinServer, type RequestRecord } from './server.js';
import { Store } from './store.js';
import { selfSignedCert } from './tls.js';

export type { EmulatedNode, KubeletOptions } from './kubelet.js';
export type { FaultRuleInput, FaultRule } from './faults.js';
export type { RequestRecord } from './server.js';
export { standinKubeconfig } from './kubeconfig.js';
export { HOLD_ANNOTATION } from './rollout.js';

export interface StandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** 127.0.0.1 (default); the lab may bind its bridge address in 10.78.0.0/24. */
  host?: string;
  /** HTTPS with a self-signed certificate (default true; the kubeconfig carries it as CA). */
  tls?: boolean;
  /** What /version reports; kubectl's dispatcher picks its client from the minor version. */
  gitVersion?: string;
  /** Hosts to run the kubelet emulator for. */
  nodes?: EmulatedNode[];
  kubelet?: Partial<KubeletOptions>;
  /** Events kept per resource for watches from an older resourceVersion (default 10,000). */
  watchWindow?: number;
  /** Interval of BOOKMARK events for watches that allow them (default 60 s; 0 disables). */
  bookmarkIntervalMs?: number;
  /** Emulated controllers (default all on). */
  scheduler?: boolean;
  rollout?: boolean;
  disruption?: boolean;
  /** Track managedFields for non-apply writes (default true, as the real server). */
  trackUpdateManagers?: boolean;
  clock?: () => Date;
}

export interface Standin {
  url: string;
  /** PEM of the serving certificate (also the CA), when TLS is on. */
  caCert: string | undefined;
  host: string;
  port: number;
  ops: Operations;
  faults: Faults;
  kubelet: KubeletEmulator;
  binder: Binder | undefined;
  kubeconfig(): string;
  writeKubeconfig(path: string): Promise<void>;
  requests(): RequestRecord[];
  clearRequests(): void;
  /** Looks up a served resource type, e.g. type('', 'v1', 'pods'). */
  type(group: string, version: string, plural: string): ResourceType;
  /** Programmatic create of a (possibly namespaced) object, as a client would. */
  create(obj: JsonObject, fieldManager?: string): JsonObject;
  stop(): Promise<void>;
}

const LOOPBACK_OR_LAB = /^(127\.\d+\.\d+\.\d+|10\.78\.0\.\d+)$/;

export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_OR_LAB.test(host)) throw new Error(`the stand-in binds only loopback or the lab subnet 10.78.0.0/24, not ${host}`);
  const gitVersion = options.gitVersion ?? 'v1.35.4';
  const registry = new ResourceRegistry();
  const store = new Store({ watchWindow: options.watchWindow ?? 10_000 });
  const ops = new Operations(store, registry, {
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    trackUpdates: options.trackUpdateManagers ?? true,
  });
  // CRDs register their resources as soon as they are stored, and are Established at once.
  ops.onCommit((type, obj, prev) => {
    if (type.storageKey !== 'apiextensions.k8s.io/customresourcedefinitions') return;
    if (obj === undefined) {
      if (prev !== undefined) registry.unregisterCrd(String((prev['metadata'] as JsonObject)['name']));
      return;
    }
    registry.registerCrd(obj);
    setImmediate(() => guarded('crd', () => establishCrd(ops, type, String((obj['metadata'] as JsonObject)['name']))));
  });
  const nsType = registry.lookup('', 'v1', 'namespaces') as ResourceType;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    ops.create(nsType, undefined, { metadata: { name } }, { fieldManager: 'kube-apiserver' });
  }
  const faults = new Faults(() => store.compact());
  const kubelet = new KubeletEmulator(ops, { kubeletVersion: gitVersion, ...options.kubelet });
  const binder = options.scheduler === false ? undefined : new Binder(ops);
  const rollout = options.rollout === false ? undefined : new RolloutEmulator(ops);
  const disruption = options.disruption === false ? undefined : new DisruptionController(ops);
  const server = new StandinServer({
    ops,
    faults,
    gitVersion,
    kubelets: {
      add: (n) => kubelet.addNode(n),
      remove: (name) => kubelet.removeNode(name),
      setVersion: (name, v) => kubelet.setKubeletVersion(name, v),
      names: () => kubelet.nodeNames(),
    },
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    stats: () => ({
      objects: Object.fromEntries([...new Set(registry.all().map((t) => t.storageKey))].map((k) => [k, store.count(k)]).filter(([, n]) => (n as number) > 0)),
      resourceVersion: String(store.currentRevision()),
      bindings: binder?.bindings ?? 0,
      nodes: Object.fromEntries(kubelet.nodeNames().map((n) => [n, kubelet.state(n)])),
    }),
  });
  const cert = options.tls === false ? undefined : await selfSignedCert(host);
  const httpServer =
    cert === undefined
      ? http.createServer({ keepAliveTimeout: 65_000 }, server.handle)
      : https.createServer({ keepAliveTimeout: 65_000, key: cert.key, cert: cert.cert }, server.handle);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  const url = `${cert === undefined ? 'http' : 'https'}://${host}:${port}`;
  disruption?.start();
  rollout?.start();
  binder?.start();
  kubelet.start(options.nodes ?? []);

  const typeOf = (group: string, version: string, plural: string): ResourceType => {
    const t = registry.lookup(group, version, plural);
    if (t === undefined) throw new Error(`the stand-in does not serve ${group}/${version} ${plural}`);
    return t;
  };
  return {
    url,
    caCert: cert?.cert,
    host,
    port,
    ops,
    faults,
    kubelet,
    binder,
    kubeconfig: () => standinKubeconfig(url, cert?.cert),
    writeKubeconfig: (path) => writeFile(path, standinKubeconfig(url, cert?.cert), { mode: 0o600 }),
    requests: () => server.recentRequests(),
    clearRequests: () => server.clearRequestLog(),
    type: typeOf,
    create: (obj, fieldManager = 'standin-test') => {
      const apiVersion = String(obj['apiVersion'] ?? 'v1');
      const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
      const kind = String(obj['kind'] ?? '');
      const t = registry.all().find((r) => r.group === group && r.version === version && r.kind === kind);
      if (t === undefined) throw new Error(`the stand-in does not serve ${apiVersion} ${kind}`);
      const ns = (obj['metadata'] as JsonObject | undefined)?.['namespace'];
      return ops.create(t, typeof ns === 'string' ? ns : t.namespaced ? 'default' : undefined, obj, { fieldManager });
    },
    stop: async () => {
      kubelet.stop();
      binder?.stop();
      rollout?.stop();
      disruption?.stop();
      faults.dropWatches();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function establishCrd(ops: Operations, type: ResourceType, name: string): void {
  ops.mutate(
    type,
    undefined,
    name,
    (draft) => {
      const spec = (draft['spec'] ?? {}) as JsonObject;
      const versions = Array.isArray(spec['versions']) ? (spec['versions'] as JsonObject[]) : [];
      const storage = versions.find((v) => v['storage'] === true)?.['name'];
      const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const old = ((draft['status'] ?? {}) as JsonObject)['conditions'];
      const oldTime = (t: string): unknown => (Array.isArray(old) ? (old as JsonObject[]).find((c) => c['type'] === t)?.['lastTransitionTime'] : undefined) ?? now;
      draft['status'] = {
        acceptedNames: spec['names'] ?? {},
        conditions: [
          { type: 'NamesAccepted', status: 'True', lastTransitionTime: oldTime('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
          { type: 'Established', status: 'True', lastTransitionTime: oldTime('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
        ],
        storedVersions: storage === undefined ? [] : [storage],
      };
    },
    { manager: 'kube-apiserver', subresource: 'status' },
  );
}
