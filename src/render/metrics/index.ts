// The `metrics` renderer: Prometheus with its alert rules, Alertmanager and the exporters.
// Grafana, Loki and the log shipper belong to the logging renderer.
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import type { Renderer } from '../registry.js';
import { renderAlertmanager } from './alertmanager.js';
import { renderBlackbox, renderIpmiExporter, renderKubeStateMetrics, renderNodeExporter } from './exporters.js';
import { renderPrometheus } from './prometheus.js';
import { ruleGroups } from './rules/index.js';

export function renderMetrics(cluster: Cluster): Artifact[] {
  const m = cluster.spec.monitoring;
  if (!m.enabled) return [];
  return [
    ...renderPrometheus(cluster, ruleGroups(cluster)),
    ...renderAlertmanager(cluster),
    ...(m.exporters.blackbox ? renderBlackbox(cluster) : []),
    ...(m.exporters.node ? renderNodeExporter(cluster) : []),
    ...(m.exporters.kubeStateMetrics ? renderKubeStateMetrics(cluster) : []),
    ...renderIpmiExporter(cluster),
  ];
}

export const metrics: Renderer = { name: 'metrics', render: renderMetrics };

export { alertmanagerSecretKeys, ipmiSecretKeys, NAMES as METRICS_NAMES } from './names.js';
