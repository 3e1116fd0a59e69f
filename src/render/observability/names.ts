// Names and ports every monitoring component agrees on: Services, pod selectors, container
// ports. The metrics renderers (Prometheus, Alertmanager, exporters) use the same names, so
// Grafana's datasources and the NetworkPolicies can point at them.
import type { Cluster } from '../../config/model.js';

export const COMPONENTS = {
  prometheus: { name: 'prometheus', port: 9090 },
  alertmanager: { name: 'alertmanager', port: 9093 },
  grafana: { name: 'grafana', port: 3000 },
  loki: { name: 'loki', port: 3100, grpcPort: 9095 },
  alloy: { name: 'alloy', port: 12345 },
  promtail: { name: 'promtail', port: 9080 },
  kubeStateMetrics: { name: 'kube-state-metrics', port: 8080, telemetryPort: 8081 },
  blackboxExporter: { name: 'blackbox-exporter', port: 9115 },
  ipmiExporter: { name: 'ipmi-exporter', port: 9290 },
  nodeExporter: { name: 'node-exporter', port: 9100 },
  localPathProvisioner: { name: 'local-path-provisioner' },
} as const;

/** The StorageClass every monitoring PVC asks for, in both storage modes. */
export const STORAGE_CLASS = 'local-path';
/** Namespace of the local-path provisioner (its upstream default). */
export const LOCAL_PATH_NAMESPACE = 'local-path-storage';

/** UIDs the upstream images run as; volumes are made theirs through fsGroup. */
export const RUN_AS = {
  grafana: 472,
  loki: 10001,
  prometheus: 65534,
  alertmanager: 65534,
} as const;

export function monitoringNamespace(cluster: Cluster): string {
  return cluster.spec.monitoring.namespace;
}

/** In-cluster URL of a monitoring Service. */
export function serviceUrl(cluster: Cluster, component: { name: string; port: number }): string {
  return `http://${component.name}.${monitoringNamespace(cluster)}.svc.${cluster.spec.kubernetes.clusterDomain}:${component.port}`;
}
