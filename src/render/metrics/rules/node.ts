// Host health from node-exporter, the ICMP probe and (when enabled) the IPMI exporter.
// Thresholds of the original where it had them (CPU 85 %, memory 90 %), kube-prometheus-stack's
// node-exporter rules otherwise. Every node-scoped "is it there" rule is sleep-aware.
import type { Cluster } from '../../../config/model.js';
import { JOBS } from '../names.js';
import { unlessSleeping, type RuleGroup } from './types.js';

/**
 * Every sensor state the IPMI exporter reports: temperatures, fans, voltages, currents and power
 * have their own families, only the other sensors go to ipmi_sensor_state
 * (prometheus-community/ipmi_exporter@v1.10.1:collector_ipmi.go).
 */
const IPMI_SENSOR_STATES = '{__name__=~"ipmi_(sensor|temperature|fan_speed|voltage|current|power)_state"}';

const realFs = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*",mountpoint!~"/var/lib/kubelet/.*|/run/.*"';

export function nodeRules(cluster: Cluster): RuleGroup {
  const rules: RuleGroup['rules'] = [
    {
      alert: 'NodeExporterDown',
      expr: unlessSleeping(`up{job="${JOBS.nodeExporter}"} == 0`),
      for: '1m',
      severity: 'critical',
      summary: 'node-exporter on {{ $labels.node }} is down',
      description: 'Prometheus cannot scrape node-exporter on {{ $labels.node }} ({{ $labels.instance }}) and the power manager does not report the node asleep.',
    },
    {
      alert: 'NodeUnreachable',
      expr: unlessSleeping(`probe_success{job="${JOBS.probeIcmp}"} == 0`),
      for: '2m',
      severity: 'critical',
      summary: '{{ $labels.node }} does not answer ping',
      description: 'ICMP probes to {{ $labels.node }} ({{ $labels.instance }}) fail and the power manager does not report the node asleep.',
    },
    {
      alert: 'HighNodeCPU',
      expr: '100 * (1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 85',
      for: '5m',
      severity: 'warning',
      summary: 'CPU on {{ $labels.node }} above 85 %',
      description: 'CPU use on {{ $labels.node }} has been {{ $value | printf "%.0f" }} % for 5 minutes.',
    },
    {
      alert: 'HighMemoryUsage',
      expr: '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > 90',
      for: '5m',
      severity: 'warning',
      summary: 'memory on {{ $labels.node }} above 90 %',
      description: 'Memory use on {{ $labels.node }} has been {{ $value | printf "%.0f" }} % for 5 minutes.',
    },
    {
      alert: 'NodeFilesystemSpaceFillingUp',
      expr: `(node_filesystem_avail_bytes{${realFs}} / node_filesystem_size_bytes{${realFs}} * 100 < 40 and predict_linear(node_filesystem_avail_bytes{${realFs}}[6h], 24 * 3600) < 0 and node_filesystem_readonly{${realFs}} == 0)`,
      for: '1h',
      severity: 'warning',
      summary: 'filesystem {{ $labels.mountpoint }} on {{ $labels.node }} fills up within 24 hours',
      description: 'At the current rate {{ $labels.mountpoint }} on {{ $labels.node }} runs out of space within 24 hours.',
    },
    {
      alert: 'NodeFilesystemSpaceFillingUp',
      expr: `(node_filesystem_avail_bytes{${realFs}} / node_filesystem_size_bytes{${realFs}} * 100 < 20 and predict_linear(node_filesystem_avail_bytes{${realFs}}[6h], 4 * 3600) < 0 and node_filesystem_readonly{${realFs}} == 0)`,
      for: '1h',
      severity: 'critical',
      summary: 'filesystem {{ $labels.mountpoint }} on {{ $labels.node }} fills up within 4 hours',
      description: 'At the current rate {{ $labels.mountpoint }} on {{ $labels.node }} runs out of space within 4 hours.',
    },
    {
      alert: 'NodeFilesystemAlmostOutOfSpace',
      expr: `(node_filesystem_avail_bytes{${realFs}} / node_filesystem_size_bytes{${realFs}} * 100 < 5 and node_filesystem_readonly{${realFs}} == 0)`,
      for: '30m',
      severity: 'warning',
      summary: 'filesystem {{ $labels.mountpoint }} on {{ $labels.node }} has less than 5 % space left',
      description: '{{ $labels.mountpoint }} on {{ $labels.node }} has {{ $value | printf "%.1f" }} % space left.',
    },
    {
      alert: 'NodeFilesystemAlmostOutOfSpace',
      expr: `(node_filesystem_avail_bytes{${realFs}} / node_filesystem_size_bytes{${realFs}} * 100 < 3 and node_filesystem_readonly{${realFs}} == 0)`,
      for: '30m',
      severity: 'critical',
      summary: 'filesystem {{ $labels.mountpoint }} on {{ $labels.node }} has less than 3 % space left',
      description: '{{ $labels.mountpoint }} on {{ $labels.node }} has {{ $value | printf "%.1f" }} % space left.',
    },
    {
      alert: 'NodeFilesystemAlmostOutOfFiles',
      expr: `(node_filesystem_files_free{${realFs}} / node_filesystem_files{${realFs}} * 100 < 5 and node_filesystem_readonly{${realFs}} == 0)`,
      for: '1h',
      severity: 'warning',
      summary: 'filesystem {{ $labels.mountpoint }} on {{ $labels.node }} has less than 5 % inodes left',
      description: '{{ $labels.mountpoint }} on {{ $labels.node }} has {{ $value | printf "%.1f" }} % inodes left.',
    },
    {
      alert: 'NodeNetworkReceiveErrs',
      expr: 'rate(node_network_receive_errs_total[2m]) / rate(node_network_receive_packets_total[2m]) > 0.01',
      for: '1h',
      severity: 'warning',
      summary: '{{ $labels.device }} on {{ $labels.node }} drops received packets',
      description: 'More than 1 % of packets received on {{ $labels.device }} of {{ $labels.node }} are errors.',
    },
    {
      alert: 'NodeNetworkTransmitErrs',
      expr: 'rate(node_network_transmit_errs_total[2m]) / rate(node_network_transmit_packets_total[2m]) > 0.01',
      for: '1h',
      severity: 'warning',
      summary: '{{ $labels.device }} on {{ $labels.node }} fails to transmit packets',
      description: 'More than 1 % of packets sent on {{ $labels.device }} of {{ $labels.node }} are errors.',
    },
    {
      alert: 'NodeHighLoad',
      expr: 'node_load15 / on (node) count by (node) (node_cpu_seconds_total{mode="idle"}) > 2',
      for: '15m',
      severity: 'warning',
      summary: 'load on {{ $labels.node }} is above twice its CPU count',
      description: 'The 15-minute load average of {{ $labels.node }} is {{ $value | printf "%.1f" }} per CPU.',
    },
    {
      alert: 'NodeMemoryMajorPagesFaults',
      expr: 'rate(node_vmstat_pgmajfault[5m]) > 500',
      for: '15m',
      severity: 'warning',
      summary: '{{ $labels.node }} is swapping hard',
      description: '{{ $labels.node }} has {{ $value | printf "%.0f" }} major page faults per second.',
    },
    {
      alert: 'NodeDiskIOSaturation',
      expr: 'rate(node_disk_io_time_weighted_seconds_total[5m]) > 10',
      for: '30m',
      severity: 'warning',
      summary: 'disk {{ $labels.device }} on {{ $labels.node }} is saturated',
      description: 'The I/O queue of {{ $labels.device }} on {{ $labels.node }} averages {{ $value | printf "%.1f" }}.',
    },
    {
      alert: 'NodeSystemdServiceFailed',
      expr: 'node_systemd_unit_state{state="failed"} == 1',
      for: '5m',
      severity: 'warning',
      summary: '{{ $labels.name }} failed on {{ $labels.node }}',
      description: 'The systemd unit {{ $labels.name }} on {{ $labels.node }} is in the failed state.',
    },
    {
      alert: 'NodeRAIDDegraded',
      expr: 'node_md_disks_required - ignoring (state) (node_md_disks{state="active"}) > 0',
      for: '15m',
      severity: 'critical',
      summary: 'RAID {{ $labels.device }} on {{ $labels.node }} is degraded',
      description: 'RAID array {{ $labels.device }} on {{ $labels.node }} is missing {{ $value }} disk(s).',
    },
    {
      alert: 'NodeTextFileCollectorScrapeError',
      expr: 'node_textfile_scrape_error == 1',
      severity: 'warning',
      summary: 'node-exporter on {{ $labels.node }} cannot read a textfile metric',
      description: 'The textfile collector of node-exporter on {{ $labels.node }} reports an error.',
    },
  ];
  if (cluster.spec.monitoring.exporters.ipmi) {
    rules.push(
      {
        alert: 'IpmiScrapeFailed',
        expr: `ipmi_up{job="${JOBS.ipmi}"} == 0`,
        for: '15m',
        severity: 'warning',
        summary: 'IPMI collector {{ $labels.collector }} fails for {{ $labels.node }}',
        description: 'The IPMI exporter cannot read {{ $labels.collector }} from the BMC of {{ $labels.node }}.',
      },
      {
        alert: 'IpmiSensorCritical',
        expr: `max by (node, name) (${IPMI_SENSOR_STATES}) == 2`,
        for: '5m',
        severity: 'critical',
        summary: 'IPMI sensor {{ $labels.name }} on {{ $labels.node }} is critical',
        description: 'The BMC of {{ $labels.node }} reports sensor {{ $labels.name }} in the critical state.',
      },
      {
        alert: 'IpmiSensorWarning',
        expr: `max by (node, name) (${IPMI_SENSOR_STATES}) == 1`,
        for: '15m',
        severity: 'warning',
        summary: 'IPMI sensor {{ $labels.name }} on {{ $labels.node }} is in warning state',
        description: 'The BMC of {{ $labels.node }} reports sensor {{ $labels.name }} in the warning state.',
      },
    );
  }
  return { name: 'node', rules };
}
