// Typed construction of the Kubernetes objects this renderer emits: object literals are checked
// against kubernetes-models' interfaces at compile time (unknown fields are type errors), then
// handed to the shared serializer as plain objects.
import { createHash } from 'node:crypto';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IPolicyRule } from 'kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule';
import type { Cluster } from '../../config/model.js';
import { IMAGES, selectorLabels, standardLabels, type ImageName, type KubeObject } from '../k8s/common.js';

export type { IContainer };

/** Narrows a typed object literal (with a name) to the serializer's plain object. */
export function kube<T extends { apiVersion: string; kind: string; metadata?: { name?: string } }>(obj: T): KubeObject {
  if (!obj.metadata?.name) throw new Error(`${obj.kind} without a name`);
  return obj as unknown as KubeObject;
}

export function meta(cluster: Cluster, name: string, component: string, namespaced = true): { name: string; namespace?: string; labels: Record<string, string> } {
  return {
    name,
    ...(namespaced ? { namespace: cluster.spec.monitoring.namespace } : {}),
    labels: standardLabels(name, component),
  };
}

export function image(name: ImageName): string {
  return IMAGES[name];
}

/** Content hash put on pod templates so a config change rolls the pods. */
export function checksum(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/**
 * Init container that hands a data volume to the image's user: local-path and hostPath volumes
 * ignore fsGroup. Bounded like every other container (issue #17: it had no limits).
 */
export function volumeOwnerInit(uid: number, mountPath: string, volume = 'data'): IContainer {
  return {
    name: 'volume-owner',
    image: image('busybox'),
    command: ['chown', `${uid}:${uid}`, mountPath],
    resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
    securityContext: { ...restricted(['CHOWN']), runAsUser: 0, runAsNonRoot: false },
    volumeMounts: [{ name: volume, mountPath }],
  };
}

/** Container hardening shared by every container we run (overridden where a capability is needed). */
export function restricted(addCapabilities: string[] = []): { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[]; add?: string[] } } {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'], ...(addCapabilities.length > 0 ? { add: addCapabilities } : {}) },
  };
}

export function serviceAccount(cluster: Cluster, name: string, component: string): KubeObject {
  return kube({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(cluster, name, component) } satisfies IServiceAccount);
}

/** A ClusterRole and its binding to the component's ServiceAccount. */
export function clusterRbac(cluster: Cluster, name: string, component: string, rules: IPolicyRule[]): KubeObject[] {
  for (const r of rules) {
    if ([...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? []), ...(r.nonResourceURLs ?? [])].includes('*'))
      throw new Error(`RBAC rule of ${name} uses "*"`);
  }
  const roleName = `vmstation-${name}`;
  return [
    kube({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(cluster, roleName, component, false), rules } satisfies IClusterRole),
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(cluster, roleName, component, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace: cluster.spec.monitoring.namespace }],
    } satisfies IClusterRoleBinding),
  ];
}

export function configMap(cluster: Cluster, name: string, component: string, data: Record<string, string>): KubeObject {
  return kube({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(cluster, name, component), data } satisfies IConfigMap);
}

export interface ServicePort {
  name: string;
  port: number;
  nodePort?: number;
}

export function service(cluster: Cluster, name: string, component: string, ports: ServicePort[], type: 'ClusterIP' | 'NodePort' = 'ClusterIP'): KubeObject {
  return kube({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, name, component),
    spec: {
      type,
      selector: selectorLabels(name),
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP', ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}) })),
    },
  } satisfies IService);
}

/** Kubernetes quantity for a Prometheus size flag: 20Gi -> 20GB (Prometheus units are base 2). */
export function prometheusSize(size: string): string {
  return size.replace(/([KMGT])i$/, '$1B');
}
