// Small builders for the Kubernetes objects the observability stack repeats (metadata,
// Services, ConfigMaps, security contexts). Plain objects; tests validate them against the
// Kubernetes OpenAPI schema.
import { createHash } from 'node:crypto';
import type { Cluster } from '../../config/model.js';
import { standardLabels, selectorLabels, type KubeObject, type Labels } from '../k8s/common.js';
import { monitoringNamespace } from './names.js';

export function meta(cluster: Cluster, name: string, component?: string, extra: { annotations?: Record<string, string>; labels?: Labels } = {}) {
  return {
    name,
    namespace: monitoringNamespace(cluster),
    labels: { ...standardLabels(name, component), ...extra.labels },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
}

export function serviceAccount(cluster: Cluster, name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(cluster, name), automountServiceAccountToken: false };
}

export function configMap(cluster: Cluster, name: string, app: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...meta(cluster, name), labels: standardLabels(app, 'config') }, data: sortedRecord(data) };
}

export interface ServicePort {
  name: string;
  port: number;
  nodePort?: number;
  protocol?: 'TCP' | 'UDP';
}

/**
 * A Service for a component. With a NodePort it keeps the client address
 * (externalTrafficPolicy Local): the NetworkPolicies admit network.subnet by source address,
 * and the pod runs on the monitoring node, which is where users point their browser.
 */
export function service(cluster: Cluster, app: string, ports: readonly ServicePort[], metrics?: { port: number; path?: string }): KubeObject {
  const nodePorts = ports.some((p) => p.nodePort !== undefined);
  // Prometheus' annotated-services job scrapes what carries these annotations.
  const annotations = metrics
    ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metrics.port), 'prometheus.io/path': metrics.path ?? '/metrics' }
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(cluster, app, undefined, annotations ? { annotations } : {}),
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
  };
}

/** Pod-level security: a fixed non-root user whose group owns the volumes (fsGroup). */
export function podSecurityContext(uid: number) {
  return {
    runAsUser: uid,
    runAsGroup: uid,
    runAsNonRoot: true,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security: nothing more than the process needs. */
export function containerSecurityContext(opts: { readOnlyRootFilesystem?: boolean } = {}) {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: opts.readOnlyRootFilesystem ?? true,
    capabilities: { drop: ['ALL'] },
  };
}

export function resources(requests: { cpu: string; memory: string }, limits: { memory: string; cpu?: string }) {
  return { requests, limits };
}

export function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A short, stable hash of config texts, put on pod templates so a config change rolls the pods. */
export function configHash(...texts: string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(t).update('\0');
  return h.digest('hex').slice(0, 16);
}
