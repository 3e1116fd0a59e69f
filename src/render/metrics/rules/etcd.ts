// etcd snapshots (spec.kubernetes.etcd.snapshots), read from the node-exporter textfile metrics the
// snapshot units write on every etcd node (src/render/etcd). "Too old" is the schedule's longest gap
// between two runs plus an hour, so a run that did not happen, or failed, is noticed at once.
import type { Cluster } from '../../../config/model.js';
import { longestGapSeconds } from '../../etcd/calendar.js';
import { etcdNodes } from '../../etcd/layout.js';
import type { RuleGroup } from './types.js';

const LAST_OK = 'vmstation_etcd_snapshot_last_success_timestamp_seconds';

/** Seconds as a Prometheus duration (whole hours when it can). */
function promDuration(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : `${Math.ceil(seconds / 60)}m`;
}

/** How old the newest good snapshot may get before the alert (the schedule's longest gap + 1 h). */
export function snapshotMaxAgeSeconds(cluster: Cluster): number {
  return longestGapSeconds(cluster.spec.kubernetes.etcd.snapshots.schedule) + 3600;
}

export function etcdRules(cluster: Cluster): RuleGroup {
  const snap = cluster.spec.kubernetes.etcd.snapshots;
  if (!snap.enabled || !cluster.spec.monitoring.exporters.node) return { name: 'etcd', rules: [] };
  const maxAge = snapshotMaxAgeSeconds(cluster);
  const age = promDuration(maxAge);
  const nodes = etcdNodes(cluster).map((n) => n.name);
  const rules: RuleGroup['rules'] = [
    {
      alert: 'EtcdSnapshotTooOld',
      expr: `time() - max by (node) (${LAST_OK}) > ${maxAge}`,
      for: '10m',
      severity: 'warning',
      summary: 'the newest good etcd snapshot of {{ $labels.node }} is older than ' + age,
      description: `Snapshots are scheduled "${snap.schedule}"; the newest one on {{ $labels.node }} that passed snapshot status is older than ${age}. See \`systemctl status vmstation-etcd-snapshot\` there, or take one with \`vmstation etcd snapshot\`.`,
    },
    {
      alert: 'EtcdSnapshotMissing',
      expr: nodes.map((n) => `absent(${LAST_OK}{node="${n}"})`).join(' or '),
      for: age,
      severity: 'warning',
      summary: 'no etcd snapshot of {{ $labels.node }} has ever been reported',
      description: `No good snapshot of {{ $labels.node }} for ${age} (schedule "${snap.schedule}"): the timer has not run, every run failed, or node-exporter does not read ${'/var/lib/prometheus/node-exporter'}.`,
    },
    {
      alert: 'EtcdSnapshotFailed',
      expr: 'max by (node) (vmstation_etcd_snapshot_last_attempt_success) == 0',
      for: '5m',
      severity: 'warning',
      summary: 'the last etcd snapshot of {{ $labels.node }} failed',
      description: 'The last run on {{ $labels.node }} saved no snapshot that passed snapshot status; the older ones are kept. `journalctl -u vmstation-etcd-snapshot` there says why.',
    },
  ];
  if (snap.copyTo)
    rules.push({
      alert: 'EtcdSnapshotCopyTooOld',
      expr: `time() - max by (node) (vmstation_etcd_snapshot_copy_last_success_timestamp_seconds) > ${maxAge}`,
      for: '10m',
      severity: 'warning',
      summary: `no etcd snapshot of {{ $labels.node }} has reached ${snap.copyTo} for ${age}`,
      description: `The copies to ${snap.copyTo} fail (asleep, full, or its key refused): a snapshot that stays on its own node dies with its disk.`,
    });
  return { name: 'etcd', rules };
}
