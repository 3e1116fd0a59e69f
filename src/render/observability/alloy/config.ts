// The Alloy pipeline every node runs (DaemonSet): container logs from /var/log/pods (CRI
// format), the systemd journal, /var/log/*.log, and the central syslog stream that rsyslog on
// the syslog server forwards (RFC 5424 over TCP) — all with the labels namespace, pod,
// container, node (where they apply) — to Loki.
import type { Cluster } from '../../../config/model.js';
import { SYSLOG_RECEIVER_PORT } from '../../k8s/common.js';
import { COMPONENTS, serviceUrl } from '../names.js';
import {
  discoveryKubernetes,
  discoveryRelabel,
  localFileMatch,
  logging,
  lokiProcess,
  lokiRelabel,
  lokiSourceFile,
  lokiSourceJournal,
  lokiSourceSyslog,
  lokiWrite,
  sysEnv,
  type RelabelRule,
} from './components.js';
import { expr, formatFile, type Block } from './syntax.js';

/** Environment variable the DaemonSet sets to the node's name (downward API). */
export const NODE_NAME_ENV = 'NODE_NAME';

export function lokiPushUrl(cluster: Cluster): string {
  return `${serviceUrl(cluster, COMPONENTS.loki)}/loki/api/v1/push`;
}

/** Labels of a container's log lines and the CRI file they come from; Promtail uses the same rules. */
export const POD_LOG_RELABEL_RULES = [
  { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
  { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
  { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
  { source_labels: ['__meta_kubernetes_pod_node_name'], target_label: 'node' },
  { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'app' },
  { source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_container_name'], separator: '/', target_label: 'job' },
  {
    source_labels: ['__meta_kubernetes_pod_uid', '__meta_kubernetes_pod_container_name'],
    separator: '/',
    regex: '(.+)',
    replacement: '/var/log/pods/*$1/*.log',
    target_label: '__path__',
  },
] satisfies RelabelRule[];

export function alloyConfigText(cluster: Cluster): string {
  const node = sysEnv(NODE_NAME_ENV);
  const write = lokiWrite('default', { endpoints: [{ url: lokiPushUrl(cluster) }], external_labels: { cluster: cluster.metadata.name } });

  // Container logs: discover this node's pods, point __path__ at their CRI log files.
  const pods = discoveryKubernetes('pods', { role: 'pod', selectors: [{ role: 'pod', field: expr(`"spec.nodeName=" + ${node.expr}`) }] });
  const podTargets = discoveryRelabel('pod_logs', {
    targets: pods.exports.targets,
    rules: POD_LOG_RELABEL_RULES,
  });
  const podFiles = localFileMatch('pod_logs', { path_targets: podTargets.exports.output });
  const cri = lokiProcess('pod_logs', { forward_to: [write.exports.receiver], stages: [{ cri: {} }] });
  const podSource = lokiSourceFile('pod_logs', { targets: podFiles.exports.targets, forward_to: [cri.exports.receiver] });

  // The systemd journal of the node.
  const journalRules = lokiRelabel('journal', {
    forward_to: [],
    rules: [
      { source_labels: ['__journal__systemd_unit'], target_label: 'unit' },
      { source_labels: ['__journal_priority_keyword'], target_label: 'level' },
      { source_labels: ['__journal_syslog_identifier'], target_label: 'syslog_identifier' },
    ],
  });
  const journal = lokiSourceJournal('journal', {
    forward_to: [write.exports.receiver],
    relabel_rules: journalRules.exports.rules,
    max_age: '12h',
    labels: { job: 'systemd-journal', node },
  });

  // Plain log files of the host (/var/log/*.log; the pods' files live deeper and are not matched).
  const varlog = localFileMatch('varlog', { path_targets: [{ __path__: '/var/log/*.log', job: 'varlog', node }] });
  const varlogSource = lokiSourceFile('varlog', { targets: varlog.exports.targets, forward_to: [write.exports.receiver] });

  // The central syslog stream (rsyslog on the syslog server forwards RFC 5424 over TCP).
  const syslogRules = lokiRelabel('syslog', {
    forward_to: [],
    rules: [
      { source_labels: ['__syslog_message_hostname'], target_label: 'node' },
      { source_labels: ['__syslog_message_app_name'], target_label: 'app' },
      { source_labels: ['__syslog_message_severity'], target_label: 'level' },
      { source_labels: ['__syslog_message_facility'], target_label: 'facility' },
    ],
  });
  const syslog = lokiSourceSyslog('syslog', {
    forward_to: [write.exports.receiver],
    relabel_rules: syslogRules.exports.rules,
    listeners: [
      {
        address: `0.0.0.0:${SYSLOG_RECEIVER_PORT}`,
        protocol: 'tcp',
        syslog_format: 'rfc5424',
        idle_timeout: '300s',
        label_structured_data: true,
        use_incoming_timestamp: true,
        labels: { job: 'syslog' },
      },
    ],
  });

  const items: Array<{ comment?: string; block: Block }> = [
    { block: logging({ level: 'info', format: 'logfmt' }) },
    { comment: 'Container logs of the pods on this node (CRI format).', block: pods.block },
    { block: podTargets.block },
    { block: podFiles.block },
    { block: podSource.block },
    { block: cri.block },
    { comment: 'The systemd journal.', block: journalRules.block },
    { block: journal.block },
    { comment: '/var/log/*.log of the node.', block: varlog.block },
    { block: varlogSource.block },
    { comment: `The central syslog stream: rsyslog on the syslog server forwards RFC 5424 over TCP to port ${SYSLOG_RECEIVER_PORT}.`, block: syslogRules.block },
    { block: syslog.block },
    { comment: 'Everything goes to Loki.', block: write.block },
  ];
  return formatFile(items, `Grafana Alloy pipeline rendered by vmstation for ${cluster.metadata.name}; do not edit.`);
}
