// Facts the upstream projects document at the versions we pin, checked against the render:
// every key of loki.yaml, config.alloy and promtail.yaml exists in that version's reference; every
// path a container writes is a writable volume when its root filesystem is read-only; every pod
// runs as the user its image expects. Each fact names where it was read.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../../src/render/artifact.js';
import { renderCluster } from '../../../src/render/index.js';
import { IMAGES } from '../../../src/render/k8s/common.js';
import { exampleCluster, VARIANTS } from './fixture.js';
import { FULL_FIXTURE, loadCluster } from '../metrics/support.js';

const text = (arts: readonly Artifact[], p: string) => {
  const a = arts.find((x) => x.path === p);
  if (!a) throw new Error(`not rendered: ${p}`);
  return a.content;
};

/** Dotted key paths of a parsed YAML value (list items share their parent's path). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => keyPaths(v, prefix));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return [p, ...keyPaths(v, p)];
  });
}

// grafana/loki@v3.7.1:docs/sources/shared/configuration.md (the blocks and keys we set).
const LOKI_KEYS = new Set([
  'auth_enabled',
  'server', 'server.http_listen_port', 'server.grpc_listen_port', 'server.log_level',
  'common', 'common.instance_addr', 'common.path_prefix', 'common.replication_factor', 'common.ring', 'common.ring.kvstore', 'common.ring.kvstore.store',
  'common.storage', 'common.storage.filesystem', 'common.storage.filesystem.chunks_directory', 'common.storage.filesystem.rules_directory',
  'schema_config', 'schema_config.configs', 'schema_config.configs.from', 'schema_config.configs.store', 'schema_config.configs.object_store', 'schema_config.configs.schema',
  'schema_config.configs.index', 'schema_config.configs.index.prefix', 'schema_config.configs.index.period',
  'storage_config', 'storage_config.tsdb_shipper', 'storage_config.tsdb_shipper.active_index_directory', 'storage_config.tsdb_shipper.cache_location',
  'compactor', 'compactor.working_directory', 'compactor.compaction_interval', 'compactor.retention_enabled', 'compactor.retention_delete_delay', 'compactor.retention_delete_worker_count', 'compactor.delete_request_store',
  'limits_config', ...['retention_period', 'ingestion_rate_mb', 'ingestion_burst_size_mb', 'per_stream_rate_limit', 'per_stream_rate_limit_burst', 'max_global_streams_per_user', 'max_line_size', 'max_query_series', 'max_query_parallelism', 'max_entries_limit_per_query', 'reject_old_samples', 'reject_old_samples_max_age', 'allow_structured_metadata', 'volume_enabled'].map((k) => `limits_config.${k}`),
  'query_range', 'query_range.results_cache', 'query_range.results_cache.cache', 'query_range.results_cache.cache.embedded_cache', 'query_range.results_cache.cache.embedded_cache.enabled', 'query_range.results_cache.cache.embedded_cache.max_size_mb',
  'ingester', 'ingester.chunk_idle_period', 'ingester.chunk_target_size', 'ingester.max_chunk_age', 'ingester.wal', 'ingester.wal.dir',
  'pattern_ingester', 'pattern_ingester.enabled',
  'analytics', 'analytics.reporting_enabled',
]);

// grafana/loki@v3.6.10:docs/sources/send-data/promtail/configuration.md, and for listen_protocol
// (used, not documented) clients/pkg/promtail/scrapeconfig/scrapeconfig.go.
const PROMTAIL_KEYS = new Set([
  'server', 'server.http_listen_port', 'server.grpc_listen_port', 'server.log_level',
  'positions', 'positions.filename',
  'clients', 'clients.url', 'clients.external_labels', 'clients.external_labels.cluster',
  'scrape_configs', 'scrape_configs.job_name', 'scrape_configs.pipeline_stages', 'scrape_configs.pipeline_stages.cri',
  'scrape_configs.kubernetes_sd_configs', 'scrape_configs.kubernetes_sd_configs.role', 'scrape_configs.kubernetes_sd_configs.selectors', 'scrape_configs.kubernetes_sd_configs.selectors.role', 'scrape_configs.kubernetes_sd_configs.selectors.field',
  'scrape_configs.relabel_configs', ...['source_labels', 'separator', 'regex', 'target_label', 'replacement', 'action'].map((k) => `scrape_configs.relabel_configs.${k}`),
  'scrape_configs.journal', 'scrape_configs.journal.max_age', 'scrape_configs.journal.path', 'scrape_configs.journal.labels', 'scrape_configs.journal.labels.job', 'scrape_configs.journal.labels.node',
  'scrape_configs.static_configs', 'scrape_configs.static_configs.targets', 'scrape_configs.static_configs.labels', 'scrape_configs.static_configs.labels.job', 'scrape_configs.static_configs.labels.node', 'scrape_configs.static_configs.labels.__path__',
  'scrape_configs.syslog', ...['listen_address', 'listen_protocol', 'idle_timeout', 'label_structured_data', 'use_incoming_timestamp', 'labels', 'labels.job'].map((k) => `scrape_configs.syslog.${k}`),
]);

// grafana/alloy@v1.16.0:docs/sources/reference/components/<component>.md, the argument and block
// tables (and config-blocks/logging.md for `logging`).
const ALLOY_ATTRIBUTES: Record<string, readonly string[]> = {
  logging: ['level', 'format', 'write_to'],
  'discovery.kubernetes': ['api_server', 'role', 'kubeconfig_file', 'selectors', 'namespaces', 'attach_metadata'],
  selectors: ['role', 'label', 'field'],
  'discovery.relabel': ['targets', 'rule'],
  rule: ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'],
  'local.file_match': ['path_targets', 'sync_period', 'ignore_older_than'],
  'loki.source.file': ['targets', 'forward_to', 'encoding', 'tail_from_end', 'legacy_positions_file', 'decompression', 'file_watch', 'on_positions_file_error'],
  'loki.process': ['forward_to', 'stage.cri'],
  'stage.cri': ['max_partial_lines', 'max_partial_line_size', 'max_partial_line_size_truncate'],
  'loki.relabel': ['forward_to', 'max_cache_size', 'rule'],
  'loki.source.journal': ['format_as_json', 'max_age', 'path', 'relabel_rules', 'matches', 'forward_to', 'labels'],
  'loki.source.syslog': ['forward_to', 'relabel_rules', 'listener'],
  listener: ['address', 'protocol', 'idle_timeout', 'label_structured_data', 'labels', 'max_message_length', 'use_incoming_timestamp', 'use_rfc5424_message', 'rfc3164_default_to_current_year', 'syslog_format', 'rfc5424_allow_empty_msg'],
  'loki.write': ['endpoint', 'external_labels', 'max_streams'],
  endpoint: ['url', 'name', 'headers', 'batch_wait', 'batch_size', 'remote_timeout', 'tenant_id', 'min_backoff_period', 'max_backoff_period', 'max_backoff_retries', 'retry_on_http_429'],
};

/** Block names and their attribute/block names, by a small scan of Alloy syntax (one statement per line, as rendered). */
function alloyStatements(source: string): Array<{ block: string; names: string[] }> {
  const out: Array<{ block: string; names: string[] }> = [];
  const stack: Array<{ block: string; names: string[] }> = [];
  let depthInValue = 0;
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('//')) continue;
    if (depthInValue > 0) {
      depthInValue += (line.match(/[{[]/g) ?? []).length - (line.match(/[}\]]/g) ?? []).length;
      continue;
    }
    const open = /^([a-z_.]+)(?:\s+"[^"]*")?\s*\{\s*(\})?$/.exec(line);
    if (open) {
      stack.at(-1)?.names.push(open[1]!);
      const entry = { block: open[1]!, names: [] };
      out.push(entry);
      if (!open[2]) stack.push(entry);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    const attr = /^([a-z_]+)\s*=\s*(.*)$/.exec(line);
    if (attr) {
      stack.at(-1)?.names.push(attr[1]!);
      const rest = attr[2]!;
      depthInValue = (rest.match(/[{[]/g) ?? []).length - (rest.match(/[}\]]/g) ?? []).length;
      continue;
    }
    throw new Error(`unexpected Alloy line: ${line}`);
  }
  return out;
}

describe('configuration keys exist in the pinned versions', () => {
  it.each(Object.keys(VARIANTS))('loki.yaml (%s): every key is in the Loki 3.7 configuration reference', (name) => {
    expect(IMAGES.loki).toMatch(/:3\.7\.1$/);
    const arts = renderCluster(VARIANTS[name]!(), ['observability']);
    const unknown = keyPaths(parse(text(arts, 'configs/loki/loki.yaml'))).filter((k) => !LOKI_KEYS.has(k));
    expect(unknown).toEqual([]);
  });

  it('promtail.yaml: every key is in the Promtail 3.6 configuration reference', () => {
    expect(IMAGES.promtail).toMatch(/:3\.6\.10$/);
    const arts = renderCluster(VARIANTS.promtail!(), ['observability']);
    const unknown = keyPaths(parse(text(arts, 'configs/promtail/promtail.yaml'))).filter((k) => !PROMTAIL_KEYS.has(k));
    expect(unknown).toEqual([]);
  });

  it('config.alloy: every attribute and block is one the Alloy 1.16 component reference lists', () => {
    expect(IMAGES.alloy).toMatch(/:v1\.16\.0$/);
    const statements = alloyStatements(text(renderCluster(exampleCluster(), ['observability']), 'configs/alloy/config.alloy'));
    expect(statements.length).toBeGreaterThan(10);
    for (const s of statements) {
      const allowed = ALLOY_ATTRIBUTES[s.block];
      expect(allowed, `block ${s.block}`).toBeDefined();
      for (const n of s.names) expect(allowed, `${s.block}.${n}`).toContain(n);
    }
  });

  it('the key checks fail on a key the reference does not have (negative control)', () => {
    expect(keyPaths(parse('compactor:\n  retention_enable: true\n')).filter((k) => !LOKI_KEYS.has(k))).toEqual(['compactor.retention_enable']);
    const bad = alloyStatements('loki.write "x" {\n  endpoint {\n    urls = "http://x"\n  }\n}\n');
    expect(ALLOY_ATTRIBUTES.endpoint).not.toContain(bad.find((s) => s.block === 'endpoint')!.names[0]);
  });
});

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  securityContext?: { readOnlyRootFilesystem?: boolean; runAsUser?: number };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  resources?: { limits?: Record<string, string> };
}

function workloads(arts: readonly Artifact[]): Array<{ app: string; pod: any; containers: Container[]; init: Container[] }> {
  return arts
    .filter((a) => a.path.startsWith('manifests/'))
    .flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJS() as any))
    .filter((o) => o && ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind))
    .map((o) => ({ app: o.metadata.labels?.['app.kubernetes.io/name'] ?? o.metadata.name, pod: o.spec.template.spec, containers: o.spec.template.spec.containers, init: o.spec.template.spec.initContainers ?? [] }));
}

/**
 * Where each image writes, from its upstream (paths as this render configures them):
 * - prometheus: --storage.tsdb.path (prometheus/prometheus@v3.11.2:cmd/prometheus/main.go; the image's VOLUME /prometheus)
 * - alertmanager: --storage.path (prometheus/alertmanager@v0.32.0:cmd/alertmanager/main.go; VOLUME /alertmanager)
 * - loki: common.path_prefix and its subfolders, the ruler's rules-temp included (grafana/loki@v3.7.1:pkg/loki/config_wrapper.go), and /tmp
 * - grafana: GF_PATHS_DATA /var/lib/grafana (database, plugins, search index), GF_PATHS_LOGS, /tmp
 *   (grafana-community/helm-charts@b151768f, chart for Grafana 12.4.3: the same mounts)
 * - alloy: --storage.path (grafana/alloy@v1.16.0:Dockerfile, /var/lib/alloy/data), /tmp
 * - promtail: positions.filename's folder, /tmp
 * - ipmi-exporter: os.TempDir() for FreeIPMI's config FIFO (prometheus-community/ipmi_exporter@v1.10.1:freeipmi/freeipmi.go)
 *   and $HOME/.freeipmi for the SDR cache (collector_ipmi.go runs ipmi-sensors with --sdr-cache-recreate)
 */
const WRITES: Record<string, (c: Container) => string[]> = {
  prometheus: (c) => [c.args!.find((a) => a.startsWith('--storage.tsdb.path='))!.split('=')[1]!],
  alertmanager: (c) => [c.args!.find((a) => a.startsWith('--storage.path='))!.split('=')[1]!],
  loki: () => ['/var/loki', '/var/loki/rules-temp', '/tmp'],
  grafana: () => ['/var/lib/grafana', '/var/lib/grafana/plugins', '/var/log/grafana', '/tmp'],
  alloy: (c) => [c.args!.find((a) => a.startsWith('--storage.path='))!.split('=')[1]!, '/tmp'],
  promtail: () => ['/run/promtail', '/tmp'],
  'ipmi-exporter': (c) => ['/tmp', `${c.env?.find((e) => e.name === 'HOME')?.value ?? '/'}/.freeipmi`],
};

/** The user each image runs as (its Dockerfile's USER; `nobody` is 65534 in the busybox, alpine and distroless bases). */
const IMAGE_USER: Record<string, number> = {
  prometheus: 65534, // prometheus/prometheus@v3.11.2:Dockerfile USER nobody
  alertmanager: 65534, // prometheus/alertmanager@v0.32.0:Dockerfile USER nobody
  'node-exporter': 65534, // prometheus/node_exporter@v1.11.1:Dockerfile USER nobody
  'kube-state-metrics': 65534, // kubernetes/kube-state-metrics@v2.18.0:Dockerfile USER nobody
  'ipmi-exporter': 65534, // prometheus-community/ipmi_exporter@v1.10.1:Dockerfile USER nobody
  loki: 10001, // grafana/loki@v3.7.1:cmd/loki/Dockerfile USER 10001, /loki owned by 10001
  grafana: 472, // the grafana image's grafana user (GF_UID 472), as the 12.4.3 chart runs it
};

describe('what the images need at run time', () => {
  const full = loadCluster(FULL_FIXTURE);
  const trees = { example: renderCluster(exampleCluster()), full: renderCluster(full), promtail: renderCluster(VARIANTS.promtail!()) };

  it.each(Object.keys(trees))('%s: every path an image writes is on a writable volume when its root filesystem is read-only', (tree) => {
    const seen = new Set<string>();
    for (const w of workloads(trees[tree as keyof typeof trees])) {
      const writes = WRITES[w.app];
      if (!writes) continue;
      const c = w.containers[0]!;
      expect(c.securityContext?.readOnlyRootFilesystem, w.app).toBe(true);
      const writable = (c.volumeMounts ?? []).filter((m) => !m.readOnly).map((m) => m.mountPath);
      for (const p of writes(c)) expect(writable.some((m) => p === m || p.startsWith(`${m}/`)), `${w.app} writes ${p}; writable: ${writable.join(', ')}`).toBe(true);
      seen.add(w.app);
    }
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });

  it('every pod runs as the user its image expects (volumes owned through fsGroup or the volume-owner init container)', () => {
    for (const w of workloads(trees.full)) {
      const uid = IMAGE_USER[w.app];
      if (uid === undefined) continue;
      expect(w.pod.securityContext.runAsUser, w.app).toBe(uid);
    }
  });

  it('every container, init containers included, has a memory limit (issue #17: volume-owner had none)', () => {
    for (const tree of Object.values(trees)) {
      for (const w of workloads(tree)) for (const c of [...w.init, ...w.containers]) expect(c.resources?.limits?.memory, `${w.app}/${c.name}`).toBeDefined();
    }
  });
});
