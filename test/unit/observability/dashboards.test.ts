// Dashboards: valid JSON built by the foundation SDK, unique panel ids, every datasource uid
// provisioned, and every query parsed by the real grammars (PromQL: @prometheus-io/lezer-promql,
// LogQL: @grafana/lezer-logql) with Grafana's variables replaced by sample values.
import { parser as logqlParser } from '@grafana/lezer-logql';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderObservability } from '../../../src/render/observability/index.js';
import { exampleCluster } from './fixture.js';
import { substituteVariables, syntaxErrors } from './queries.js';

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  gridPos: { x: number; y: number; w: number; h: number };
}
interface DashboardJson {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: Array<{ name: string; datasource?: { uid: string } }> };
}

const cluster = exampleCluster();
const artifacts = renderObservability(cluster);
const dashboardArtifacts = artifacts.filter((a) => a.path.startsWith('configs/grafana/dashboards/'));
const dashboards = dashboardArtifacts.map((a) => ({ path: a.path, json: JSON.parse(a.content) as DashboardJson }));
const datasourcesFile = parse(artifacts.find((a) => a.path === 'configs/grafana/provisioning/datasources/datasources.yaml')!.content) as {
  datasources: Array<{ uid: string; type: string; name: string; url: string }>;
};
const provisioned = new Map(datasourcesFile.datasources.map((d) => [d.uid, d.type]));

const queries = dashboards.flatMap((d) =>
  d.json.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.json.uid, panel: p.title, uid: t.datasource?.uid ?? p.datasource?.uid, expr: t.expr ?? '' }))),
);

describe('Grafana dashboards', () => {
  it('renders the eight dashboards, with the cluster overview as the home dashboard', () => {
    expect(dashboards.map((d) => d.json.uid)).toEqual([
      'vmstation-cluster-overview',
      'vmstation-nodes',
      'vmstation-power',
      'vmstation-logs',
      'vmstation-syslog',
      'vmstation-time-sync',
      'vmstation-ipmi',
      'vmstation-prometheus',
    ]);
    const ini = artifacts.find((a) => a.path === 'configs/grafana/grafana.ini')!.content;
    expect(ini).toContain('default_home_dashboard_path = /var/lib/grafana-dashboards/cluster-overview.json');
    for (const a of dashboardArtifacts) expect(a.checker).toBe('json');
  });

  it('writes valid JSON with unique panel ids and non-overlapping positions', () => {
    for (const d of dashboards) {
      const ids = d.json.panels.map((p) => p.id);
      expect(new Set(ids).size, d.path).toBe(ids.length);
      expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
      const cells = new Set<string>();
      for (const p of d.json.panels) {
        expect(p.gridPos.x + p.gridPos.w, `${d.path} ${p.title}`).toBeLessThanOrEqual(24);
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
          for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
            const cell = `${x},${y}`;
            expect(cells.has(cell), `${d.path} ${p.title} overlaps at ${cell}`).toBe(false);
            cells.add(cell);
          }
      }
    }
  });

  it('provisions Prometheus, Loki and Alertmanager, and every query names one of them', () => {
    expect([...provisioned.entries()]).toEqual([
      ['prometheus', 'prometheus'],
      ['loki', 'loki'],
      ['alertmanager', 'alertmanager'],
    ]);
    expect(queries.length).toBeGreaterThan(50);
    for (const q of queries) expect(provisioned.has(q.uid ?? ''), `${q.dashboard} / ${q.panel}`).toBe(true);
    for (const d of dashboards) for (const v of d.json.templating?.list ?? []) if (v.datasource) expect(provisioned.has(v.datasource.uid)).toBe(true);
  });

  it('parses every PromQL query with the Prometheus grammar', () => {
    const prom = queries.filter((q) => provisioned.get(q.uid ?? '') === 'prometheus');
    expect(prom.length).toBeGreaterThan(40);
    for (const q of prom) expect({ q: q.expr, errors: syntaxErrors(promqlParser, substituteVariables(q.expr)) }).toEqual({ q: q.expr, errors: [] });
  });

  it('parses every LogQL query with the LogQL grammar', () => {
    const logql = queries.filter((q) => provisioned.get(q.uid ?? '') === 'loki');
    expect(logql.length).toBeGreaterThanOrEqual(10);
    for (const q of logql) expect({ q: q.expr, errors: syntaxErrors(logqlParser, substituteVariables(q.expr)) }).toEqual({ q: q.expr, errors: [] });
  });

  it('the parsers reject broken queries (the check is not vacuous)', () => {
    expect(syntaxErrors(promqlParser, 'sum by (node (rate(up[5m]))')).not.toEqual([]);
    expect(syntaxErrors(promqlParser, 'rate(up[5m]')).not.toEqual([]);
    expect(syntaxErrors(logqlParser, '{job="syslog" |~ "x"')).not.toEqual([]);
    expect(syntaxErrors(logqlParser, 'count_over_time({job="syslog"})')).not.toEqual([]);
  });

  it('shows the power manager: state timeline, wakes, wake latency, sleep hours and kWh saved', () => {
    const power = dashboards.find((d) => d.json.uid === 'vmstation-power')!.json;
    const exprs = power.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
    expect(power.panels.some((p) => p.type === 'state-timeline' && p.targets?.[0]?.expr?.includes('vmstation_node_power_state'))).toBe(true);
    expect(exprs.some((e) => e.includes('vmstation_power_transitions_total{to="waking"}'))).toBe(true);
    expect(exprs.some((e) => e.includes('vmstation_wake_latency_seconds_bucket'))).toBe(true);
    expect(exprs.some((e) => e.includes('vmstation_node_power_state{state="asleep"}[24h]'))).toBe(true);
    expect(exprs.some((e) => e.includes('increase(vmstation_energy_saved_kwh_total'))).toBe(true);
  });

  it('queries syslog by job="syslog", time sync by node_timex_* and IPMI by ipmi_*', () => {
    const exprsOf = (uid: string) => dashboards.find((d) => d.json.uid === uid)!.json.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
    expect(exprsOf('vmstation-syslog').every((e) => e.includes('job="syslog"'))).toBe(true);
    expect(exprsOf('vmstation-time-sync').every((e) => e.includes('node_timex_'))).toBe(true);
    expect(exprsOf('vmstation-ipmi').every((e) => e.includes('ipmi_'))).toBe(true);
  });
});
