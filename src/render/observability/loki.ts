// Loki in single-binary mode: TSDB index (schema v13) on the local filesystem, retention by
// the compactor, limits sized for a homelab. The config is built from a typed model of the
// documented settings (no Loki binary runs here; a golden file pins the text).
import { durationSeconds } from '../../config/duration.js';
import type { Cluster } from '../../config/model.js';
import { IMAGES, onMonitoringNode, toYaml, type KubeObject } from '../k8s/common.js';
import { COMPONENTS, monitoringNamespace, RUN_AS, STORAGE_CLASS } from './names.js';
import { configMap, dataStatefulSet, objectMeta, podSecurityContext, resources, restricted, scrapeAnnotations, service, serviceAccount } from '../k8s/objects.js';

/** The subset of Loki's configuration file we set (names as in Loki's configuration reference). */
export interface LokiConfig {
  auth_enabled: boolean;
  server: { http_listen_port: number; grpc_listen_port: number; log_level: 'debug' | 'info' | 'warn' | 'error' };
  common: {
    instance_addr: string;
    path_prefix: string;
    replication_factor: number;
    ring: { kvstore: { store: 'inmemory' } };
    storage: { filesystem: { chunks_directory: string; rules_directory: string } };
  };
  schema_config: {
    configs: Array<{ from: string; store: 'tsdb'; object_store: 'filesystem'; schema: 'v13'; index: { prefix: string; period: '24h' } }>;
  };
  storage_config: { tsdb_shipper: { active_index_directory: string; cache_location: string } };
  compactor: {
    working_directory: string;
    compaction_interval: string;
    retention_enabled: boolean;
    retention_delete_delay: string;
    retention_delete_worker_count: number;
    delete_request_store: 'filesystem';
  };
  limits_config: {
    retention_period: string;
    ingestion_rate_mb: number;
    ingestion_burst_size_mb: number;
    per_stream_rate_limit: string;
    per_stream_rate_limit_burst: string;
    max_global_streams_per_user: number;
    max_line_size: string;
    max_query_series: number;
    max_query_parallelism: number;
    max_entries_limit_per_query: number;
    reject_old_samples: boolean;
    reject_old_samples_max_age: string;
    allow_structured_metadata: boolean;
    volume_enabled: boolean;
  };
  query_range: { results_cache: { cache: { embedded_cache: { enabled: boolean; max_size_mb: number } } } };
  ingester: { chunk_idle_period: string; chunk_target_size: number; max_chunk_age: string; wal: { dir: string } };
  pattern_ingester: { enabled: boolean };
  analytics: { reporting_enabled: boolean };
}

export const LOKI_DATA_DIR = '/var/loki';
export const LOKI_CONFIG_PATH = '/etc/loki/loki.yaml';
/** First day of the one schema period; never change it for an existing install. */
export const LOKI_SCHEMA_FROM = '2024-04-01';

/** Retention in whole days, as hours: the compactor deletes by index period (24h). */
export function lokiRetention(cluster: Cluster): string {
  const days = Math.max(1, Math.ceil(durationSeconds(cluster.spec.monitoring.loki.retention) / 86400));
  return `${days * 24}h`;
}

export function lokiConfig(cluster: Cluster): LokiConfig {
  const d = LOKI_DATA_DIR;
  const retention = lokiRetention(cluster);
  return {
    auth_enabled: false,
    server: { http_listen_port: COMPONENTS.loki.port, grpc_listen_port: COMPONENTS.loki.grpcPort, log_level: 'info' },
    common: {
      instance_addr: '127.0.0.1',
      path_prefix: d,
      replication_factor: 1,
      ring: { kvstore: { store: 'inmemory' } },
      storage: { filesystem: { chunks_directory: `${d}/chunks`, rules_directory: `${d}/rules` } },
    },
    schema_config: {
      configs: [{ from: LOKI_SCHEMA_FROM, store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
    },
    storage_config: { tsdb_shipper: { active_index_directory: `${d}/tsdb-index`, cache_location: `${d}/tsdb-cache` } },
    compactor: {
      working_directory: `${d}/compactor`,
      compaction_interval: '10m',
      retention_enabled: true,
      retention_delete_delay: '2h',
      retention_delete_worker_count: 50,
      delete_request_store: 'filesystem',
    },
    limits_config: {
      retention_period: retention,
      // A few nodes and a syslog stream: generous for a homelab, small enough to protect the node.
      ingestion_rate_mb: 8,
      ingestion_burst_size_mb: 16,
      per_stream_rate_limit: '4MB',
      per_stream_rate_limit_burst: '8MB',
      max_global_streams_per_user: 10000,
      max_line_size: '256KB',
      max_query_series: 2000,
      max_query_parallelism: 8,
      max_entries_limit_per_query: 5000,
      reject_old_samples: true,
      reject_old_samples_max_age: '168h',
      allow_structured_metadata: true,
      volume_enabled: true,
    },
    query_range: { results_cache: { cache: { embedded_cache: { enabled: true, max_size_mb: 100 } } } },
    ingester: { chunk_idle_period: '30m', chunk_target_size: 1572864, max_chunk_age: '2h', wal: { dir: `${d}/wal` } },
    pattern_ingester: { enabled: false },
    analytics: { reporting_enabled: false },
  };
}

export function lokiConfigText(cluster: Cluster): string {
  return `# Rendered by vmstation from ${cluster.metadata.name}; do not edit.\n${toYaml(lokiConfig(cluster))}`;
}

export function lokiObjects(cluster: Cluster, configText: string): KubeObject[] {
  const name = COMPONENTS.loki.name;
  return [
    serviceAccount(objectMeta(name, { namespace: monitoringNamespace(cluster) }), false),
    configMap(objectMeta(`${name}-config`, { namespace: monitoringNamespace(cluster), app: name, component: 'config' }), { 'loki.yaml': configText }),
    service(objectMeta(name, { namespace: monitoringNamespace(cluster), annotations: scrapeAnnotations(COMPONENTS.loki.port) }), name, [
      // A NodePort only when the file asks for one: Loki's API pushes and deletes logs (issue 17 §4).
      { name: 'http', port: COMPONENTS.loki.port, nodePort: cluster.spec.monitoring.loki.nodePort },
      { name: 'grpc', port: COMPONENTS.loki.grpcPort },
    ]),
    dataStatefulSet({
      metadata: objectMeta(name, { namespace: monitoringNamespace(cluster), component: 'logs' }),
      component: 'logs',
      claimComponent: 'storage',
      configTexts: [configText],
      claim: { size: cluster.spec.monitoring.loki.storage, storageClassName: STORAGE_CLASS },
      pod: {
        automountServiceAccountToken: false,
        ...onMonitoringNode(cluster),
        securityContext: podSecurityContext(RUN_AS.loki),
        containers: [
          {
            name,
            image: IMAGES.loki,
            imagePullPolicy: 'IfNotPresent',
            args: [`-config.file=${LOKI_CONFIG_PATH}`, '-target=all'],
            ports: [
              { name: 'http', containerPort: COMPONENTS.loki.port, protocol: 'TCP' },
              { name: 'grpc', containerPort: COMPONENTS.loki.grpcPort, protocol: 'TCP' },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 2 },
            livenessProbe: { httpGet: { path: '/ready', port: 'http' }, initialDelaySeconds: 120, periodSeconds: 30, failureThreshold: 5 },
            securityContext: restricted(),
            resources: resources({ cpu: '100m', memory: '256Mi' }, { memory: '1Gi' }),
            volumeMounts: [
              { name: 'config', mountPath: '/etc/loki', readOnly: true },
              { name: 'data', mountPath: LOKI_DATA_DIR },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: `${name}-config` } },
          { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
        ],
      },
    }),
  ];
}
