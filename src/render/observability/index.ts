// The `observability` renderer: namespace, storage, Grafana (datasources and dashboards), Loki,
// the log shipper (Alloy or Promtail) and the namespace's NetworkPolicies. Prometheus, the alert
// rules, Alertmanager and the exporters come from the `metrics` renderer.
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { toYamlDocuments, type KubeObject } from '../k8s/common.js';
import type { Renderer } from '../registry.js';
import { alloyConfigText } from './alloy/config.js';
import { dashboardProvisioning, datasourcesProvisioning, grafanaIni, iniText, provisioningText } from './grafana/config.js';
import { buildDashboards, dashboardText } from './grafana/dashboards.js';
import { grafanaObjects } from './grafana/manifest.js';
import { lokiConfigText, lokiObjects } from './loki.js';
import { networkPolicyObjects } from './network-policies.js';
import { promtailConfigText } from './promtail.js';
import { shipperObjects } from './shipper.js';
import { localPathProvisionerObjects, namespaceObjects, staticVolumeObjects } from './storage.js';

const manifest = (path: string, component: string, objects: readonly KubeObject[]): Artifact => ({
  path: `manifests/${path}`,
  component,
  checker: 'kubernetes-schema',
  content: `# Rendered by vmstation; do not edit.\n${toYamlDocuments(objects)}`,
});

export function renderObservability(cluster: Cluster): Artifact[] {
  if (!cluster.spec.monitoring.enabled) return [];
  const name = cluster.metadata.name;
  const out: Artifact[] = [];

  out.push(manifest('namespace.yaml', 'namespace', namespaceObjects(cluster)));
  if (cluster.spec.monitoring.storage.mode === 'local-path') out.push(manifest('local-path-provisioner.yaml', 'storage', localPathProvisionerObjects(cluster)));
  else out.push(manifest('static-volumes.yaml', 'storage', staticVolumeObjects(cluster)));

  // Grafana
  const ini = iniText(grafanaIni(cluster), `Grafana configuration rendered by vmstation for ${name}; do not edit.`);
  const datasources = provisioningText(datasourcesProvisioning(cluster), `Grafana datasources rendered by vmstation for ${name}; do not edit.`);
  const provider = provisioningText(dashboardProvisioning(), `Grafana dashboard provider rendered by vmstation for ${name}; do not edit.`);
  const dashboards: Record<string, string> = {};
  for (const d of buildDashboards(cluster)) {
    const text = dashboardText(d);
    dashboards[d.file] = text;
    out.push({ path: `configs/grafana/dashboards/${d.file}`, component: 'grafana', checker: 'json', content: text });
  }
  out.push(
    { path: 'configs/grafana/grafana.ini', component: 'grafana', checker: 'golden', content: ini },
    { path: 'configs/grafana/provisioning/datasources/datasources.yaml', component: 'grafana', checker: 'golden', content: datasources },
    { path: 'configs/grafana/provisioning/dashboards/dashboards.yaml', component: 'grafana', checker: 'golden', content: provider },
    manifest('grafana.yaml', 'grafana', grafanaObjects(cluster, { ini, datasources, dashboardProvider: provider, dashboards })),
  );

  // Loki
  const loki = lokiConfigText(cluster);
  out.push({ path: 'configs/loki/loki.yaml', component: 'loki', checker: 'golden', content: loki }, manifest('loki.yaml', 'loki', lokiObjects(cluster, loki)));

  // Log shipper
  const shipper = cluster.spec.monitoring.logShipper;
  if (shipper === 'alloy') {
    const text = alloyConfigText(cluster);
    out.push({ path: 'configs/alloy/config.alloy', component: 'alloy', checker: 'golden', content: text }, manifest('alloy.yaml', 'alloy', shipperObjects(cluster, 'alloy', text)));
  } else {
    const text = promtailConfigText(cluster);
    out.push({ path: 'configs/promtail/promtail.yaml', component: 'promtail', checker: 'golden', content: text }, manifest('promtail.yaml', 'promtail', shipperObjects(cluster, 'promtail', text)));
  }

  out.push(manifest('network-policies.yaml', 'network-policies', networkPolicyObjects(cluster, shipper)));
  return out;
}

export const observability: Renderer = { name: 'observability', render: renderObservability };
