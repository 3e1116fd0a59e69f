// Issue #12 §5, "alerts that can fire": every alert rule's selectors must match series the
// rendered scrape configuration can produce. The check is general (src/render/metrics/series-check):
// it parses each rule with lezer-promql, synthesizes the targets discovery would find among the
// rendered objects, runs each job's relabeling, and matches the selectors against the job names,
// the kept labels and the metric families each exporter exposes at the pinned version
// (catalog.ts names the source of each). These tests prove it passes on every rendered variant and
// fails on each kind of dead rule, including the ones it found in this repository.
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/config/model.js';
import type { Artifact } from '../../../src/render/artifact.js';
import { renderCluster } from '../../../src/render/index.js';
import { exporterCatalogs } from '../../../src/render/metrics/series-check/catalog.js';
import { analyse, checkRenderedRules } from '../../../src/render/metrics/series-check/index.js';
import { relabel, UNKNOWN } from '../../../src/render/metrics/series-check/relabel.js';
import { VARIANTS, variant } from '../observability/fixture.js';
import { EXAMPLE, FULL_FIXTURE, loadCluster, REPO } from './support.js';

const clusters: Record<string, () => Cluster> = {
  ...VARIANTS,
  full: () => loadCluster(FULL_FIXTURE),
  'rke2 (rocky)': () => loadCluster(path.join(REPO, 'test/fixtures/valid/rke2-rocky.yaml')),
  kubeadm: () => variant((d) => (d.spec.kubernetes = { ...d.spec.kubernetes, method: 'kubeadm' })),
};

/** The rendered tree with one rule file replaced (the check reads only the rendered text). */
function withRules(artifacts: readonly Artifact[], rules: Array<{ alert: string; expr: string }>): Artifact[] {
  const file = { groups: [{ name: 'extra', rules: rules.map((r) => ({ ...r, labels: { severity: 'warning' } })) }] };
  return [...artifacts, { path: 'configs/prometheus/rules/extra.yaml', content: stringify(file), component: 'prometheus', checker: 'promtool-rules' }];
}

function edit(artifacts: readonly Artifact[], p: string, change: (text: string) => string): Artifact[] {
  return artifacts.map((a) => {
    if (a.path !== p) return a;
    const next = change(a.content);
    expect(next, `edit of ${p} changed nothing`).not.toBe(a.content);
    return { ...a, content: next };
  });
}

describe('every alert rule can fire (general check over the rendered tree)', () => {
  it.each(Object.keys(clusters))('%s: no rule selects a series the scrape configuration cannot produce', (name) => {
    const cluster = clusters[name]!();
    const artifacts = renderCluster(cluster);
    const rules = artifacts.filter((a) => a.path.startsWith('configs/prometheus/rules/'));
    expect(rules.length).toBe(7);
    expect(checkRenderedRules(cluster, artifacts)).toEqual([]);
  });

  it('reports a deliberately dead rule (a job nobody scrapes), and a label no series has', () => {
    const cluster = loadCluster(EXAMPLE);
    const artifacts = withRules(renderCluster(cluster), [
      { alert: 'DeadJob', expr: 'up{job="node_exporter"} == 0' },
      { alert: 'DeadLabel', expr: 'node_load15{hostname="masternode"} > 2' },
      { alert: 'DeadName', expr: 'node_load_15 > 2' },
      { alert: 'DeadGroup', expr: 'sum by (hostname) (node_load15) > 2' },
      { alert: 'Alive', expr: 'up{job="node-exporter",node="masternode"} == 0' },
    ]);
    const problems = checkRenderedRules(cluster, artifacts);
    expect(problems.map((p) => p.rule)).toEqual(['DeadJob', 'DeadLabel', 'DeadName', 'DeadGroup']);
    expect(problems[0]!.message).toMatch(/none has the labels/);
    expect(problems[2]!.message).toMatch(/no scraped program exposes/);
    expect(problems[3]!.message).toMatch(/"hostname"/);
  });

  // The defects this check found here, each re-created on the rendered text.
  it('finds KubeStateMetricsListErrors dead when only the metrics port is scraped (its self metrics are on the telemetry port)', () => {
    // kubernetes/kube-state-metrics@v2.18.0:pkg/app/server.go registers kube_state_metrics_list_total
    // on ksmMetricsRegistry, which only the telemetry server serves.
    const cluster = loadCluster(EXAMPLE);
    const artifacts = edit(renderCluster(cluster), 'configs/prometheus/prometheus.yml', (t) => t.replace('kube-state-metrics;(http-metrics|telemetry)', 'kube-state-metrics;http-metrics'));
    expect(checkRenderedRules(cluster, artifacts).map((p) => p.rule)).toEqual(['KubeStateMetricsListErrors', 'KubeStateMetricsListErrors']);
  });

  it('finds LogShipperDown dead on the annotated-pods job: the shipper is scraped through its annotated Service', () => {
    const cluster = loadCluster(EXAMPLE);
    const artifacts = edit(renderCluster(cluster), 'configs/prometheus/rules/logging.yaml', (t) => {
      const doc = parse(t) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
      for (const r of doc.groups[0]!.rules) r.expr = r.expr.replace('job="kubernetes-service-endpoints"', 'job="kubernetes-pods"');
      return stringify(doc);
    });
    expect(checkRenderedRules(cluster, artifacts).map((p) => p.rule)).toEqual(['LogShipperDown']);
  });

  it('finds the certificate-expiry rule dead when no probe speaks TLS', () => {
    // prometheus/blackbox_exporter@v0.28.0:prober/query_response.go sets probe_ssl_earliest_cert_expiry
    // only on a TLS connection; http.go only for an https response.
    const cluster = loadCluster(EXAMPLE);
    const artifacts = edit(renderCluster(cluster), 'configs/blackbox/blackbox.yml', (t) => t.replace('tls: true', 'tls: false'));
    expect(checkRenderedRules(cluster, artifacts).map((p) => p.rule)).toEqual(['BlackboxSslCertificateWillExpireSoon']);
  });

  it('finds the chrony rules dead when node-exporter runs without its systemd collector (off by default)', () => {
    // prometheus/node_exporter@v1.11.1:collector/systemd_linux.go: registerCollector("systemd", defaultDisabled, ...)
    const cluster = loadCluster(EXAMPLE);
    const artifacts = edit(renderCluster(cluster), 'manifests/node-exporter.yaml', (t) => t.replace('- --collector.systemd\n', ''));
    expect(new Set(checkRenderedRules(cluster, artifacts).map((p) => p.rule))).toEqual(new Set(['NodeSystemdServiceFailed', 'NTPServiceDown', 'NTPServerDown']));
  });

  it('finds the IPMI rules dead when the IPMI job goes away, and the power rules when the power manager is not scraped', () => {
    const cluster = loadCluster(FULL_FIXTURE);
    const noIpmi = edit(renderCluster(cluster), 'configs/prometheus/prometheus.yml', (t) => {
      const doc = parse(t) as { scrape_configs: Array<{ job_name: string }> };
      doc.scrape_configs = doc.scrape_configs.filter((j) => j.job_name !== 'ipmi' && j.job_name !== 'vmstation-power-manager');
      return stringify(doc);
    });
    const rules = new Set(checkRenderedRules(cluster, noIpmi).map((p) => p.rule));
    for (const r of ['IpmiScrapeFailed', 'IpmiSensorCritical', 'IpmiSensorWarning', 'NodeWakeFailed', 'PowerManagerDown']) expect(rules, r).toContain(r);
  });

  it('names the source of every exporter catalog', () => {
    for (const c of exporterCatalogs()) expect(c.source, c.id).toMatch(/^[\w-]+\/[\w.-]+@v?\d|^src\/|^\(no rule/);
  });
});

describe('the pieces of the check', () => {
  it('extracts every vector selector with its matchers, including {__name__=~...}', () => {
    const a = analyse('sum by (node) (rate({__name__=~"a_total|b_total"}[5m])) > 0 unless on (node) max by (node) (x{state=~"asleep|waking",job!="y"}) == 1');
    expect(a.errors).toEqual([]);
    expect(a.selectors.map((s) => s.matchers)).toEqual([
      [{ label: '__name__', op: '=~', value: 'a_total|b_total' }],
      [
        { label: '__name__', op: '=', value: 'x' },
        { label: 'state', op: '=~', value: 'asleep|waking' },
        { label: 'job', op: '!=', value: 'y' },
      ],
    ]);
    expect(a.groupings.map((g) => g.labels)).toEqual([['node'], ['node'], ['node']]);
    expect(analyse('up{job="x" == 0').errors.length).toBeGreaterThan(0);
  });

  it('relabels as Prometheus does: anchored regexes, keep/drop, $1 replacement, unknown values stay unknown', () => {
    // prometheus/prometheus@v3.11.2:model/relabel/relabel.go
    const input = new Map([
      ['__address__', '10.0.0.1:53'],
      ['__meta_svc', 'kube-dns'],
      ['__meta_port', '9153'],
      ['__meta_node', UNKNOWN],
    ]);
    expect(relabel(input, [{ source_labels: ['__meta_svc'], regex: 'dns', action: 'keep' }])).toBeUndefined();
    expect(relabel(input, [{ source_labels: ['__meta_svc'], regex: 'kube-dns', action: 'drop' }])).toBeUndefined();
    const out = relabel(input, [
      { source_labels: ['__address__', '__meta_port'], regex: '(.+?)(?::\\d+)?;(\\d+)', replacement: '$1:$2', target_label: '__address__' },
      { source_labels: ['__meta_node'], target_label: 'node' },
    ])!;
    expect(out.get('__address__')).toBe('10.0.0.1:9153');
    expect(out.get('node')).toBe(UNKNOWN);
  });

});
