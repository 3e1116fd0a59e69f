// Time sync, read from node-exporter's timex collector (the kernel clock chrony disciplines) and
// its systemd collector (the chrony unit). No chrony exporter runs, so the original's
// "stratum > 10" is expressed as "the kernel clock has not been synchronized for 15 minutes".
import type { Cluster } from '../../../config/model.js';
import { JOBS } from '../names.js';
import { unlessSleeping, type RuleGroup } from './types.js';

const chronyUnit = 'name=~"chronyd?\\\\.service"';

export function timeSyncRules(cluster: Cluster): RuleGroup {
  const ntp = cluster.spec.infrastructure.ntp;
  const rules: RuleGroup['rules'] = [
    {
      alert: 'HighTimeOffset',
      expr: 'abs(node_timex_offset_seconds) > 0.5',
      for: '10m',
      severity: 'warning',
      summary: 'clock of {{ $labels.node }} is off by more than 0.5 s',
      description: 'The clock of {{ $labels.node }} is {{ $value | printf "%.3f" }} s off.',
    },
    {
      alert: 'NodeClockSkewDetected',
      expr: '(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)',
      for: '10m',
      severity: 'warning',
      summary: 'clock of {{ $labels.node }} drifts away',
      description: 'The clock of {{ $labels.node }} is more than 50 ms off and not converging.',
    },
    {
      alert: 'NodeClockNotSynchronising',
      // Sleep-aware: a node resuming from suspend needs a moment to resync, and a node going to
      // sleep leaves 5-15 minutes of old samples in these windows.
      expr: unlessSleeping('min_over_time(node_timex_sync_status[5m]) == 0 and node_timex_maxerror_seconds >= 16'),
      for: '10m',
      severity: 'warning',
      summary: 'clock of {{ $labels.node }} is not synchronising',
      description: 'The kernel reports the clock of {{ $labels.node }} unsynchronized with a maximum error of 16 s or more.',
    },
    {
      alert: 'NTPNotSynchronized',
      expr: unlessSleeping('max_over_time(node_timex_sync_status[15m]) == 0'),
      for: '15m',
      severity: 'warning',
      summary: '{{ $labels.node }} has not been in sync with NTP for 15 minutes',
      description: 'chrony on {{ $labels.node }} has not synchronized the clock for 15 minutes.',
    },
    {
      alert: 'NTPServiceDown',
      expr: `node_systemd_unit_state{${chronyUnit},state="active"} == 0`,
      for: '5m',
      severity: 'warning',
      summary: 'chrony is not running on {{ $labels.node }}',
      description: 'The chrony unit on {{ $labels.node }} is not active.',
    },
    {
      alert: 'TimeSyncMetricsMissing',
      expr: `up{job="${JOBS.nodeExporter}"} == 1 unless on (node) node_timex_sync_status`,
      for: '15m',
      severity: 'info',
      summary: 'node-exporter on {{ $labels.node }} reports no clock state',
      description: 'The timex collector of node-exporter on {{ $labels.node }} is off or failing, so time-sync alerts cannot fire for it.',
    },
  ];
  if (ntp.enabled) {
    rules.push({
      alert: 'NTPServerDown',
      expr: `max by (node) (node_systemd_unit_state{${chronyUnit},state="active",node="${ntp.server}"}) == 0`,
      for: '2m',
      severity: 'critical',
      summary: 'the LAN time server {{ $labels.node }} is not serving time',
      description: 'chrony on {{ $labels.node }}, which every other node syncs from, is not active.',
    });
  }
  return { name: 'time-sync', rules };
}
