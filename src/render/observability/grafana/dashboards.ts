// Grafana dashboards, built with the typed builders of @grafana/grafana-foundation-sdk (not
// hand-written JSON). Every query names its datasource by the uid the provisioned datasources
// use; tests parse every PromQL and LogQL query and check the uids.
import type { Dashboard, DataTransformerConfig } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  MappingType,
  QueryVariableBuilder,
  TextBoxVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { LogsSortOrder, VisibilityMode, type DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { DataqueryBuilder as LokiQuery } from '@grafana/grafana-foundation-sdk/loki';
import { DataqueryBuilder as PromQuery, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { Cluster } from '../../../config/model.js';
import { POWER_STATES } from '../../../config/schema.js';
import { POWER_STATE_METRIC } from '../../k8s/common.js';
import { snapshotMaxAgeSeconds } from '../../metrics/rules/etcd.js';
import { etcdSnapshotAgePanel } from './etcd-panel.js';

/** The datasources Grafana provisions (uids are stable: dashboards refer to them). */
export const DATASOURCES = {
  prometheus: { type: 'prometheus', uid: 'prometheus' },
  loki: { type: 'loki', uid: 'loki' },
  alertmanager: { type: 'alertmanager', uid: 'alertmanager' },
} as const satisfies Record<string, DataSourceRef>;

/** Metrics the power manager exports (its contract with these dashboards and the alert rules). */
export const POWER_METRICS = {
  state: POWER_STATE_METRIC,
  transitions: 'vmstation_power_transitions_total',
  wakeLatency: 'vmstation_wake_latency_seconds',
  energySaved: 'vmstation_energy_saved_kwh_total',
  failures: 'vmstation_power_failures_total',
  /** Prometheus job of the power manager's /metrics. */
  job: 'vmstation-power-manager',
} as const;

export interface RenderedDashboard {
  /** File name under configs/grafana/dashboards/. */
  file: string;
  uid: string;
  json: Dashboard;
}

const PROM = DATASOURCES.prometheus;
const LOKI = DATASOURCES.loki;

const prom = (expr: string, legend?: string, refId = 'A') => {
  const q = new PromQuery().expr(expr).refId(refId).datasource(PROM);
  return legend === undefined ? q : q.legendFormat(legend);
};
const loki = (expr: string, legend?: string, refId = 'A') => {
  const q = new LokiQuery().expr(expr).refId(refId).datasource(LOKI);
  return legend === undefined ? q : q.legendFormat(legend);
};

/** Any panel builder: what the layout helper needs of it. */
interface AnyPanel extends Builder<unknown> {
  id(id: number): this;
  gridPos(pos: { x: number; y: number; w: number; h: number }): this;
}

/** Places panels left to right in a 24-column grid and numbers them (unique ids per dashboard). */
class Layout {
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  private nextId = 1;
  readonly panels: AnyPanel[] = [];

  add<P extends AnyPanel>(panel: P, w: number, h: number): this {
    if (this.x + w > 24) {
      this.x = 0;
      this.y += this.rowHeight;
      this.rowHeight = 0;
    }
    panel.id(this.nextId++).gridPos({ x: this.x, y: this.y, w, h });
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
    this.panels.push(panel);
    return this;
  }
}

function base(uid: string, title: string, description: string, tags: string[]): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['vmstation', ...tags])
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(new DashboardLinkBuilder('VMStation').type(DashboardLinkType.Dashboards).tags(['vmstation']).asDropdown(true).includeVars(false).keepTime(true));
}

function finish(db: DashboardBuilder, layout: Layout): Dashboard {
  for (const p of layout.panels) db.withPanel(p as unknown as Builder<never>);
  return db.build();
}

const nodeVariable = () =>
  new QueryVariableBuilder('node')
    .label('Node')
    .datasource(PROM)
    .query({ query: 'label_values(node_uname_info, node)', refId: 'node' })
    .definition('label_values(node_uname_info, node)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.+');

const percentThresholds = () =>
  new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: 0.8, color: 'orange' },
    { value: 0.9, color: 'red' },
  ]);

/** One number per power state, so a state timeline can colour and name it. */
const POWER_STATE_COLORS: Record<(typeof POWER_STATES)[number], string> = {
  awake: 'green',
  draining: 'yellow',
  suspending: 'orange',
  asleep: 'blue',
  waking: 'purple',
  failed: 'red',
};

export function powerStateExpr(): string {
  const parts = POWER_STATES.map((s, i) => `(${POWER_METRICS.state}{state="${s}"} * ${i + 1})`);
  return `max by (node) (${parts.join(' or ')})`;
}

function powerStateMappings(): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  POWER_STATES.forEach((s, i) => {
    options[String(i + 1)] = { text: s, color: POWER_STATE_COLORS[s], index: i };
  });
  return [{ type: MappingType.ValueToText, options }];
}

function powerTimeline(): StateTimelinePanel {
  return new StateTimelinePanel()
    .title('Power state per node')
    .description('awake, draining, suspending, asleep, waking or failed, as the power manager reports it.')
    .datasource(PROM)
    .withTarget(prom(powerStateExpr(), '{{node}}'))
    .mappings(powerStateMappings())
    .showValue(VisibilityMode.Never)
    .mergeValues(true);
}

const organizeByNode: DataTransformerConfig = { id: 'organize', options: { renameByName: { node: 'Node' } } };

function clusterOverview(cluster: Cluster): RenderedDashboard {
  const l = new Layout();
  l.add(new StatPanel().title('Nodes reporting').datasource(PROM).withTarget(prom('count(node_uname_info)')), 4, 4);
  l.add(
    new StatPanel().title('Nodes asleep').datasource(PROM).withTarget(prom(`count(${POWER_METRICS.state}{state="asleep"} == 1) or vector(0)`)),
    4,
    4,
  );
  l.add(new StatPanel().title('Firing alerts').datasource(PROM).withTarget(prom('count(ALERTS{alertstate="firing", alertname!="Watchdog"}) or vector(0)')), 4, 4);
  l.add(new StatPanel().title('Targets down').datasource(PROM).withTarget(prom('count(up == 0) or vector(0)')), 4, 4);
  l.add(new StatPanel().title('Pods running').datasource(PROM).withTarget(prom('sum(kube_pod_status_phase{phase="Running"})')), 4, 4);
  l.add(new StatPanel().title('Energy saved (24h)').unit('kwatth').decimals(2).datasource(PROM).withTarget(prom(`sum(increase(${POWER_METRICS.energySaved}[24h])) or vector(0)`)), 4, 4);
  l.add(powerTimeline(), 24, 6);
  l.add(
    new TimeSeriesPanel()
      .title('CPU use per node')
      .unit('percentunit')
      .min(0)
      .max(1)
      .datasource(PROM)
      .withTarget(prom('1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))', '{{node}}')),
    12,
    8,
  );
  l.add(
    new TimeSeriesPanel()
      .title('Memory use per node')
      .unit('percentunit')
      .min(0)
      .max(1)
      .datasource(PROM)
      .withTarget(prom('1 - sum by (node) (node_memory_MemAvailable_bytes) / sum by (node) (node_memory_MemTotal_bytes)', '{{node}}')),
    12,
    8,
  );
  l.add(
    new TimeSeriesPanel()
      .title('Error log lines per namespace')
      .datasource(LOKI)
      .withTarget(loki('sum by (namespace) (count_over_time({namespace=~".+"} |~ "(?i)(error|fail|panic)" [$__auto]))', '{{namespace}}')),
    12,
    8,
  );
  l.add(
    new TablePanel()
      .title('Firing alerts')
      .datasource(PROM)
      .withTarget(prom('ALERTS{alertstate="firing", alertname!="Watchdog"}').instant().format(PromQueryFormat.Table))
      .withTransformation(organizeByNode),
    12,
    8,
  );
  if (cluster.spec.kubernetes.etcd.snapshots.enabled && cluster.spec.monitoring.exporters.node) l.add(etcdSnapshotAgePanel(snapshotMaxAgeSeconds(cluster), cluster.spec.kubernetes.etcd.snapshots.schedule), 24, 5);
  const db = base('vmstation-cluster-overview', `${cluster.metadata.name}: cluster overview`, 'Health, power and load of the whole cluster at a glance.', ['overview']);
  return { file: 'cluster-overview.json', uid: 'vmstation-cluster-overview', json: finish(db, l) };
}

function nodes(): RenderedDashboard {
  const sel = 'node=~"$node"';
  const l = new Layout();
  l.add(new TimeSeriesPanel().title('CPU use').unit('percentunit').min(0).max(1).thresholds(percentThresholds()).datasource(PROM)
    .withTarget(prom(`1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle", ${sel}}[$__rate_interval]))`, '{{node}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Memory use').unit('percentunit').min(0).max(1).datasource(PROM)
    .withTarget(prom(`1 - node_memory_MemAvailable_bytes{${sel}} / node_memory_MemTotal_bytes{${sel}}`, '{{node}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Load (1m) per core').datasource(PROM)
    .withTarget(prom(`node_load1{${sel}} / on (node) count by (node) (node_cpu_seconds_total{mode="idle", ${sel}})`, '{{node}}')), 12, 8);
  l.add(new BarGaugePanel().title('Filesystem use').unit('percentunit').min(0).max(1).thresholds(percentThresholds()).datasource(PROM)
    .withTarget(prom(`1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs", ${sel}} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs", ${sel}}`, '{{node}} {{mountpoint}}').instant()), 12, 8);
  l.add(new TimeSeriesPanel().title('Network received').unit('Bps').datasource(PROM)
    .withTarget(prom(`sum by (node) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|cali.*|flannel.*|cni.*|tunl.*|vxlan.*", ${sel}}[$__rate_interval]))`, '{{node}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Network sent').unit('Bps').datasource(PROM)
    .withTarget(prom(`sum by (node) (rate(node_network_transmit_bytes_total{device!~"lo|veth.*|cali.*|flannel.*|cni.*|tunl.*|vxlan.*", ${sel}}[$__rate_interval]))`, '{{node}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Disk I/O time').unit('percentunit').datasource(PROM)
    .withTarget(prom(`rate(node_disk_io_time_seconds_total{${sel}}[$__rate_interval])`, '{{node}} {{device}}')), 12, 8);
  l.add(new StatPanel().title('Uptime').unit('s').datasource(PROM)
    .withTarget(prom(`time() - node_boot_time_seconds{${sel}}`, '{{node}}')), 12, 8);
  const db = base('vmstation-nodes', 'Nodes', 'CPU, memory, disks and network of each node (node-exporter).', ['nodes']).withVariable(nodeVariable());
  return { file: 'nodes.json', uid: 'vmstation-nodes', json: finish(db, l) };
}

function powerEnergy(): RenderedDashboard {
  const l = new Layout();
  l.add(powerTimeline(), 24, 8);
  l.add(new BarGaugePanel().title('Wakes in the time range').datasource(PROM)
    .withTarget(prom(`sum by (node) (increase(${POWER_METRICS.transitions}{to="waking"}[$__range]))`, '{{node}}').instant()), 8, 8);
  l.add(new BarGaugePanel().title('Sleeps in the time range').datasource(PROM)
    .withTarget(prom(`sum by (node) (increase(${POWER_METRICS.transitions}{to="asleep"}[$__range]))`, '{{node}}').instant()), 8, 8);
  l.add(new BarGaugePanel().title('Hours asleep (last 24h)').unit('h').datasource(PROM)
    .withTarget(prom(`sum by (node) (avg_over_time(${POWER_METRICS.state}{state="asleep"}[24h])) * 24`, '{{node}}').instant()), 8, 8);
  l.add(new TimeSeriesPanel().title('Wake latency (p50, p90)').unit('s').datasource(PROM)
    .withTarget(prom(`histogram_quantile(0.5, sum by (le, node) (rate(${POWER_METRICS.wakeLatency}_bucket[$__rate_interval])))`, 'p50 {{node}}', 'A'))
    .withTarget(prom(`histogram_quantile(0.9, sum by (le, node) (rate(${POWER_METRICS.wakeLatency}_bucket[$__rate_interval])))`, 'p90 {{node}}', 'B')), 12, 8);
  l.add(new TimeSeriesPanel().title('Energy saved (kWh, cumulative)').unit('kwatth').datasource(PROM)
    .withTarget(prom(`sum by (node) (${POWER_METRICS.energySaved})`, '{{node}}')), 12, 8);
  l.add(new StatPanel().title('Energy saved in the time range').unit('kwatth').decimals(2).datasource(PROM)
    .withTarget(prom(`sum(increase(${POWER_METRICS.energySaved}[$__range])) or vector(0)`)), 8, 5);
  l.add(new StatPanel().title('Nodes in failed state').datasource(PROM)
    .withTarget(prom(`count(${POWER_METRICS.state}{state="failed"} == 1) or vector(0)`)), 8, 5);
  l.add(new StatPanel().title('Power manager up').datasource(PROM)
    .withTarget(prom(`max(up{job="${POWER_METRICS.job}"}) or vector(0)`)), 8, 5);
  l.add(new BarGaugePanel().title('Failed power operations in the time range').datasource(PROM)
    .withTarget(prom(`sum by (node, kind) (increase(${POWER_METRICS.failures}[$__range]))`, '{{node}} {{kind}}').instant()), 24, 6);
  const db = base('vmstation-power', 'Power and energy', 'What the power manager did: states, wakes, sleep hours and energy saved.', ['power']);
  return { file: 'power-energy.json', uid: 'vmstation-power', json: finish(db, l) };
}

function logs(): RenderedDashboard {
  const l = new Layout();
  l.add(new TimeSeriesPanel().title('Log lines per namespace').datasource(LOKI)
    .withTarget(loki('sum by (namespace) (count_over_time({namespace=~"$namespace"} [$__auto]))', '{{namespace}}')), 12, 7);
  l.add(new TimeSeriesPanel().title('Error lines per namespace').datasource(LOKI)
    .withTarget(loki('sum by (namespace) (count_over_time({namespace=~"$namespace"} |~ "(?i)(error|fail|panic)" [$__auto]))', '{{namespace}}')), 12, 7);
  l.add(new LogsPanel().title('Container logs').datasource(LOKI).showTime(true).wrapLogMessage(true).sortOrder(LogsSortOrder.Descending)
    .withTarget(loki('{namespace=~"$namespace", container=~".+"} |~ "$search"')), 24, 12);
  l.add(new LogsPanel().title('systemd journal').datasource(LOKI).showTime(true).sortOrder(LogsSortOrder.Descending)
    .withTarget(loki('{job="systemd-journal"} |~ "$search"')), 12, 10);
  l.add(new LogsPanel().title('/var/log/*.log').datasource(LOKI).showTime(true).sortOrder(LogsSortOrder.Descending)
    .withTarget(loki('{job="varlog"} |~ "$search"')), 12, 10);
  const namespaceVar = new QueryVariableBuilder('namespace')
    .label('Namespace')
    .datasource(LOKI)
    .query('label_values(namespace)')
    .definition('label_values(namespace)')
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.+');
  const db = base('vmstation-logs', 'Logs', 'Container logs, the systemd journal and /var/log of every node (Loki).', ['logs'])
    .withVariable(namespaceVar)
    .withVariable(searchVariable());
  return { file: 'logs.json', uid: 'vmstation-logs', json: finish(db, l) };
}

const searchVariable = () => new TextBoxVariableBuilder('search').label('Search (regex)').defaultValue('');

function syslog(): RenderedDashboard {
  const l = new Layout();
  l.add(new TimeSeriesPanel().title('Syslog messages per node').datasource(LOKI)
    .withTarget(loki('sum by (node) (count_over_time({job="syslog"} [$__auto]))', '{{node}}')), 12, 7);
  l.add(new TimeSeriesPanel().title('Syslog messages per severity').datasource(LOKI)
    .withTarget(loki('sum by (level) (count_over_time({job="syslog"} [$__auto]))', '{{level}}')), 12, 7);
  l.add(new LogsPanel().title('Errors and worse').datasource(LOKI).showTime(true).sortOrder(LogsSortOrder.Descending)
    .withTarget(loki('{job="syslog", level=~"err|crit|alert|emerg"}')), 24, 9);
  l.add(new LogsPanel().title('All syslog messages').datasource(LOKI).showTime(true).sortOrder(LogsSortOrder.Descending)
    .withTarget(loki('{job="syslog"} |~ "$search"')), 24, 12);
  const db = base('vmstation-syslog', 'Syslog', 'The central syslog stream every node forwards (rsyslog, RFC 5424) as stored in Loki.', ['logs', 'syslog']).withVariable(searchVariable());
  return { file: 'syslog.json', uid: 'vmstation-syslog', json: finish(db, l) };
}

function timeSync(): RenderedDashboard {
  const sel = 'node=~"$node"';
  const l = new Layout();
  l.add(new StatPanel().title('Nodes not synchronised').datasource(PROM)
    .withTarget(prom(`count(node_timex_sync_status{${sel}} == 0) or vector(0)`)), 8, 4);
  l.add(new StatPanel().title('Largest offset').unit('s').datasource(PROM)
    .withTarget(prom(`max(abs(node_timex_offset_seconds{${sel}}))`)), 8, 4);
  l.add(new StatPanel().title('Largest estimated error').unit('s').datasource(PROM)
    .withTarget(prom(`max(node_timex_estimated_error_seconds{${sel}})`)), 8, 4);
  l.add(new TimeSeriesPanel().title('Clock offset').unit('s').datasource(PROM)
    .withTarget(prom(`node_timex_offset_seconds{${sel}}`, '{{node}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Maximum error').unit('s').datasource(PROM)
    .withTarget(prom(`node_timex_maxerror_seconds{${sel}}`, '{{node}}')), 12, 8);
  l.add(new StateTimelinePanel().title('Synchronised (kernel)').datasource(PROM)
    .withTarget(prom(`node_timex_sync_status{${sel}}`, '{{node}}'))
    .mappings([{ type: MappingType.ValueToText, options: { '0': { text: 'not synced', color: 'red', index: 0 }, '1': { text: 'synced', color: 'green', index: 1 } } }]), 12, 8);
  l.add(new TimeSeriesPanel().title('Frequency adjustment').unit('ppm').datasource(PROM)
    .withTarget(prom(`node_timex_frequency_adjustment_ratio{${sel}}`, '{{node}}')), 12, 8);
  const db = base('vmstation-time-sync', 'Time sync', 'Clock offset and synchronisation of every node (chrony through the kernel, node-exporter timex).', ['time']).withVariable(nodeVariable());
  return { file: 'time-sync.json', uid: 'vmstation-time-sync', json: finish(db, l) };
}

function ipmiHardware(): RenderedDashboard {
  const l = new Layout();
  l.add(new StatPanel().title('BMCs answering').datasource(PROM).withTarget(prom('sum(ipmi_up) or vector(0)')), 8, 4);
  l.add(new StatPanel().title('Sensors not nominal').datasource(PROM).withTarget(prom('count(ipmi_sensor_state != 0) or vector(0)')), 8, 4);
  l.add(new StatPanel().title('Power draw (DCMI, total)').unit('watt').datasource(PROM).withTarget(prom('sum(ipmi_dcmi_power_consumption_watts) or vector(0)')), 8, 4);
  l.add(new TimeSeriesPanel().title('Temperatures').unit('celsius').datasource(PROM)
    .withTarget(prom('ipmi_temperature_celsius', '{{node}} {{name}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Fan speeds').unit('rotrpm').datasource(PROM)
    .withTarget(prom('ipmi_fan_speed_rpm', '{{node}} {{name}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Power draw (DCMI)').unit('watt').datasource(PROM)
    .withTarget(prom('ipmi_dcmi_power_consumption_watts', '{{node}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Voltages').unit('volt').datasource(PROM)
    .withTarget(prom('ipmi_voltage_volts', '{{node}} {{name}}')), 12, 8);
  const db = base('vmstation-ipmi', 'IPMI hardware', 'Temperatures, fans, power draw and voltages from the BMCs (IPMI exporter, when enabled).', ['hardware']);
  return { file: 'ipmi-hardware.json', uid: 'vmstation-ipmi', json: finish(db, l) };
}

function prometheusHealth(): RenderedDashboard {
  const l = new Layout();
  l.add(new StatPanel().title('Targets up').datasource(PROM).withTarget(prom('sum(up)')), 6, 4);
  l.add(new StatPanel().title('Targets down').datasource(PROM).withTarget(prom('count(up == 0) or vector(0)')), 6, 4);
  l.add(new StatPanel().title('Config reload ok').datasource(PROM).withTarget(prom('min(prometheus_config_last_reload_successful)')), 6, 4);
  l.add(new StatPanel().title('Head series').datasource(PROM).withTarget(prom('max(prometheus_tsdb_head_series)')), 6, 4);
  l.add(new TablePanel().title('Targets down').datasource(PROM).withTarget(prom('up == 0').instant().format(PromQueryFormat.Table)), 24, 7);
  l.add(new TimeSeriesPanel().title('Samples appended per second').datasource(PROM)
    .withTarget(prom('rate(prometheus_tsdb_head_samples_appended_total[$__rate_interval])', '{{pod}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Slowest scrapes').unit('s').datasource(PROM)
    .withTarget(prom('topk(10, max by (job) (scrape_duration_seconds))', '{{job}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Rule evaluation failures').datasource(PROM)
    .withTarget(prom('sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total[$__rate_interval]))', '{{rule_group}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Notifications dropped or failed').datasource(PROM)
    .withTarget(prom('sum(rate(prometheus_notifications_dropped_total[$__rate_interval]))', 'dropped by Prometheus', 'A'))
    .withTarget(prom('sum by (integration) (rate(alertmanager_notifications_failed_total[$__rate_interval]))', 'failed {{integration}}', 'B')), 12, 8);
  l.add(new TimeSeriesPanel().title('TSDB size on disk').unit('bytes').datasource(PROM)
    .withTarget(prom('prometheus_tsdb_storage_blocks_bytes + prometheus_tsdb_wal_storage_size_bytes', '{{pod}}')), 12, 8);
  l.add(new TimeSeriesPanel().title('Loki ingested lines per second').datasource(PROM)
    .withTarget(prom('sum(rate(loki_distributor_lines_received_total[$__rate_interval]))', 'lines/s')), 12, 8);
  const db = base('vmstation-prometheus', 'Prometheus health', 'Is monitoring itself healthy: targets, ingestion, rules, notifications, storage.', ['monitoring']);
  return { file: 'prometheus-health.json', uid: 'vmstation-prometheus', json: finish(db, l) };
}

/** The home dashboard (Grafana's default_home_dashboard_path points at it). */
export const HOME_DASHBOARD_FILE = 'cluster-overview.json';

export function buildDashboards(cluster: Cluster): RenderedDashboard[] {
  return [clusterOverview(cluster), nodes(), powerEnergy(), logs(), syslog(), timeSync(), ipmiHardware(), prometheusHealth()];
}

/** A dashboard file: stable key order and a trailing newline. */
export function dashboardText(d: RenderedDashboard): string {
  return `${JSON.stringify(sortKeys(d.json), null, 2)}\n`;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
