// The cluster dashboard's etcd snapshot panel: age of the newest snapshot that passed `snapshot
// status` on each etcd node (the node-exporter textfile metric the snapshot units write), red once
// it is older than the alert's threshold (src/render/metrics/rules/etcd.ts).
import { ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import { DataqueryBuilder as PromQuery } from '@grafana/grafana-foundation-sdk/prometheus';

export const ETCD_SNAPSHOT_AGE_EXPR = 'time() - max by (node) (vmstation_etcd_snapshot_last_success_timestamp_seconds)';

export function etcdSnapshotAgePanel(maxAgeSeconds: number, schedule: string): BarGaugePanel {
  return new BarGaugePanel()
    .title('Age of the newest good etcd snapshot')
    .description(`Per etcd node, since its newest snapshot that passed snapshot status (schedule "${schedule}"); red from ${maxAgeSeconds / 3600} h, when EtcdSnapshotTooOld fires.`)
    .unit('s')
    .min(0)
    .datasource({ type: 'prometheus', uid: 'prometheus' })
    .withTarget(new PromQuery().expr(ETCD_SNAPSHOT_AGE_EXPR).legendFormat('{{node}}').refId('A').datasource({ type: 'prometheus', uid: 'prometheus' }))
    .thresholds(
      new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: maxAgeSeconds, color: 'red' },
      ]),
    );
}
