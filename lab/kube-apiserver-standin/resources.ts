// The resource types the stand-in serves: built-in ones and those CRDs add at runtime.
import { asObject, asString, getPath, isPlainObject, type JsonObject } from './json.js';

export type Subresource = 'status' | 'eviction' | 'binding' | 'scale';

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  subresources: Subresource[];
  verbs: string[];
  /** Objects of all versions of a resource share one storage (and one resourceVersion stream). */
  storageKey: string;
  /** metadata.generation is set and bumped when anything but metadata and status changes. */
  hasGeneration: boolean;
  /** Field selector labels beyond metadata.name and metadata.namespace. */
  fieldLabels: string[];
  /** Converts between this version's shape and the stored shape (events.k8s.io <-> core). */
  toStorage?: (obj: JsonObject) => JsonObject;
  fromStorage?: (obj: JsonObject) => JsonObject;
  fromCrd?: string;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Def {
  plural: string;
  kind: string;
  namespaced: boolean;
  short?: string[];
  sub?: Subresource[];
  cat?: string[];
  gen?: boolean;
  fields?: string[];
  verbs?: string[];
}

function build(group: string, version: string, d: Def): ResourceType {
  return {
    group,
    version,
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural: d.plural,
    singular: d.kind.toLowerCase(),
    namespaced: d.namespaced,
    shortNames: d.short ?? [],
    categories: d.cat ?? [],
    subresources: d.sub ?? [],
    verbs: d.verbs ?? ALL_VERBS,
    storageKey: `${group}/${d.plural}`,
    hasGeneration: d.gen ?? false,
    fieldLabels: d.fields ?? [],
  };
}

const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

export const EVENTS_V1_FIELD_RENAMES: Record<string, string> = {
  regarding: 'involvedObject',
  note: 'message',
  reportingController: 'reportingComponent',
  deprecatedSource: 'source',
  deprecatedFirstTimestamp: 'firstTimestamp',
  deprecatedLastTimestamp: 'lastTimestamp',
  deprecatedCount: 'count',
};

function renameKeys(obj: JsonObject, renames: Record<string, string>, apiVersion: string): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) out[renames[k] ?? k] = v;
  out['apiVersion'] = apiVersion;
  out['kind'] = 'Event';
  return out;
}

const INVERSE_RENAMES = Object.fromEntries(Object.entries(EVENTS_V1_FIELD_RENAMES).map(([a, b]) => [b, a]));

function builtins(): ResourceType[] {
  const core = (d: Def): ResourceType => build('', 'v1', d);
  const list: ResourceType[] = [
    core({ plural: 'namespaces', kind: 'Namespace', namespaced: false, short: ['ns'], sub: ['status'], fields: ['status.phase'] }),
    core({ plural: 'nodes', kind: 'Node', namespaced: false, short: ['no'], sub: ['status'], fields: ['spec.unschedulable'] }),
    core({
      plural: 'pods',
      kind: 'Pod',
      namespaced: true,
      short: ['po'],
      cat: ['all'],
      sub: ['status', 'binding', 'eviction'],
      fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    }),
    core({ plural: 'bindings', kind: 'Binding', namespaced: true, verbs: ['create'] }),
    core({ plural: 'events', kind: 'Event', namespaced: true, short: ['ev'], fields: EVENT_FIELDS }),
    core({ plural: 'configmaps', kind: 'ConfigMap', namespaced: true, short: ['cm'] }),
    core({ plural: 'secrets', kind: 'Secret', namespaced: true, fields: ['type'] }),
    core({ plural: 'services', kind: 'Service', namespaced: true, short: ['svc'], cat: ['all'], sub: ['status'] }),
    core({ plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, short: ['sa'] }),
    core({ plural: 'endpoints', kind: 'Endpoints', namespaced: true, short: ['ep'] }),
    core({ plural: 'persistentvolumes', kind: 'PersistentVolume', namespaced: false, short: ['pv'], sub: ['status'] }),
    core({ plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true, short: ['pvc'], sub: ['status'] }),
    build('apps', 'v1', { plural: 'deployments', kind: 'Deployment', namespaced: true, short: ['deploy'], cat: ['all'], sub: ['status', 'scale'], gen: true }),
    build('apps', 'v1', { plural: 'daemonsets', kind: 'DaemonSet', namespaced: true, short: ['ds'], cat: ['all'], sub: ['status'], gen: true }),
    build('apps', 'v1', { plural: 'statefulsets', kind: 'StatefulSet', namespaced: true, short: ['sts'], cat: ['all'], sub: ['status', 'scale'], gen: true }),
    build('apps', 'v1', { plural: 'replicasets', kind: 'ReplicaSet', namespaced: true, short: ['rs'], cat: ['all'], sub: ['status', 'scale'], gen: true, fields: ['status.replicas'] }),
    build('batch', 'v1', { plural: 'jobs', kind: 'Job', namespaced: true, cat: ['all'], sub: ['status'], gen: true, fields: ['status.successful'] }),
    build('batch', 'v1', { plural: 'cronjobs', kind: 'CronJob', namespaced: true, short: ['cj'], cat: ['all'], sub: ['status'], gen: true }),
    build('policy', 'v1', { plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true, short: ['pdb'], sub: ['status'], gen: true }),
    build('coordination.k8s.io', 'v1', { plural: 'leases', kind: 'Lease', namespaced: true }),
    build('rbac.authorization.k8s.io', 'v1', { plural: 'roles', kind: 'Role', namespaced: true }),
    build('rbac.authorization.k8s.io', 'v1', { plural: 'rolebindings', kind: 'RoleBinding', namespaced: true }),
    build('rbac.authorization.k8s.io', 'v1', { plural: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
    build('rbac.authorization.k8s.io', 'v1', { plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false }),
    build('storage.k8s.io', 'v1', { plural: 'storageclasses', kind: 'StorageClass', namespaced: false, short: ['sc'] }),
    build('networking.k8s.io', 'v1', { plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true, short: ['netpol'], gen: true }),
    build('networking.k8s.io', 'v1', { plural: 'ingresses', kind: 'Ingress', namespaced: true, short: ['ing'], sub: ['status'], gen: true }),
    build('discovery.k8s.io', 'v1', { plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true }),
    build('authorization.k8s.io', 'v1', { plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'] }),
    build('apiextensions.k8s.io', 'v1', {
      plural: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      short: ['crd', 'crds'],
      sub: ['status'],
      gen: true,
    }),
  ];
  const eventsV1 = build('events.k8s.io', 'v1', { plural: 'events', kind: 'Event', namespaced: true, short: ['ev'], fields: EVENT_FIELDS });
  eventsV1.storageKey = '/events';
  eventsV1.toStorage = (obj) => renameKeys(obj, EVENTS_V1_FIELD_RENAMES, 'v1');
  eventsV1.fromStorage = (obj) => renameKeys(obj, INVERSE_RENAMES, 'events.k8s.io/v1');
  list.push(eventsV1);
  return list;
}

/** Kubernetes version priority: v1 > v1beta2 > v1beta1 > v1alpha1 > other. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    return [m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa === undefined || pb === undefined) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pb[i] ?? 0) - (pa[i] ?? 0);
  return 0;
}

export class ResourceRegistry {
  private readonly types: ResourceType[] = builtins();

  all(): readonly ResourceType[] {
    return this.types;
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  /** The preferred (first) built-in type for a storage key; used by internal controllers. */
  byStorageKey(storageKey: string): ResourceType | undefined {
    return this.types.find((t) => t.storageKey === storageKey && t.toStorage === undefined);
  }

  /** Groups in discovery order: built-ins first (as registered), CRD groups after, sorted. */
  groups(): Array<{ name: string; versions: string[]; preferred: string }> {
    const out = new Map<string, string[]>();
    for (const t of this.types) {
      if (t.group === '') continue;
      const versions = out.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      out.set(t.group, versions);
    }
    return [...out].map(([name, versions]) => {
      const sorted = [...versions].sort(compareKubeVersions);
      return { name, versions: sorted, preferred: sorted[0] ?? 'v1' };
    });
  }

  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.version === version);
  }

  /** Registers (or re-registers) the served versions of a CRD. */
  registerCrd(crd: JsonObject): void {
    const name = asString(getPath(crd, ['metadata', 'name'])) ?? '';
    this.unregisterCrd(name);
    const spec = asObject(crd['spec']);
    const names = asObject(spec['names']);
    const group = asString(spec['group']) ?? '';
    const plural = asString(names['plural']) ?? '';
    const kind = asString(names['kind']) ?? '';
    if (group === '' || plural === '' || kind === '') return;
    const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isPlainObject) : [];
    for (const v of versions) {
      if (v['served'] === false) continue;
      const version = asString(v['name']);
      if (version === undefined) continue;
      const subs = asObject(v['subresources']);
      this.types.push({
        group,
        version,
        kind,
        listKind: asString(names['listKind']) ?? `${kind}List`,
        plural,
        singular: asString(names['singular']) ?? kind.toLowerCase(),
        namespaced: spec['scope'] !== 'Cluster',
        shortNames: Array.isArray(names['shortNames']) ? names['shortNames'].filter((s): s is string => typeof s === 'string') : [],
        categories: Array.isArray(names['categories']) ? names['categories'].filter((s): s is string => typeof s === 'string') : [],
        subresources: [...('status' in subs ? (['status'] as const) : []), ...('scale' in subs ? (['scale'] as const) : [])],
        verbs: ALL_VERBS,
        storageKey: `${group}/${plural}`,
        hasGeneration: true,
        fieldLabels: [],
        fromCrd: name,
      });
    }
  }

  unregisterCrd(name: string): void {
    for (let i = this.types.length - 1; i >= 0; i--) if (this.types[i]?.fromCrd === name) this.types.splice(i, 1);
  }
}

const BOOLEAN_FIELDS = new Set(['spec.unschedulable', 'spec.hostNetwork']);

/** The field-selector values of an object (metadata.name, metadata.namespace and the type's labels). */
export function fieldValues(type: ResourceType, obj: JsonObject): Record<string, string> {
  const meta = asObject(obj['metadata']);
  const out: Record<string, string> = {
    'metadata.name': asString(meta['name']) ?? '',
    'metadata.namespace': asString(meta['namespace']) ?? '',
  };
  for (const label of type.fieldLabels) {
    const path = label === 'source' ? ['source', 'component'] : label.split('.');
    const v = getPath(obj, path);
    if ((v === undefined || v === null) && BOOLEAN_FIELDS.has(label)) out[label] = 'false';
    else out[label] = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}
