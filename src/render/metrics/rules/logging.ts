// The log path: the central syslog server (TCP probe), the log shipper's syslog receiver, Loki.
// Log-shipper and Loki metrics come from the annotated-services job: their Services carry the
// prometheus.io/scrape annotation (`app` label from the Service's app.kubernetes.io/name); Alloy
// and Promtail metric names are both covered.
import type { Cluster } from '../../../config/model.js';
import { JOBS } from '../names.js';
import { unlessSleeping, type RuleGroup } from './types.js';

export function loggingRules(cluster: Cluster): RuleGroup {
  const rules: RuleGroup['rules'] = [];
  if (cluster.spec.infrastructure.syslog.enabled) {
    rules.push({
      alert: 'SyslogServerDown',
      expr: `probe_success{job="${JOBS.probeTcp}",service="syslog"} == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'the central syslog server on {{ $labels.node }} does not accept connections',
      description: 'TCP connections to {{ $labels.instance }} fail: nodes cannot forward their logs.',
    });
  }
  rules.push(
    {
      alert: 'HighSyslogMessageRate',
      expr: 'sum(rate({__name__=~"loki_source_syslog_entries_total|promtail_syslog_target_entries_total"}[5m])) > 200',
      for: '10m',
      severity: 'warning',
      summary: 'syslog receives {{ $value | printf "%.0f" }} messages per second',
      description: 'More than 200 syslog messages per second for 10 minutes: something is logging in a loop.',
    },
    {
      alert: 'SyslogParsingErrors',
      expr: 'sum(rate({__name__=~"loki_source_syslog_parsing_errors_total|promtail_syslog_target_parsing_errors_total"}[5m])) > 0',
      for: '15m',
      severity: 'warning',
      summary: 'the syslog receiver rejects messages',
      description: 'Messages forwarded from the syslog server cannot be parsed (check the RFC 5424 octet-counted format).',
    },
    {
      alert: 'LokiDown',
      expr: `probe_success{job="${JOBS.probeHttp}",service="loki"} == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'Loki is not ready',
      description: 'Loki\'s /ready endpoint at {{ $labels.instance }} fails: logs are not stored.',
    },
    {
      alert: 'LokiRequestErrors',
      expr: '100 * sum by (route) (rate(loki_request_duration_seconds_count{status_code=~"5.."}[2m])) / sum by (route) (rate(loki_request_duration_seconds_count[2m])) > 10',
      for: '15m',
      severity: 'critical',
      summary: 'Loki fails {{ $value | printf "%.0f" }} % of {{ $labels.route }} requests',
      description: 'More than 10 % of requests to {{ $labels.route }} end in a server error.',
    },
    {
      alert: 'LokiDiscardingSamples',
      expr: 'sum by (reason) (rate(loki_discarded_samples_total[5m])) > 0',
      for: '15m',
      severity: 'warning',
      summary: 'Loki discards log lines ({{ $labels.reason }})',
      description: 'Loki rejects log lines because of {{ $labels.reason }}: raise the limit or fix the sender.',
    },
    {
      alert: 'LogShipperDown',
      expr: unlessSleeping(`up{job="${JOBS.serviceEndpoints}",app=~"alloy|promtail"} == 0`),
      for: '10m',
      severity: 'warning',
      summary: 'the log shipper on {{ $labels.node }} is down',
      description: 'Logs of {{ $labels.node }} do not reach Loki and the power manager does not report the node asleep.',
    },
    {
      alert: 'LogShipperDroppingEntries',
      expr: 'sum by (node) (rate({__name__=~"loki_write_dropped_entries_total|promtail_dropped_entries_total"}[5m])) > 0',
      for: '15m',
      severity: 'warning',
      summary: 'the log shipper on {{ $labels.node }} drops log lines',
      description: 'The log shipper gives up sending lines to Loki.',
    },
  );
  return { name: 'logging', rules };
}
