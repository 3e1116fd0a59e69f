// The one builder of the Kubernetes objects vmstation renders: object metadata, the config
// checksum that rolls pods, and the typed objects every component repeats (ServiceAccount,
// ConfigMap, Service, cluster RBAC, security contexts). Object literals are checked against
// kubernetes-models' interfaces at compile time (`satisfies`; unknown fields are type errors), then
// handed to the serializer (./common.ts) as plain objects.
import { createHash } from 'node:crypto';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaimSpec } from 'kubernetes-models/v1/PersistentVolumeClaimSpec';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import { IMAGES, selectorLabels, standardLabels, type KubeObject, type Labels } from './common.js';

export type { IContainer, IPolicyRule };

/** Narrows a typed object literal (with a name) to the serializer's plain object. */
export function kube<T extends { apiVersion: string; kind: string; metadata?: { name?: string } }>(obj: T): KubeObject {
  if (!obj.metadata?.name) throw new Error(`${obj.kind} without a name`);
  return obj as unknown as KubeObject;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels: Labels;
  annotations?: Record<string, string>;
}

export interface MetaOptions {
  /** Omitted for cluster-scoped objects. */
  namespace?: string | undefined;
  /** app.kubernetes.io/component. */
  component?: string | undefined;
  /** app.kubernetes.io/name when it is not the object's name (a component's ConfigMap). */
  app?: string | undefined;
  /** Labels added to the standard ones. */
  labels?: Labels | undefined;
  annotations?: Record<string, string> | undefined;
}

/** Metadata of every object we render: name, namespace, the standard labels, annotations. */
export function objectMeta(name: string, options: MetaOptions = {}): ObjectMeta {
  return {
    name,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    labels: { ...standardLabels(options.app ?? name, options.component), ...options.labels },
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
}

/**
 * The pod-template annotation that rolls the pods when their configuration changes. The name and
 * the value (the sha256 of the config) follow Helm's "Automatically Roll Deployments"
 * (https://helm.sh/docs/howto/charts_tips_and_tricks/#automatically-roll-deployments), the
 * convention Kubernetes users know.
 */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';

/** sha256 (hex) of config texts; a NUL between them, so ("ab", "c") and ("a", "bc") differ. */
export function configChecksum(...texts: string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(t).update('\0');
  return h.digest('hex');
}

/** `{ 'checksum/config': sha256 }` for a pod template's annotations. */
export function configChecksumAnnotation(...texts: string[]): Record<string, string> {
  return { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(...texts) };
}

export function serviceAccount(metadata: ObjectMeta, automountServiceAccountToken?: boolean): KubeObject {
  return kube({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata,
    ...(automountServiceAccountToken !== undefined ? { automountServiceAccountToken } : {}),
  } satisfies IServiceAccount);
}

/** A ConfigMap; its keys in the order given (`sortedRecord` when that order is not fixed). */
export function configMap(metadata: ObjectMeta, data: Record<string, string>): KubeObject {
  return kube({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data } satisfies IConfigMap);
}

export function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export interface ServicePort {
  name: string;
  port: number;
  nodePort?: number | undefined;
  protocol?: 'TCP' | 'UDP';
}

/** Prometheus' annotated-services job scrapes what carries these annotations. */
export function scrapeAnnotations(port: number, path = '/metrics'): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}

/**
 * A Service selecting the pods of `app`; a NodePort one when a port has a nodePort. A NodePort
 * Service keeps the client's address (externalTrafficPolicy Local): with the default Cluster
 * policy the node SNATs the packet, and the NetworkPolicy's source check by network.subnet would
 * see a node address instead ("Preserving the client source IP",
 * https://kubernetes.io/docs/tasks/access-application-cluster/create-external-load-balancer/#preserving-the-client-source-ip
 * and https://kubernetes.io/docs/tutorials/services/source-ip/#source-ip-for-services-with-type-nodeport).
 */
export function service(metadata: ObjectMeta, app: string, ports: readonly ServicePort[]): KubeObject {
  const nodePorts = ports.some((p) => p.nodePort !== undefined);
  return kube({
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: nodePorts ? 'NodePort' : 'ClusterIP',
      ...(nodePorts ? { externalTrafficPolicy: 'Local' } : {}),
      selector: selectorLabels(app),
      ports: ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.name,
        protocol: p.protocol ?? 'TCP',
        ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      })),
    },
  } satisfies IService);
}

/**
 * A ClusterRole `vmstation-NAME` and its binding to the ServiceAccount NAME in `namespace`.
 * Rules never use "*": each names its verbs and resources. Labelled as the role itself unless
 * `app` names the component it belongs to.
 */
export function clusterRbac(namespace: string, name: string, component: string | undefined, rules: IPolicyRule[], app?: string): KubeObject[] {
  for (const r of rules) {
    if ([...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? []), ...(r.nonResourceURLs ?? [])].includes('*'))
      throw new Error(`RBAC rule of ${name} uses "*"`);
  }
  const roleName = `vmstation-${name}`;
  const metadata = objectMeta(roleName, { component, app });
  return [
    kube({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata, rules } satisfies IClusterRole),
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    } satisfies IClusterRoleBinding),
  ];
}

/** Container hardening shared by every container we run (a capability added only where needed). */
export function restricted(options: { addCapabilities?: string[]; readOnlyRootFilesystem?: boolean } = {}): ISecurityContext & { capabilities: { drop: string[] } } {
  const add = options.addCapabilities ?? [];
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? true,
    capabilities: { drop: ['ALL'], ...(add.length > 0 ? { add } : {}) },
  };
}

/** Pod-level security: a fixed non-root user whose group owns the volumes (fsGroup). */
export function podSecurityContext(uid: number): IPodSecurityContext {
  return {
    runAsUser: uid,
    runAsGroup: uid,
    runAsNonRoot: true,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function resources(requests: { cpu: string; memory: string }, limits: { memory: string; cpu?: string }): { requests: { cpu: string; memory: string }; limits: { memory: string; cpu?: string } } {
  return { requests, limits };
}

/**
 * Init container that hands a data volume to the image's user: local-path and hostPath volumes
 * ignore fsGroup. Bounded like every other container (issue #17: it had no limits).
 */
export function volumeOwnerInit(uid: number, mountPath: string, volume = 'data'): IContainer {
  return {
    name: 'volume-owner',
    image: IMAGES.busybox,
    command: ['chown', `${uid}:${uid}`, mountPath],
    resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
    securityContext: { ...restricted({ addCapabilities: ['CHOWN'] }), runAsUser: 0, runAsNonRoot: false },
    volumeMounts: [{ name: volume, mountPath }],
  };
}

type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/**
 * A Namespace with its Pod Security level said explicitly (labels
 * pod-security.kubernetes.io/enforce and /warn, https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces),
 * so a distribution that enforces `restricted` by default (RKE2's CIS profile) admits our pods.
 */
export function namespaceObject(name: string, podSecurity: { enforce: PodSecurityLevel; warn?: PodSecurityLevel }): KubeObject {
  const labels: Labels = { 'pod-security.kubernetes.io/enforce': podSecurity.enforce, ...(podSecurity.warn ? { 'pod-security.kubernetes.io/warn': podSecurity.warn } : {}) };
  return kube({ apiVersion: 'v1', kind: 'Namespace', metadata: objectMeta(name, { component: 'namespace', labels }) } satisfies INamespace);
}

/** A claim on one node's disk: ReadWriteOnce, `size`, from `storageClassName`. */
export function readWriteOnceClaimSpec(size: string, storageClassName: string): IPersistentVolumeClaimSpec {
  return { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: size } } };
}

/** What differs between the one-replica StatefulSets of the monitoring stack. */
export interface DataStatefulSetOptions {
  metadata: ObjectMeta;
  /** app.kubernetes.io/component of the pods. */
  component: string;
  /** app.kubernetes.io/component of the `data` claim (the component's unless given). */
  claimComponent?: string;
  /** The texts whose checksum rolls the pods when they change. */
  configTexts: readonly string[];
  claim: { size: string; storageClassName: string };
  /** The pod spec after its service account (named as the StatefulSet), keys in the order they render. */
  pod: Omit<IPodSpec, 'serviceAccountName'>;
}

/**
 * The shape Prometheus, Alertmanager and Loki share: one replica, serviceName and service account
 * of its own name, pods rolled by their config's checksum, one ReadWriteOnce `data` claim.
 */
export function dataStatefulSet(o: DataStatefulSetOptions): KubeObject {
  const name = o.metadata.name;
  return kube({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: o.metadata,
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: { labels: standardLabels(name, o.component), annotations: configChecksumAnnotation(...o.configTexts) },
        spec: { serviceAccountName: name, ...o.pod },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: standardLabels(name, o.claimComponent ?? o.component) },
          spec: readWriteOnceClaimSpec(o.claim.size, o.claim.storageClassName),
        },
      ],
    },
  } satisfies IStatefulSet);
}
