// The names this renderer shares with its neighbours: the power manager's metrics (dashboards),
// the metrics renderer's Services, ports, pod labels and claims (datasources, NetworkPolicies,
// static volumes). A rename on either side fails here instead of in a cluster.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PowerMetrics } from '../../../src/power/controller/metrics.js';
import { metrics } from '../../../src/render/metrics/index.js';
import { JOBS, NAMES, PORTS } from '../../../src/render/metrics/names.js';
import { DATASOURCES, POWER_METRICS, buildDashboards } from '../../../src/render/observability/grafana/dashboards.js';
import { datasourcesProvisioning } from '../../../src/render/observability/grafana/config.js';
import { COMPONENTS, STORAGE_CLASS } from '../../../src/render/observability/names.js';
import { monitoringVolumes } from '../../../src/render/observability/storage.js';
import { exampleCluster } from './fixture.js';

describe('contract with the power manager', () => {
  const registry = new PowerMetrics().registry;

  it('the dashboards query metrics the power manager exports, with labels it sets', () => {
    const exprs = buildDashboards(exampleCluster()).flatMap((d) => (d.json.panels ?? []).flatMap((p: any) => (p.targets ?? []).map((t: any) => String(t.expr ?? ''))));
    for (const name of [POWER_METRICS.state, POWER_METRICS.transitions, POWER_METRICS.wakeLatency, POWER_METRICS.energySaved, POWER_METRICS.failures]) {
      const metric = registry.getSingleMetric(name) as unknown as { labelNames: string[] } | undefined;
      expect(metric, name).toBeDefined();
      const uses = exprs.filter((e) => e.includes(name));
      expect(uses.length, name).toBeGreaterThan(0);
      // Every label matcher on this metric names a label the metric has.
      for (const e of uses) {
        for (const m of e.matchAll(new RegExp(`${name}(?:_bucket)?\\{([^}]*)\\}`, 'g'))) {
          for (const [, label] of m[1]!.matchAll(/([a-z_]+)\s*(?:=~|!=|!~|=)/g)) expect(metric!.labelNames, `${name} label ${label}`).toContain(label);
        }
      }
    }
  });

  it('the dashboards look for the power manager under the job Prometheus scrapes it as', () => {
    expect(POWER_METRICS.job).toBe(JOBS.powerManager);
  });
});

describe('contract with the metrics renderer', () => {
  const cluster = exampleCluster();
  const docs = metrics
    .render(cluster)
    .filter((a) => a.path.startsWith('manifests/'))
    .flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJS() as any))
    .filter(Boolean);

  it('agrees on Service names and ports (datasource URLs, NetworkPolicy ports)', () => {
    expect(COMPONENTS.prometheus).toMatchObject({ name: NAMES.prometheus, port: PORTS.prometheus });
    expect(COMPONENTS.alertmanager).toMatchObject({ name: NAMES.alertmanager, port: PORTS.alertmanager });
    expect(COMPONENTS.blackboxExporter).toMatchObject({ name: NAMES.blackbox, port: PORTS.blackbox });
    expect(COMPONENTS.kubeStateMetrics).toMatchObject({ name: NAMES.kubeStateMetrics, port: PORTS.kubeStateMetrics, telemetryPort: PORTS.kubeStateMetricsTelemetry });
    expect(COMPONENTS.ipmiExporter).toMatchObject({ name: NAMES.ipmiExporter, port: PORTS.ipmiExporter });
    for (const svc of [NAMES.prometheus, NAMES.alertmanager]) {
      const s = docs.find((d) => d.kind === 'Service' && d.metadata.name === svc);
      expect(s, svc).toBeDefined();
    }
    const urls = datasourcesProvisioning(cluster).datasources.map((d) => d.url);
    expect(urls).toContain(`http://${NAMES.prometheus}.monitoring.svc.cluster.local:${PORTS.prometheus}`);
    expect(urls).toContain(`http://${NAMES.alertmanager}.monitoring.svc.cluster.local:${PORTS.alertmanager}`);
    expect(DATASOURCES.alertmanager.uid).toBe('alertmanager');
  });

  it('their pods carry the labels the NetworkPolicies select', () => {
    for (const name of [NAMES.prometheus, NAMES.alertmanager, NAMES.blackbox, NAMES.kubeStateMetrics]) {
      const workload = docs.find((d) => ['Deployment', 'StatefulSet'].includes(d.kind) && d.metadata.name === name);
      expect(workload, name).toBeDefined();
      expect(workload.spec.template.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'vmstation' });
    }
  });

  it('their claims are the ones the static volumes pre-bind, on the storage class this renderer provides', () => {
    expect(NAMES.storageClass).toBe(STORAGE_CLASS);
    const claims = docs
      .filter((d) => d.kind === 'StatefulSet')
      .flatMap((d) => (d.spec.volumeClaimTemplates ?? []).map((t: any) => ({ name: `${t.metadata.name}-${d.metadata.name}-0`, size: t.spec.resources.requests.storage, cls: t.spec.storageClassName })));
    const table = monitoringVolumes(cluster);
    for (const c of claims) {
      const v = table.find((x) => x.claimName === c.name);
      expect(v, c.name).toBeDefined();
      expect([c.size, c.cls]).toEqual([v!.size, STORAGE_CLASS]);
    }
    expect(claims.map((c) => c.name).sort()).toEqual(['data-alertmanager-0', 'data-prometheus-0']);
  });
});
