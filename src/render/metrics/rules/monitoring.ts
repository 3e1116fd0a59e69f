// The monitoring stack watching itself: targets, probes, Prometheus, Alertmanager, exporters.
// Includes the original's PrometheusTargetsDown (>30 % of a job), TSDB reload and config reload
// rules, and kube-prometheus-stack's Watchdog and TargetDown; target and probe rules are sleep-aware.
import { JOBS } from '../names.js';
import { jobDown, unlessSleeping, type RuleGroup } from './types.js';

/** Share of a job's targets that are down, ignoring targets on nodes asleep on purpose. */
function downShare(): string {
  const down = unlessSleeping('up == 0');
  const all = unlessSleeping('up');
  return `100 * (count by (job) (${down}) / count by (job) (${all}))`;
}

export function monitoringRules(): RuleGroup {
  return {
    name: 'monitoring',
    rules: [
      {
        alert: 'Watchdog',
        expr: 'vector(1)',
        severity: 'none',
        summary: 'the alerting pipeline works',
        description: 'Always firing: Alertmanager routes it to the heartbeat receiver; if it stops arriving, alerting is broken.',
      },
      {
        alert: 'TargetDown',
        expr: `${downShare()} > 10`,
        for: '10m',
        severity: 'warning',
        summary: '{{ $value | printf "%.0f" }} % of {{ $labels.job }} targets are down',
        description: 'More than 10 % of the targets of job {{ $labels.job }} are down (nodes asleep on purpose do not count).',
      },
      {
        alert: 'PrometheusTargetsDown',
        expr: `${downShare()} > 30`,
        for: '5m',
        severity: 'critical',
        summary: '{{ $value | printf "%.0f" }} % of {{ $labels.job }} targets are down',
        description: 'More than 30 % of the targets of job {{ $labels.job }} are down (nodes asleep on purpose do not count).',
      },
      {
        alert: 'BlackboxProbeFailed',
        expr: unlessSleeping('probe_success == 0'),
        for: '5m',
        severity: 'warning',
        summary: 'probe of {{ $labels.instance }} ({{ $labels.job }}) fails',
        description: 'The blackbox exporter cannot reach {{ $labels.instance }} and the power manager does not report its node asleep.',
      },
      {
        alert: 'BlackboxSlowProbe',
        expr: 'avg_over_time(probe_duration_seconds[1m]) > 1',
        for: '10m',
        severity: 'warning',
        summary: 'probe of {{ $labels.instance }} is slow',
        description: 'Probes of {{ $labels.instance }} take {{ $value | printf "%.2f" }} s on average.',
      },
      {
        alert: 'BlackboxSslCertificateWillExpireSoon',
        expr: 'probe_ssl_earliest_cert_expiry - time() < 14 * 86400',
        for: '1h',
        severity: 'warning',
        summary: 'TLS certificate of {{ $labels.instance }} expires within 14 days',
        description: 'Renew the certificate served at {{ $labels.instance }}.',
      },
      {
        alert: 'PrometheusTSDBReloadsFailing',
        expr: 'increase(prometheus_tsdb_reloads_failures_total[3h]) > 0',
        for: '4h',
        severity: 'warning',
        summary: 'Prometheus fails to reload its blocks',
        description: '{{ $value | printf "%.0f" }} block reloads failed in 3 hours.',
      },
      {
        alert: 'PrometheusTSDBCompactionsFailing',
        expr: 'increase(prometheus_tsdb_compactions_failed_total[3h]) > 0',
        for: '4h',
        severity: 'warning',
        summary: 'Prometheus fails to compact its blocks',
        description: '{{ $value | printf "%.0f" }} compactions failed in 3 hours.',
      },
      {
        alert: 'PrometheusConfigReloadFailed',
        expr: `max_over_time(prometheus_config_last_reload_successful{job="${JOBS.prometheus}"}[5m]) == 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Prometheus could not load its configuration',
        description: 'The last configuration reload failed; Prometheus runs with the previous one.',
      },
      {
        alert: 'PrometheusRuleEvaluationFailures',
        expr: 'increase(prometheus_rule_evaluation_failures_total[5m]) > 0',
        for: '15m',
        severity: 'critical',
        summary: 'Prometheus fails to evaluate rules',
        description: '{{ $value | printf "%.0f" }} rule evaluations failed in 5 minutes: alerts may be missed.',
      },
      {
        alert: 'PrometheusNotConnectedToAlertmanagers',
        expr: 'max_over_time(prometheus_notifications_alertmanagers_discovered[5m]) < 1',
        for: '10m',
        severity: 'warning',
        summary: 'Prometheus has no Alertmanager to send to',
        description: 'Alerts fire but reach nobody.',
      },
      {
        alert: 'PrometheusErrorSendingAlerts',
        expr: '100 * rate(prometheus_notifications_errors_total[5m]) / rate(prometheus_notifications_sent_total[5m]) > 3',
        for: '15m',
        severity: 'critical',
        summary: 'Prometheus fails to send alerts to {{ $labels.alertmanager }}',
        description: '{{ $value | printf "%.1f" }} % of alert sends fail.',
      },
      {
        alert: 'AlertmanagerDown',
        expr: jobDown(JOBS.alertmanager),
        for: '5m',
        severity: 'critical',
        summary: 'Alertmanager is down',
        description: 'Alertmanager has not been scrapeable for 5 minutes: no notification goes out.',
      },
      {
        alert: 'AlertmanagerFailedReload',
        expr: `max_over_time(alertmanager_config_last_reload_successful{job="${JOBS.alertmanager}"}[5m]) == 0`,
        for: '10m',
        severity: 'critical',
        summary: 'Alertmanager could not load its configuration',
        description: 'The last configuration reload of Alertmanager failed.',
      },
      {
        alert: 'AlertmanagerFailedToSendAlerts',
        expr: 'rate(alertmanager_notifications_failed_total[5m]) / rate(alertmanager_notifications_total[5m]) > 0.01',
        for: '5m',
        severity: 'warning',
        summary: 'Alertmanager fails to notify {{ $labels.integration }}',
        description: '{{ $value | humanizePercentage }} of notifications to {{ $labels.integration }} fail.',
      },
      {
        alert: 'KubeStateMetricsDown',
        expr: jobDown(JOBS.kubeStateMetrics),
        for: '5m',
        severity: 'critical',
        summary: 'kube-state-metrics is down',
        description: 'Without it the node, pod and volume alerts cannot fire.',
      },
      {
        alert: 'KubeStateMetricsListErrors',
        expr: 'sum(rate(kube_state_metrics_list_total{result="error"}[5m])) / sum(rate(kube_state_metrics_list_total[5m])) > 0.01',
        for: '15m',
        severity: 'critical',
        summary: 'kube-state-metrics cannot list objects',
        description: 'kube-state-metrics gets errors listing objects from the API server (check its RBAC).',
      },
      {
        alert: 'BlackboxExporterDown',
        expr: jobDown(JOBS.blackboxExporter),
        for: '5m',
        severity: 'critical',
        summary: 'the blackbox exporter is down',
        description: 'No probe (HTTP, ICMP, DNS, TCP) runs while it is down.',
      },
    ],
  };
}
