// Shared pieces of every Kubernetes object we render: standard labels, the one image table,
// placement on the monitoring node, YAML serialization with a stable key order.
import { stringify } from 'yaml';
import type { Cluster } from '../../config/model.js';

/** Every container image, pinned in the one table of upstream versions (../versions.ts). */
export { IMAGES, type ImageName } from '../versions.js';

export const PART_OF = 'vmstation';
export const MANAGED_BY = 'vmstation';

/** Where the power manager serves /metrics and its HTTP API (scraped by Prometheus). */
export const POWER_MANAGER = { name: 'vmstation-power-manager', port: 8080, metricsPath: '/metrics' } as const;
/** The log shipper's syslog receiver (RFC 5424 over TCP, octet-counted); rsyslog on the syslog server forwards here. */
export const SYSLOG_RECEIVER_PORT = 1514;
/** Label the power manager and alert rules use to find a node's power state. */
export const POWER_STATE_METRIC = 'vmstation_node_power_state';

export type Labels = Record<string, string>;

/** The standard labels (app.kubernetes.io/*) of a component. */
export function standardLabels(name: string, component?: string): Labels {
  return {
    'app.kubernetes.io/name': name,
    ...(component ? { 'app.kubernetes.io/component': component } : {}),
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/** The subset used in selectors (must never change for an existing workload). */
export function selectorLabels(name: string): Labels {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': PART_OF };
}

export const CONTROL_PLANE_TOLERATIONS = [
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
] as const;

/**
 * Control-plane nodes on every path. kubeadm (and so Kubespray) labels them
 * `node-role.kubernetes.io/control-plane=""` (kubeadm's mark-control-plane phase); RKE2 labels
 * them `="true"` (k3s-io/k3s:pkg/server/server.go, which RKE2 embeds). A nodeSelector can only
 * ask for one value, so the pod asks for the label to exist.
 */
export function controlPlaneNodeAffinity(): { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: Array<{ matchExpressions: Array<{ key: string; operator: 'Exists' }> }> } } {
  return { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }] } };
}

/** Pins a non-DaemonSet pod to the monitoring node (it tolerates the control-plane taint). */
export function onMonitoringNode(cluster: Cluster): { nodeSelector: Record<string, string>; tolerations: Array<Record<string, string>> } {
  return {
    nodeSelector: { 'kubernetes.io/hostname': cluster.spec.monitoring.node },
    tolerations: CONTROL_PLANE_TOLERATIONS.map((t) => ({ ...t })),
  };
}

/** A plain Kubernetes object (validated against the OpenAPI schema in tests). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Multi-document YAML with a stable layout: objects in the given order, keys as written. */
export function toYamlDocuments(objects: readonly KubeObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** Serializes a plain config file (prometheus.yml, loki.yaml, ...) deterministically. */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}
