// Shared pieces of every Kubernetes object we render: standard labels, the one image table,
// placement on the monitoring node, YAML serialization with a stable key order.
import { stringify } from 'yaml';
import type { Cluster } from '../../config/model.js';

/**
 * Every container image, pinned to an exact current stable version (never `latest`).
 * One table so upgrades are one-line diffs and tests can check the pinning.
 * Monitoring images checked 2026-12-03: the releases current when Kubespray v2.31.0 came out
 * (2026-04-24), read from each upstream's tags; Grafana stays on 12.4 (13.0, two weeks old then,
 * moved bundled plugins out of the image, which an offline Grafana cannot download), Promtail on
 * the 3.6 line (Loki 3.7 removed it: grafana/loki@v3.7.0, "Remove Promtail support").
 */
export const IMAGES = {
  prometheus: 'quay.io/prometheus/prometheus:v3.11.2',
  alertmanager: 'quay.io/prometheus/alertmanager:v0.32.0',
  nodeExporter: 'quay.io/prometheus/node-exporter:v1.11.1',
  blackboxExporter: 'quay.io/prometheus/blackbox-exporter:v0.28.0',
  kubeStateMetrics: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.18.0',
  ipmiExporter: 'quay.io/prometheuscommunity/ipmi-exporter:v1.10.1',
  grafana: 'docker.io/grafana/grafana:12.4.3',
  loki: 'docker.io/grafana/loki:3.7.1',
  alloy: 'docker.io/grafana/alloy:v1.16.0',
  promtail: 'docker.io/grafana/promtail:3.6.10',
  localPathProvisioner: 'docker.io/rancher/local-path-provisioner:v0.0.35',
  busybox: 'docker.io/library/busybox:1.37.0',
  vmstation: 'ghcr.io/vmstation/vmstation:0.1.0',
} as const;
export type ImageName = keyof typeof IMAGES;

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
