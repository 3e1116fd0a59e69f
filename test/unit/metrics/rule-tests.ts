// `promtool test rules` suites for every rule group, for the example cluster (nodes masternode,
// storagenodet3500, homelab). Expected annotations are expanded from the rendered rules by a
// small `$labels`/`$value` expander; promtool compares them with Prometheus' real templating.
import type { Cluster } from '../../../src/config/model.js';
import { ruleGroups, type AlertRule } from '../../../src/render/metrics/rules/index.js';

type Labels = Record<string, string>;
interface Series {
  series: string;
  values: string;
}
interface Expect {
  labels: Labels;
  /** The alert's value, for annotations that print it. */
  value?: number;
}
interface Case {
  name: string;
  series: Series[];
  alert: string;
  at: string;
  expect: Expect[];
  /** Distinguishes same-named rules (e.g. the warning and the critical NodeFilesystemAlmostOutOfSpace). */
  severity?: string;
}

const s = (metric: string, labels: Labels, values: string): Series => ({
  series: `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`,
  values,
});

const NODE = { node: 'storagenodet3500' };
/**
 * The series the blackbox exporter gives for the example's deployed Jellyfin: its /health on its
 * own node's NodePort (test/unit/apps/render.test.ts checks that the rendered scrape configuration
 * produces exactly these labels).
 */
export const APP_PROBE = { job: 'blackbox-http', instance: 'http://192.168.4.61:30096/health', service: 'jellyfin', namespace: 'default', node: 'storagenodet3500' };
const NE = { job: 'node-exporter', instance: '192.168.4.61:9100', node: 'storagenodet3500', role: 'worker', os: 'debian-12' };
const power = (node: string, state: string, values: string) => s('vmstation_node_power_state', { job: 'vmstation-power-manager', node, state }, values);
const asleep = (node = NODE.node) => [power(node, 'asleep', '1x60'), power(node, 'awake', '0x60')];
const awake = (node = NODE.node) => [power(node, 'asleep', '0x60'), power(node, 'awake', '1x60')];

/** The cases of each group; the "asleep" and "awake" pairs are the sleep-awareness proofs. */
function cases(): Record<string, Case[]> {
  const icmp = { job: 'blackbox-icmp', instance: '192.168.4.61', node: 'storagenodet3500', role: 'worker', os: 'debian-12' };
  const kubelet = { job: 'kubelet', instance: '192.168.4.61:10250', node: 'storagenodet3500' };
  const ksm = { job: 'kube-state-metrics', instance: '10.233.64.5:8080' };
  return {
    node: [
      { name: 'node asleep -> no NodeExporterDown', series: [s('up', NE, '0x60'), ...asleep()], alert: 'NodeExporterDown', at: '10m', expect: [] },
      { name: 'same node down while awake -> NodeExporterDown', series: [s('up', NE, '0x60'), ...awake()], alert: 'NodeExporterDown', at: '10m', expect: [{ labels: { ...NE, severity: 'critical' } }] },
      { name: 'node down, no power manager data -> NodeExporterDown', series: [s('up', NE, '0x60')], alert: 'NodeExporterDown', at: '10m', expect: [{ labels: { ...NE, severity: 'critical' } }] },
      { name: 'node suspending -> no NodeExporterDown', series: [s('up', NE, '0x60'), power(NODE.node, 'suspending', '1x60')], alert: 'NodeExporterDown', at: '10m', expect: [] },
      {
        name: 'power manager restarting: last known asleep state still silences for 10m',
        series: [s('up', NE, '0x60'), power(NODE.node, 'asleep', '1x5 _x55')],
        alert: 'NodeExporterDown',
        at: '8m',
        expect: [],
      },
      { name: 'node down for less than 1m -> pending only', series: [s('up', NE, '1x5 0x55'), ...awake()], alert: 'NodeExporterDown', at: '6m', expect: [] },
      { name: 'node asleep -> no NodeUnreachable', series: [s('probe_success', icmp, '0x60'), ...asleep()], alert: 'NodeUnreachable', at: '10m', expect: [] },
      { name: 'same node unreachable while awake -> NodeUnreachable', series: [s('probe_success', icmp, '0x60'), ...awake()], alert: 'NodeUnreachable', at: '10m', expect: [{ labels: { ...icmp, severity: 'critical' } }] },
      {
        name: 'CPU 90 % busy for 10m -> HighNodeCPU',
        series: [s('node_cpu_seconds_total', { ...NE, cpu: '0', mode: 'idle' }, '0+6x60')],
        alert: 'HighNodeCPU',
        at: '15m',
        expect: [{ labels: { node: NODE.node, severity: 'warning' }, value: 90 }],
      },
      {
        name: 'CPU 50 % busy -> no HighNodeCPU',
        series: [s('node_cpu_seconds_total', { ...NE, cpu: '0', mode: 'idle' }, '0+30x60')],
        alert: 'HighNodeCPU',
        at: '15m',
        expect: [],
      },
      {
        name: 'memory 95 % used -> HighMemoryUsage',
        series: [s('node_memory_MemAvailable_bytes', NE, '50x60'), s('node_memory_MemTotal_bytes', NE, '1000x60')],
        alert: 'HighMemoryUsage',
        at: '10m',
        expect: [{ labels: { ...NE, severity: 'warning' }, value: 95 }],
      },
      {
        name: 'root filesystem 2 % free -> both NodeFilesystemAlmostOutOfSpace severities',
        series: [
          s('node_filesystem_avail_bytes', { ...NE, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' }, '2x60'),
          s('node_filesystem_size_bytes', { ...NE, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' }, '100x60'),
          s('node_filesystem_readonly', { ...NE, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' }, '0x60'),
        ],
        alert: 'NodeFilesystemAlmostOutOfSpace',
        at: '40m',
        expect: [
          { labels: { ...NE, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/', severity: 'warning' }, value: 2 },
          { labels: { ...NE, device: '/dev/sda1', fstype: 'ext4', mountpoint: '/', severity: 'critical' }, value: 2 },
        ],
      },
    ],
    kubernetes: [
      {
        name: 'node asleep -> no KubeNodeNotReady',
        series: [s('kube_node_status_condition', { ...ksm, ...NODE, condition: 'Ready', status: 'true' }, '0x60'), ...asleep()],
        alert: 'KubeNodeNotReady',
        at: '30m',
        expect: [],
      },
      {
        name: 'same node NotReady while awake -> KubeNodeNotReady',
        series: [s('kube_node_status_condition', { ...ksm, ...NODE, condition: 'Ready', status: 'true' }, '0x60'), ...awake()],
        alert: 'KubeNodeNotReady',
        at: '30m',
        expect: [{ labels: { ...ksm, ...NODE, condition: 'Ready', status: 'true', severity: 'warning' } }],
      },
      {
        name: 'node asleep -> no KubeNodeUnreachable',
        series: [s('kube_node_spec_taint', { ...ksm, ...NODE, key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, '1x60'), ...asleep()],
        alert: 'KubeNodeUnreachable',
        at: '30m',
        expect: [],
      },
      {
        name: 'same node unreachable while awake -> KubeNodeUnreachable',
        series: [s('kube_node_spec_taint', { ...ksm, ...NODE, key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, '1x60'), ...awake()],
        alert: 'KubeNodeUnreachable',
        at: '30m',
        expect: [{ labels: { ...ksm, ...NODE, key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', severity: 'warning' } }],
      },
      { name: 'node asleep -> no KubeletDown', series: [s('up', kubelet, '0x60'), ...asleep()], alert: 'KubeletDown', at: '30m', expect: [] },
      { name: 'same kubelet down while awake -> KubeletDown', series: [s('up', kubelet, '0x60'), ...awake()], alert: 'KubeletDown', at: '30m', expect: [{ labels: { ...kubelet, severity: 'critical' } }] },
      { name: 'no CoreDNS target up -> CoreDNSDown', series: [s('up', { job: 'coredns', instance: '10.233.64.2:9153' }, '0x60')], alert: 'CoreDNSDown', at: '10m', expect: [{ labels: { job: 'coredns', severity: 'critical' } }] },
      { name: 'CoreDNS up -> no CoreDNSDown', series: [s('up', { job: 'coredns', instance: '10.233.64.2:9153' }, '1x60')], alert: 'CoreDNSDown', at: '10m', expect: [] },
      {
        name: 'crash looping container -> KubePodCrashLooping',
        series: [s('kube_pod_container_status_waiting_reason', { ...ksm, namespace: 'media', pod: 'jellyfin-0', container: 'jellyfin', reason: 'CrashLoopBackOff' }, '1x60')],
        alert: 'KubePodCrashLooping',
        at: '30m',
        expect: [{ labels: { ...ksm, namespace: 'media', pod: 'jellyfin-0', container: 'jellyfin', reason: 'CrashLoopBackOff', severity: 'warning' } }],
      },
      {
        name: 'volume 2 % free -> KubePersistentVolumeFillingUp critical',
        series: [
          s('kubelet_volume_stats_available_bytes', { ...kubelet, namespace: 'monitoring', persistentvolumeclaim: 'data-prometheus-0' }, '2x60'),
          s('kubelet_volume_stats_capacity_bytes', { ...kubelet, namespace: 'monitoring', persistentvolumeclaim: 'data-prometheus-0' }, '100x60'),
          s('kubelet_volume_stats_used_bytes', { ...kubelet, namespace: 'monitoring', persistentvolumeclaim: 'data-prometheus-0' }, '98x60'),
        ],
        alert: 'KubePersistentVolumeFillingUp',
        severity: 'critical',
        at: '10m',
        expect: [{ labels: { ...kubelet, namespace: 'monitoring', persistentvolumeclaim: 'data-prometheus-0', severity: 'critical' } }],
      },
      {
        name: 'claim Pending for 20m -> KubePersistentVolumeClaimPending',
        series: [s('kube_persistentvolumeclaim_status_phase', { ...ksm, namespace: 'monitoring', persistentvolumeclaim: 'data-loki-0', phase: 'Pending' }, '1x60')],
        alert: 'KubePersistentVolumeClaimPending',
        at: '20m',
        expect: [{ labels: { ...ksm, namespace: 'monitoring', persistentvolumeclaim: 'data-loki-0', phase: 'Pending', severity: 'warning' } }],
      },
    ],
    monitoring: [
      { name: 'Watchdog always fires', series: [], alert: 'Watchdog', at: '1m', expect: [{ labels: { severity: 'none' } }] },
      {
        name: 'half of node-exporter down, the down one asleep -> no TargetDown',
        series: [s('up', NE, '0x60'), s('up', { ...NE, instance: '192.168.4.63:9100', node: 'masternode', role: 'control-plane' }, '1x60'), ...asleep()],
        alert: 'TargetDown',
        at: '30m',
        expect: [],
      },
      {
        name: 'half of node-exporter down while awake -> TargetDown',
        series: [s('up', NE, '0x60'), s('up', { ...NE, instance: '192.168.4.63:9100', node: 'masternode', role: 'control-plane' }, '1x60'), ...awake()],
        alert: 'TargetDown',
        at: '30m',
        expect: [{ labels: { job: 'node-exporter', severity: 'warning' }, value: 50 }],
      },
      {
        name: 'half of node-exporter down while awake -> PrometheusTargetsDown (> 30 %)',
        series: [s('up', NE, '0x60'), s('up', { ...NE, instance: '192.168.4.63:9100', node: 'masternode', role: 'control-plane' }, '1x60'), ...awake()],
        alert: 'PrometheusTargetsDown',
        at: '30m',
        expect: [{ labels: { job: 'node-exporter', severity: 'critical' }, value: 50 }],
      },
      {
        name: 'app probe of an asleep node -> no BlackboxProbeFailed',
        series: [s('probe_success', APP_PROBE, '0x60'), ...asleep()],
        alert: 'BlackboxProbeFailed',
        at: '30m',
        expect: [],
      },
      {
        name: 'app probe while its node wakes -> no BlackboxProbeFailed',
        series: [s('probe_success', APP_PROBE, '0x60'), power(NODE.node, 'waking', '1x60'), power(NODE.node, 'awake', '0x60')],
        alert: 'BlackboxProbeFailed',
        at: '30m',
        expect: [],
      },
      {
        name: 'same app probe failing while awake -> BlackboxProbeFailed',
        series: [s('probe_success', APP_PROBE, '0x60'), ...awake()],
        alert: 'BlackboxProbeFailed',
        at: '30m',
        expect: [{ labels: { ...APP_PROBE, severity: 'warning' } }],
      },
      {
        name: 'config reload failed -> PrometheusConfigReloadFailed',
        series: [s('prometheus_config_last_reload_successful', { job: 'prometheus', instance: 'prometheus:9090' }, '0x60')],
        alert: 'PrometheusConfigReloadFailed',
        at: '20m',
        expect: [{ labels: { job: 'prometheus', instance: 'prometheus:9090', severity: 'warning' } }],
      },
      {
        name: 'TSDB reloads failing for 4h -> PrometheusTSDBReloadsFailing',
        series: [s('prometheus_tsdb_reloads_failures_total', { job: 'prometheus', instance: 'prometheus:9090' }, '0+1x600')],
        alert: 'PrometheusTSDBReloadsFailing',
        at: '8h',
        expect: [{ labels: { job: 'prometheus', instance: 'prometheus:9090', severity: 'warning' }, value: 180 }],
      },
      { name: 'no Alertmanager target up -> AlertmanagerDown', series: [s('up', { job: 'alertmanager', instance: 'am:9093' }, '0x60')], alert: 'AlertmanagerDown', at: '10m', expect: [{ labels: { job: 'alertmanager', severity: 'critical' } }] },
    ],
    'time-sync': [
      { name: 'offset 0.6 s for 15m -> HighTimeOffset', series: [s('node_timex_offset_seconds', NE, '0.6x60')], alert: 'HighTimeOffset', at: '15m', expect: [{ labels: { ...NE, severity: 'warning' }, value: 0.6 }] },
      { name: 'offset -0.7 s for 15m -> HighTimeOffset', series: [s('node_timex_offset_seconds', NE, '-0.7x60')], alert: 'HighTimeOffset', at: '15m', expect: [{ labels: { ...NE, severity: 'warning' }, value: 0.7 }] },
      { name: 'offset 0.4 s -> no HighTimeOffset', series: [s('node_timex_offset_seconds', NE, '0.4x60')], alert: 'HighTimeOffset', at: '15m', expect: [] },
      { name: 'offset 0.6 s for only 5m -> no HighTimeOffset yet', series: [s('node_timex_offset_seconds', NE, '0x10 0.6x50')], alert: 'HighTimeOffset', at: '15m', expect: [] },
      { name: 'never synchronized for 30m -> NTPNotSynchronized', series: [s('node_timex_sync_status', NE, '0x60')], alert: 'NTPNotSynchronized', at: '31m', expect: [{ labels: { ...NE, severity: 'warning' } }] },
      {
        name: 'unsynchronized with 16 s max error -> NodeClockNotSynchronising',
        series: [s('node_timex_sync_status', NE, '0x60'), s('node_timex_maxerror_seconds', NE, '16x60')],
        alert: 'NodeClockNotSynchronising',
        at: '20m',
        expect: [{ labels: { ...NE, severity: 'warning' } }],
      },
      {
        name: 'chrony inactive on the time server -> NTPServerDown',
        series: [s('node_systemd_unit_state', { ...NE, instance: '192.168.4.63:9100', node: 'masternode', role: 'control-plane', name: 'chrony.service', state: 'active', type: 'notify' }, '0x60')],
        alert: 'NTPServerDown',
        at: '10m',
        expect: [{ labels: { node: 'masternode', severity: 'critical' } }],
      },
      {
        name: 'chrony inactive on a worker -> NTPServiceDown',
        series: [s('node_systemd_unit_state', { ...NE, name: 'chronyd.service', state: 'active', type: 'notify' }, '0x60')],
        alert: 'NTPServiceDown',
        at: '10m',
        expect: [{ labels: { ...NE, name: 'chronyd.service', state: 'active', type: 'notify', severity: 'warning' } }],
      },
    ],
    logging: [
      {
        name: 'syslog port closed -> SyslogServerDown',
        series: [s('probe_success', { job: 'blackbox-tcp', instance: '192.168.4.63:514', service: 'syslog', node: 'masternode' }, '0x60')],
        alert: 'SyslogServerDown',
        at: '10m',
        expect: [{ labels: { job: 'blackbox-tcp', instance: '192.168.4.63:514', service: 'syslog', node: 'masternode', severity: 'critical' } }],
      },
      {
        name: '300 syslog messages per second -> HighSyslogMessageRate',
        series: [s('loki_source_syslog_entries_total', { job: 'kubernetes-service-endpoints', app: 'alloy', service: 'alloy', node: 'masternode' }, '0+18000x60')],
        alert: 'HighSyslogMessageRate',
        at: '20m',
        expect: [{ labels: { severity: 'warning' }, value: 300 }],
      },
      {
        name: '50 messages per second -> no HighSyslogMessageRate',
        series: [s('promtail_syslog_target_entries_total', { job: 'kubernetes-service-endpoints', app: 'promtail', service: 'promtail', node: 'masternode' }, '0+3000x60')],
        alert: 'HighSyslogMessageRate',
        at: '20m',
        expect: [],
      },
      {
        name: 'Loki not ready -> LokiDown',
        series: [s('probe_success', { job: 'blackbox-http', instance: 'http://192.168.4.63:31100/ready', service: 'loki', node: 'masternode' }, '0x60')],
        alert: 'LokiDown',
        at: '10m',
        expect: [{ labels: { job: 'blackbox-http', instance: 'http://192.168.4.63:31100/ready', service: 'loki', node: 'masternode', severity: 'critical' } }],
      },
      {
        name: 'node asleep -> no LogShipperDown',
        series: [s('up', { job: 'kubernetes-service-endpoints', app: 'alloy', service: 'alloy', namespace: 'monitoring', pod: 'alloy-x', instance: '10.233.65.3:12345', ...NODE }, '0x60'), ...asleep()],
        alert: 'LogShipperDown',
        at: '20m',
        expect: [],
      },
      {
        name: 'same log shipper down while awake -> LogShipperDown',
        series: [s('up', { job: 'kubernetes-service-endpoints', app: 'alloy', service: 'alloy', namespace: 'monitoring', pod: 'alloy-x', instance: '10.233.65.3:12345', ...NODE }, '0x60'), ...awake()],
        alert: 'LogShipperDown',
        at: '20m',
        expect: [{ labels: { job: 'kubernetes-service-endpoints', app: 'alloy', service: 'alloy', namespace: 'monitoring', pod: 'alloy-x', instance: '10.233.65.3:12345', ...NODE, severity: 'warning' } }],
      },
    ],
    power: [
      { name: 'wake failed -> NodeWakeFailed', series: [power(NODE.node, 'failed', '0x5 1x55')], alert: 'NodeWakeFailed', at: '10m', expect: [{ labels: { ...NODE, severity: 'critical' } }] },
      { name: 'no failed state -> no NodeWakeFailed', series: [power(NODE.node, 'failed', '0x60'), ...asleep()], alert: 'NodeWakeFailed', at: '10m', expect: [] },
      {
        name: 'awake and cordoned for 40m -> NodeCordonedWhileAwake',
        series: [s('kube_node_spec_unschedulable', { ...ksm, ...NODE }, '1x60'), ...awake()],
        alert: 'NodeCordonedWhileAwake',
        at: '40m',
        expect: [{ labels: { ...NODE, severity: 'warning' } }],
      },
      {
        name: 'awake and cordoned for 20m -> not yet',
        series: [s('kube_node_spec_unschedulable', { ...ksm, ...NODE }, '1x60'), ...awake()],
        alert: 'NodeCordonedWhileAwake',
        at: '20m',
        expect: [],
      },
      {
        name: 'cordoned while draining (on purpose) -> no NodeCordonedWhileAwake',
        series: [s('kube_node_spec_unschedulable', { ...ksm, ...NODE }, '1x60'), power(NODE.node, 'draining', '1x60'), power(NODE.node, 'awake', '0x60')],
        alert: 'NodeCordonedWhileAwake',
        at: '40m',
        expect: [],
      },
      { name: 'no power manager target -> PowerManagerDown', series: [], alert: 'PowerManagerDown', at: '10m', expect: [{ labels: { job: 'vmstation-power-manager', severity: 'critical' } }] },
      {
        name: 'power manager scrape failing -> PowerManagerDown',
        series: [s('up', { job: 'vmstation-power-manager', instance: '10.233.64.9:8080' }, '0x60')],
        alert: 'PowerManagerDown',
        at: '10m',
        expect: [{ labels: { job: 'vmstation-power-manager', severity: 'critical' } }],
      },
      { name: 'power manager up -> no PowerManagerDown', series: [s('up', { job: 'vmstation-power-manager', instance: '10.233.64.9:8080' }, '1x60')], alert: 'PowerManagerDown', at: '10m', expect: [] },
      { name: 'waking for 20m -> NodeStuckInPowerTransition', series: [power(NODE.node, 'waking', '1x60')], alert: 'NodeStuckInPowerTransition', at: '20m', expect: [{ labels: { ...NODE, severity: 'warning' } }] },
      {
        name: 'asleep but answering ping -> NodeAsleepButReachable',
        series: [...asleep(), s('probe_success', { job: 'blackbox-icmp', instance: '192.168.4.61', ...NODE, role: 'worker', os: 'debian-12' }, '1x60')],
        alert: 'NodeAsleepButReachable',
        at: '20m',
        expect: [{ labels: { ...NODE, severity: 'warning' } }],
      },
    ],
    // The example's etcd node is masternode; schedule "0 */12 * * *": too old after 13 h.
    etcd: [
      {
        name: 'snapshot 14h old -> EtcdSnapshotTooOld',
        series: [s('vmstation_etcd_snapshot_last_success_timestamp_seconds', { ...NE, node: 'masternode', instance: '192.168.4.63:9100' }, '0x900')],
        alert: 'EtcdSnapshotTooOld',
        at: `${14 * 60}m`,
        expect: [{ labels: { node: 'masternode', severity: 'warning' } }],
      },
      {
        name: 'snapshot 12h old -> no EtcdSnapshotTooOld',
        series: [s('vmstation_etcd_snapshot_last_success_timestamp_seconds', { ...NE, node: 'masternode', instance: '192.168.4.63:9100' }, '0x900')],
        alert: 'EtcdSnapshotTooOld',
        at: `${12 * 60}m`,
        expect: [],
      },
      {
        name: 'snapshot 2h old (taken at 12h, at 14h) -> no EtcdSnapshotTooOld',
        series: [s('vmstation_etcd_snapshot_last_success_timestamp_seconds', { ...NE, node: 'masternode', instance: '192.168.4.63:9100' }, '0x720 43200x200')],
        alert: 'EtcdSnapshotTooOld',
        at: `${14 * 60}m`,
        expect: [],
      },
      { name: 'never reported for 13h -> EtcdSnapshotMissing', series: [], alert: 'EtcdSnapshotMissing', at: `${13 * 60 + 5}m`, expect: [{ labels: { node: 'masternode', severity: 'warning' } }] },
      {
        name: 'reported -> no EtcdSnapshotMissing',
        series: [s('vmstation_etcd_snapshot_last_success_timestamp_seconds', { ...NE, node: 'masternode', instance: '192.168.4.63:9100' }, '0x900')],
        alert: 'EtcdSnapshotMissing',
        at: `${13 * 60 + 5}m`,
        expect: [],
      },
      {
        name: 'last attempt failed -> EtcdSnapshotFailed',
        series: [s('vmstation_etcd_snapshot_last_attempt_success', { ...NE, node: 'masternode', instance: '192.168.4.63:9100' }, '1x5 0x55')],
        alert: 'EtcdSnapshotFailed',
        at: '20m',
        expect: [{ labels: { node: 'masternode', severity: 'warning' } }],
      },
      {
        name: 'last attempt good -> no EtcdSnapshotFailed',
        series: [s('vmstation_etcd_snapshot_last_attempt_success', { ...NE, node: 'masternode', instance: '192.168.4.63:9100' }, '1x60')],
        alert: 'EtcdSnapshotFailed',
        at: '20m',
        expect: [],
      },
    ],
  };
}

function expand(template: string, labels: Labels, value: number | undefined): string {
  return template
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? '')
    .replace(/\{\{ \$value \| printf "%\.(\d)f" \}\}/g, (_m, d: string) => (value ?? NaN).toFixed(Number(d)))
    .replace(/\{\{ \$value \}\}/g, () => String(value));
}

/** promtool test files keyed by group name (each names its rule file relative to tests/). */
export function ruleTestFiles(cluster: Cluster): Record<string, unknown> {
  const rules = new Map<string, AlertRule>(ruleGroups(cluster).flatMap((g) => g.rules.map((r) => [`${r.alert}/${r.severity}`, r] as const)));
  const out: Record<string, unknown> = {};
  for (const [group, list] of Object.entries(cases())) {
    out[group] = {
      rule_files: [`../rules/${group}.yaml`],
      evaluation_interval: '1m',
      tests: list.map((c) => ({
        name: c.name,
        interval: '1m',
        input_series: c.series,
        alert_rule_test: [
          {
            eval_time: c.at,
            alertname: c.alert,
            exp_alerts: c.expect.map((e) => {
              const rule = rules.get(`${c.alert}/${e.labels.severity ?? c.severity}`);
              if (!rule) throw new Error(`no rule ${c.alert} with severity ${e.labels.severity}`);
              return {
                exp_labels: e.labels,
                exp_annotations: { summary: expand(rule.summary, e.labels, e.value), description: expand(rule.description, e.labels, e.value) },
              };
            }),
          },
        ],
      })),
    };
  }
  return out;
}

/** Number of cases per group (the test asserts every group has some, including sleep pairs). */
export function caseNames(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(cases()).map(([g, list]) => [g, list.map((c) => c.name)]));
}
