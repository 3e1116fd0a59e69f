// The metric families each scraped program is known to expose at the version we pin, as far as
// the alert rules use them, each read from the program's own source or docs at that tag (named
// per exporter below). The rule check (check.ts) refuses a rule selector no family can satisfy,
// so a family used by a rule must be added here with its source first.
import { PowerMetrics } from '../../../power/controller/metrics.js';

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface MetricFamily {
  name: string;
  type: FamilyType;
  labels: readonly string[];
  /** Values a label can only take, where the exporter fixes them. */
  values?: Readonly<Record<string, readonly string[]>>;
  /** node-exporter: the collector that must be on. */
  collector?: string;
  /** kube-state-metrics: the resource that must be in --resources. */
  resource?: string;
  /** kube-state-metrics: exposed on the telemetry port instead of the metrics port. */
  telemetry?: true;
  /** blackbox exporter: only for a probe that speaks TLS. */
  tls?: true;
}

export interface ExporterCatalog {
  /** The app.kubernetes.io/name of the workload, or a well-known name for programs we do not render. */
  id: string;
  /** Where the families were read (repo@tag:path or URL). */
  source: string;
  families: readonly MetricFamily[];
  /** node-exporter: collectors enabled without a flag. */
  defaultCollectors?: readonly string[];
}

const g = (name: string, labels: readonly string[] = [], extra: Partial<MetricFamily> = {}): MetricFamily => ({ name, type: 'gauge', labels, ...extra });
const c = (name: string, labels: readonly string[] = [], extra: Partial<MetricFamily> = {}): MetricFamily => ({ name, type: 'counter', labels, ...extra });
const h = (name: string, labels: readonly string[] = []): MetricFamily => ({ name, type: 'histogram', labels });

const TRUE_FALSE_UNKNOWN = ['true', 'false', 'unknown'];

// prometheus/node_exporter@v1.11.1:collector/{cpu_linux,meminfo,filesystem_common,netdev_common,
// loadavg,vmstat_linux,diskstats_linux,systemd_linux,mdadm_linux,textfile,timex}.go
const NODE_EXPORTER: ExporterCatalog = {
  id: 'node-exporter',
  source: 'prometheus/node_exporter@v1.11.1:collector/',
  defaultCollectors: ['cpu', 'meminfo', 'filesystem', 'netdev', 'loadavg', 'vmstat', 'diskstats', 'mdadm', 'textfile', 'timex'],
  families: [
    c('node_cpu_seconds_total', ['cpu', 'mode'], { collector: 'cpu', values: { mode: ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] } }),
    g('node_memory_MemAvailable_bytes', [], { collector: 'meminfo' }),
    g('node_memory_MemTotal_bytes', [], { collector: 'meminfo' }),
    ...['avail_bytes', 'size_bytes', 'readonly', 'files_free', 'files'].map((n) => g(`node_filesystem_${n}`, ['device', 'device_error', 'fstype', 'mountpoint'], { collector: 'filesystem' })),
    ...['receive_errs_total', 'receive_packets_total', 'transmit_errs_total', 'transmit_packets_total'].map((n) => c(`node_network_${n}`, ['device'], { collector: 'netdev' })),
    g('node_load15', [], { collector: 'loadavg' }),
    g('node_vmstat_pgmajfault', [], { collector: 'vmstat' }),
    c('node_disk_io_time_weighted_seconds_total', ['device'], { collector: 'diskstats' }),
    g('node_systemd_unit_state', ['name', 'state', 'type'], { collector: 'systemd', values: { state: ['activating', 'active', 'deactivating', 'inactive', 'failed'] } }),
    g('node_md_disks_required', ['device'], { collector: 'mdadm' }),
    g('node_md_disks', ['device', 'state'], { collector: 'mdadm', values: { state: ['active', 'failed', 'spare'] } }),
    g('node_textfile_scrape_error', [], { collector: 'textfile' }),
    g('node_timex_offset_seconds', [], { collector: 'timex' }),
    g('node_timex_sync_status', [], { collector: 'timex' }),
    g('node_timex_maxerror_seconds', [], { collector: 'timex' }),
    // Not node-exporter's own: the etcd snapshot script writes these into the textfile directory
    // (src/render/etcd/scripts.ts, METRICS_FILE), read by the textfile collector.
    ...['last_success_timestamp_seconds', 'last_attempt_success', 'copy_last_success_timestamp_seconds'].map((n) => g(`vmstation_etcd_snapshot_${n}`, [], { collector: 'textfile' })),
  ],
};

// kubernetes/kube-state-metrics@v2.18.0:docs/metrics/{cluster/node,workload/pod,workload/deployment,
// workload/statefulset,workload/daemonset,workload/job,storage/persistentvolume(claim)}-metrics.md;
// self metrics: pkg/watch/watch.go, registered on the telemetry port (pkg/app/server.go).
const KUBE_STATE_METRICS: ExporterCatalog = {
  id: 'kube-state-metrics',
  source: 'kubernetes/kube-state-metrics@v2.18.0:docs/metrics/',
  families: [
    g('kube_node_status_condition', ['node', 'condition', 'status'], { resource: 'nodes', values: { status: TRUE_FALSE_UNKNOWN } }),
    g('kube_node_spec_taint', ['node', 'key', 'value', 'effect'], { resource: 'nodes' }),
    g('kube_node_spec_unschedulable', ['node'], { resource: 'nodes' }),
    g('kube_node_info', ['node', 'kernel_version', 'os_image', 'container_runtime_version', 'kubelet_version', 'kubeproxy_version', 'pod_cidr', 'provider_id', 'system_uuid', 'internal_ip'], { resource: 'nodes' }),
    g('kube_pod_container_status_waiting_reason', ['namespace', 'pod', 'uid', 'container', 'reason'], { resource: 'pods' }),
    g('kube_pod_container_status_last_terminated_reason', ['namespace', 'pod', 'uid', 'container', 'reason'], { resource: 'pods' }),
    c('kube_pod_container_status_restarts_total', ['namespace', 'pod', 'uid', 'container'], { resource: 'pods' }),
    g('kube_pod_status_phase', ['namespace', 'pod', 'uid', 'phase'], { resource: 'pods', values: { phase: ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] } }),
    ...['spec_replicas', 'status_replicas_available', 'status_replicas_updated'].map((n) => g(`kube_deployment_${n}`, ['namespace', 'deployment'], { resource: 'deployments' })),
    ...['status_replicas', 'status_replicas_ready', 'status_replicas_updated'].map((n) => g(`kube_statefulset_${n}`, ['namespace', 'statefulset'], { resource: 'statefulsets' })),
    ...['status_desired_number_scheduled', 'status_current_number_scheduled', 'status_number_misscheduled'].map((n) => g(`kube_daemonset_${n}`, ['namespace', 'daemonset'], { resource: 'daemonsets' })),
    g('kube_job_failed', ['namespace', 'job_name', 'condition'], { resource: 'jobs', values: { condition: TRUE_FALSE_UNKNOWN } }),
    g('kube_persistentvolumeclaim_status_phase', ['namespace', 'persistentvolumeclaim', 'phase'], { resource: 'persistentvolumeclaims', values: { phase: ['Lost', 'Bound', 'Pending'] } }),
    g('kube_persistentvolume_status_phase', ['persistentvolume', 'phase'], { resource: 'persistentvolumes', values: { phase: ['Pending', 'Available', 'Bound', 'Released', 'Failed'] } }),
    c('kube_state_metrics_list_total', ['result', 'resource'], { telemetry: true, values: { result: ['success', 'error'] } }),
  ],
};

// The kubelet's /metrics: kubernetes/kubernetes pkg/kubelet/metrics/collectors/volume_stats.go
// (read at commit 03ac3ef2, not at a release tag: the repository is too large to fetch here; these
// three families and their labels are long-standing).
const KUBELET: ExporterCatalog = {
  id: 'kubelet',
  source: 'kubernetes/kubernetes@03ac3ef2:pkg/kubelet/metrics/collectors/volume_stats.go',
  families: ['available_bytes', 'capacity_bytes', 'used_bytes'].map((n) => g(`kubelet_volume_stats_${n}`, ['namespace', 'persistentvolumeclaim'])),
};

// prometheus/blackbox_exporter@v0.28.0:prober/handler.go (probe_success, probe_duration_seconds),
// prober/prober.go + prober/query_response.go + prober/http.go (the certificate expiry, TLS only).
const BLACKBOX_PROBE: ExporterCatalog = {
  id: 'blackbox-probe',
  source: 'prometheus/blackbox_exporter@v0.28.0:prober/',
  families: [g('probe_success'), g('probe_duration_seconds'), g('probe_ssl_earliest_cert_expiry', [], { tls: true })],
};

// prometheus/prometheus@v3.11.2: tsdb/db.go, cmd/prometheus/main.go, rules/group.go, notifier/metric.go.
const PROMETHEUS: ExporterCatalog = {
  id: 'prometheus',
  source: 'prometheus/prometheus@v3.11.2',
  families: [
    c('prometheus_tsdb_reloads_failures_total'),
    c('prometheus_tsdb_compactions_failed_total'),
    g('prometheus_config_last_reload_successful'),
    c('prometheus_rule_evaluation_failures_total', ['rule_group']),
    g('prometheus_notifications_alertmanagers_discovered'),
    c('prometheus_notifications_errors_total', ['alertmanager']),
    c('prometheus_notifications_sent_total', ['alertmanager']),
  ],
};

// prometheus/alertmanager@v0.32.0: config/coordinator.go, notify/notify.go.
const ALERTMANAGER: ExporterCatalog = {
  id: 'alertmanager',
  source: 'prometheus/alertmanager@v0.32.0',
  families: [
    g('alertmanager_config_last_reload_successful'),
    c('alertmanager_notifications_total', ['integration']),
    c('alertmanager_notifications_failed_total', ['integration', 'reason']),
  ],
};

// prometheus-community/ipmi_exporter@v1.10.1:collector.go (ipmi_up), collector_ipmi.go (sensor states).
const IPMI: ExporterCatalog = {
  id: 'ipmi-exporter',
  source: 'prometheus-community/ipmi_exporter@v1.10.1',
  families: [
    g('ipmi_up', ['collector']),
    g('ipmi_sensor_state', ['id', 'name', 'type']),
    ...['temperature', 'fan_speed', 'voltage', 'current', 'power'].map((k) => g(`ipmi_${k}_state`, ['id', 'name'])),
  ],
};

// grafana/loki@v3.7.1: pkg/validation/validate.go, vendor/github.com/grafana/dskit/server/metrics.go.
const LOKI: ExporterCatalog = {
  id: 'loki',
  source: 'grafana/loki@v3.7.1',
  families: [c('loki_discarded_samples_total', ['reason', 'tenant', 'retention_hours', 'policy', 'format']), h('loki_request_duration_seconds', ['method', 'route', 'status_code', 'ws'])],
};

// grafana/alloy@v1.16.0: internal/component/loki/source/syslog/internal/syslogtarget/metrics.go,
// internal/component/common/loki/client/metrics.go (component metrics carry component_id/path).
const ALLOY: ExporterCatalog = {
  id: 'alloy',
  source: 'grafana/alloy@v1.16.0',
  families: [
    c('loki_source_syslog_entries_total', ['component_id', 'component_path']),
    c('loki_source_syslog_parsing_errors_total', ['component_id', 'component_path']),
    c('loki_write_dropped_entries_total', ['component_id', 'component_path', 'host', 'reason', 'tenant']),
  ],
};

// grafana/loki@v3.6.10 (the last release with Promtail): clients/pkg/promtail/targets/syslog/metrics.go,
// clients/pkg/promtail/client/client.go.
const PROMTAIL: ExporterCatalog = {
  id: 'promtail',
  source: 'grafana/loki@v3.6.10:clients/pkg/promtail',
  families: [c('promtail_syslog_target_entries_total'), c('promtail_syslog_target_parsing_errors_total'), c('promtail_dropped_entries_total', ['host', 'reason', 'tenant'])],
};

/** The power manager's families come from its own registry (src/power/controller/metrics.ts). */
function powerManager(): ExporterCatalog {
  const registry = new PowerMetrics().registry;
  const families = registry.getMetricsAsArray().map((m): MetricFamily => {
    const meta = m as unknown as { name: string; type: string; labelNames?: string[] };
    const type: FamilyType = meta.type === 'counter' || meta.type === 'histogram' || meta.type === 'summary' ? meta.type : 'gauge';
    return { name: meta.name, type, labels: meta.labelNames ?? [] };
  });
  return { id: 'vmstation-power-manager', source: 'src/power/controller/metrics.ts', families };
}

/** Programs scraped whose families no rule uses (their `up` series still count). */
const NO_RULE_FAMILIES = ['cadvisor', 'kube-apiserver', 'coredns', 'grafana', 'blackbox-exporter'].map((id): ExporterCatalog => ({ id, source: '(no rule reads its families)', families: [] }));

export function exporterCatalogs(): ExporterCatalog[] {
  return [NODE_EXPORTER, KUBE_STATE_METRICS, KUBELET, BLACKBOX_PROBE, PROMETHEUS, ALERTMANAGER, IPMI, LOKI, ALLOY, PROMTAIL, powerManager(), ...NO_RULE_FAMILIES];
}

/** Every scrape produces these per target, with the target's labels only (prometheus/prometheus@v3.11.2:scrape/scrape.go). */
export const SCRAPE_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added'];

/** The series names of a family (histograms and summaries expose _bucket/_sum/_count). */
export function seriesNames(f: MetricFamily): Array<{ name: string; extraLabels: string[] }> {
  if (f.type === 'histogram') return [{ name: `${f.name}_bucket`, extraLabels: ['le'] }, { name: `${f.name}_sum`, extraLabels: [] }, { name: `${f.name}_count`, extraLabels: [] }];
  if (f.type === 'summary') return [{ name: f.name, extraLabels: ['quantile'] }, { name: `${f.name}_sum`, extraLabels: [] }, { name: `${f.name}_count`, extraLabels: [] }];
  return [{ name: f.name, extraLabels: [] }];
}
