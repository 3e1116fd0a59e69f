// Promtail (end-of-life since 2026-03-02; Alloy is the default): the same sources and labels as
// the Alloy pipeline, built from a typed model of Promtail's documented configuration.
import type { Cluster } from '../../config/model.js';
import { SYSLOG_RECEIVER_PORT, toYaml } from '../k8s/common.js';
import { lokiPushUrl, NODE_NAME_ENV, POD_LOG_RELABEL_RULES } from './alloy/config.js';
import { COMPONENTS } from './names.js';

interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep';
}

type ScrapeConfig =
  | { job_name: string; pipeline_stages?: Array<Record<string, unknown>>; kubernetes_sd_configs: Array<{ role: 'pod'; selectors?: Array<{ role: 'pod'; field: string }> }>; relabel_configs: RelabelConfig[] }
  | { job_name: string; journal: { max_age: string; path?: string; labels: Record<string, string> }; relabel_configs: RelabelConfig[] }
  | { job_name: string; static_configs: Array<{ targets: string[]; labels: Record<string, string> }> }
  | {
      job_name: string;
      syslog: { listen_address: string; listen_protocol: 'tcp' | 'udp'; idle_timeout: string; label_structured_data: boolean; use_incoming_timestamp: boolean; labels: Record<string, string> };
      relabel_configs: RelabelConfig[];
    };

export interface PromtailConfig {
  server: { http_listen_port: number; grpc_listen_port: number; log_level: string };
  positions: { filename: string };
  clients: Array<{ url: string; external_labels: Record<string, string> }>;
  scrape_configs: ScrapeConfig[];
}

/** Promtail expands ${VAR} in its config with -config.expand-env=true (the DaemonSet passes it). */
const nodeVar = `\${${NODE_NAME_ENV}}`;

export function promtailConfig(cluster: Cluster): PromtailConfig {
  return {
    server: { http_listen_port: COMPONENTS.promtail.port, grpc_listen_port: 0, log_level: 'info' },
    positions: { filename: '/run/promtail/positions.yaml' },
    clients: [{ url: lokiPushUrl(cluster), external_labels: { cluster: cluster.metadata.name } }],
    scrape_configs: [
      {
        job_name: 'kubernetes-pods',
        pipeline_stages: [{ cri: {} }],
        kubernetes_sd_configs: [{ role: 'pod', selectors: [{ role: 'pod', field: `spec.nodeName=${nodeVar}` }] }],
        relabel_configs: POD_LOG_RELABEL_RULES,
      },
      {
        job_name: 'systemd-journal',
        journal: { max_age: '12h', labels: { job: 'systemd-journal', node: nodeVar } },
        relabel_configs: [
          { source_labels: ['__journal__systemd_unit'], target_label: 'unit' },
          { source_labels: ['__journal_priority_keyword'], target_label: 'level' },
          { source_labels: ['__journal_syslog_identifier'], target_label: 'syslog_identifier' },
        ],
      },
      { job_name: 'varlog', static_configs: [{ targets: ['localhost'], labels: { job: 'varlog', node: nodeVar, __path__: '/var/log/*.log' } }] },
      {
        job_name: 'syslog',
        syslog: {
          listen_address: `0.0.0.0:${SYSLOG_RECEIVER_PORT}`,
          listen_protocol: 'tcp',
          idle_timeout: '300s',
          label_structured_data: true,
          use_incoming_timestamp: true,
          labels: { job: 'syslog' },
        },
        relabel_configs: [
          { source_labels: ['__syslog_message_hostname'], target_label: 'node' },
          { source_labels: ['__syslog_message_app_name'], target_label: 'app' },
          { source_labels: ['__syslog_message_severity'], target_label: 'level' },
          { source_labels: ['__syslog_message_facility'], target_label: 'facility' },
        ],
      },
    ],
  };
}

export function promtailConfigText(cluster: Cluster): string {
  return `# Promtail config rendered by vmstation for ${cluster.metadata.name}; do not edit.\n${toYaml(promtailConfig(cluster))}`;
}
