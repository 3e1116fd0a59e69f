// The service configs no real binary can check here (Loki, Alloy, Promtail, Grafana): their
// documented settings, cross-references inside them, and how they match the manifests.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ALL_RENDERERS } from '../../../src/render/index.js';
import { renderAll } from '../../../src/render/registry.js';
import { renderObservability, observability } from '../../../src/render/observability/index.js';
import { formatFile, quote } from '../../../src/render/observability/alloy/syntax.js';
import { exampleCluster, VARIANTS, variant } from './fixture.js';

const content = (arts: ReturnType<typeof renderObservability>, p: string) => {
  const a = arts.find((x) => x.path === p);
  if (!a) throw new Error(`not rendered: ${p}`);
  return a.content;
};

describe('Loki config', () => {
  it('is single-binary, TSDB schema v13 on the filesystem, with compactor retention from the file', () => {
    const cfg = parse(content(renderObservability(exampleCluster()), 'configs/loki/loki.yaml')) as any;
    expect(cfg.auth_enabled).toBe(false);
    expect(cfg.common.replication_factor).toBe(1);
    expect(cfg.common.ring.kvstore.store).toBe('inmemory');
    expect(cfg.schema_config.configs).toEqual([{ from: '2024-04-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }]);
    expect(cfg.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
    expect(cfg.limits_config.retention_period).toBe('720h');
    expect(cfg.analytics.reporting_enabled).toBe(false);
  });

  it('rounds retention up to whole index periods (days)', () => {
    const cfg = parse(content(renderObservability(VARIANTS['anonymous off, other namespace']!()), 'configs/loki/loki.yaml')) as any;
    expect(cfg.limits_config.retention_period).toBe('48h');
  });

  it('is the text the Loki ConfigMap embeds, served inside the cluster only unless the file sets a NodePort', () => {
    const arts = renderObservability(exampleCluster());
    const docs = parseAllDocuments(content(arts, 'manifests/loki.yaml')).map((d) => d.toJS() as any);
    expect(docs.find((d) => d.kind === 'ConfigMap').data['loki.yaml']).toBe(content(arts, 'configs/loki/loki.yaml'));
    const svc = docs.find((d) => d.kind === 'Service');
    // Issue 17 §4: Loki's API pushes and deletes logs, so by default no NodePort.
    expect(svc.spec.type).toBe('ClusterIP');
    expect(svc.spec.ports[0]).toEqual({ name: 'http', port: 3100, targetPort: 'http', protocol: 'TCP' });
    expect(svc.spec).not.toHaveProperty('externalTrafficPolicy');

    const exposed = exampleCluster();
    exposed.spec.monitoring.loki.nodePort = 31100;
    const svc2 = parseAllDocuments(content(renderObservability(exposed), 'manifests/loki.yaml')).map((d) => d.toJS() as any).find((d) => d.kind === 'Service');
    expect(svc2.spec.type).toBe('NodePort');
    expect(svc2.spec.ports[0]).toMatchObject({ port: 3100, nodePort: 31100 });
    expect(svc2.spec.externalTrafficPolicy).toBe('Local');
  });
});

/** Component blocks (`name "label" {`) and the exports other blocks reference. */
function alloyGraph(text: string) {
  const defined = new Set([...text.matchAll(/^([a-z_]+(?:\.[a-z_]+)+) "([A-Za-z0-9_]+)" \{/gm)].map((m) => `${m[1]}.${m[2]}`));
  const references = [...text.matchAll(/\b((?:loki|discovery|local)\.[a-z_.]+?\.[A-Za-z0-9_]+)\.(receiver|rules|targets|output)\b/g)].map((m) => m[1]!);
  return { defined, references };
}

describe('Alloy config', () => {
  const text = content(renderObservability(exampleCluster()), 'configs/alloy/config.alloy');

  it('references only components it defines, and every source reaches loki.write', () => {
    const { defined, references } = alloyGraph(text);
    expect(defined.size).toBeGreaterThanOrEqual(12);
    expect(references.length).toBeGreaterThanOrEqual(10);
    for (const r of references) expect(defined.has(r), r).toBe(true);
    expect(defined).toContain('loki.write.default');
    for (const source of ['loki.source.file.pod_logs', 'loki.source.file.varlog', 'loki.source.journal.journal', 'loki.source.syslog.syslog']) expect(defined).toContain(source);
  });

  it('has balanced braces and brackets outside strings', () => {
    let depth = 0;
    let square = 0;
    const unquoted = text.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\/\/.*$/gm, '');
    for (const ch of unquoted) {
      if (ch === '{') depth++;
      if (ch === '}') depth--;
      if (ch === '[') square++;
      if (ch === ']') square--;
      expect(depth).toBeGreaterThanOrEqual(0);
      expect(square).toBeGreaterThanOrEqual(0);
    }
    expect([depth, square]).toEqual([0, 0]);
  });

  it('reads CRI container logs from /var/log/pods with namespace, pod, container and node labels', () => {
    expect(text).toContain('replacement   = "/var/log/pods/*$1/*.log"');
    expect(text).toContain('stage.cri { }');
    for (const label of ['namespace', 'pod', 'container', 'node']) expect(text).toContain(`target_label  = "${label}"`);
    expect(text).toContain('field = "spec.nodeName=" + sys.env("NODE_NAME")');
  });

  it('receives RFC 5424 syslog over TCP on port 1514 as job="syslog"', () => {
    const listener = /listener \{([^}]*)\}/.exec(text)![1]!;
    expect(listener).toContain('address                = "0.0.0.0:1514"');
    expect(listener).toContain('protocol               = "tcp"');
    expect(listener).toContain('syslog_format          = "rfc5424"');
    expect(text).toMatch(/labels\s+= \{\s+job = "syslog",/);
  });

  it('ships the journal and /var/log/*.log with the node label', () => {
    expect(text).toMatch(/loki\.source\.journal "journal" \{[^]*?node = sys\.env\("NODE_NAME"\)/);
    expect(text).toMatch(/__path__ = "\/var\/log\/\*\.log"/);
  });

  it('quotes strings the way Alloy reads them', () => {
    expect(quote('a"b\\c\nd\te')).toBe('"a\\"b\\\\c\\nd\\te"');
    // Alloy string literals use Go's escapes; for what quote() emits they coincide with JSON's.
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (s) => JSON.parse(quote(s)) === s));
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii' }), (s) => JSON.parse(quote(s)) === s));
  });

  it('refuses labels, block and attribute names Alloy would reject', () => {
    const block = (name: string, label?: string, attr = 'x') => formatFile([{ block: { name, ...(label === undefined ? {} : { label }), attributes: [[attr, 1]], blocks: [] } }], 'h');
    expect(block('loki.write', 'ok_1')).toContain('loki.write "ok_1" {');
    expect(() => block('loki.write', 'pod-logs')).toThrow(/not an Alloy label/);
    expect(() => block('loki..write', 'a')).toThrow(/not an Alloy block name/);
    expect(() => block('loki.write', 'a', 'forward-to')).toThrow(/not an Alloy attribute name/);
  });
});

describe('Promtail config', () => {
  const arts = renderObservability(VARIANTS.promtail!());
  const cfg = parse(content(arts, 'configs/promtail/promtail.yaml')) as any;

  it('has the same four sources as the Alloy pipeline, pushing to Loki', () => {
    expect(cfg.scrape_configs.map((s: any) => s.job_name)).toEqual(['kubernetes-pods', 'systemd-journal', 'varlog', 'syslog']);
    expect(cfg.clients[0].url).toBe('http://loki.monitoring.svc.cluster.local:3100/loki/api/v1/push');
    expect(cfg.scrape_configs[0].pipeline_stages).toEqual([{ cri: {} }]);
    expect(cfg.scrape_configs[3].syslog).toMatchObject({ listen_address: '0.0.0.0:1514', listen_protocol: 'tcp', labels: { job: 'syslog' } });
  });

  it('runs with -config.expand-env so ${NODE_NAME} becomes the node', () => {
    const ds = parseAllDocuments(content(arts, 'manifests/promtail.yaml')).map((d) => d.toJS() as any).find((d) => d.kind === 'DaemonSet');
    expect(ds.spec.template.spec.containers[0].args).toContain('-config.expand-env=true');
    expect(cfg.scrape_configs[2].static_configs[0].labels.node).toBe('${NODE_NAME}');
    expect(arts.map((a) => a.path)).not.toContain('configs/alloy/config.alloy');
  });
});

describe('Grafana config', () => {
  it('never downloads plugins and never phones home', () => {
    const arts = renderObservability(exampleCluster());
    const ini = content(arts, 'configs/grafana/grafana.ini');
    for (const line of ['preinstall_disabled = true', 'check_for_updates = false', 'check_for_plugin_updates = false', 'reporting_enabled = false', 'plugin_admin_enabled = false']) expect(ini).toContain(line);
    const grafana = parseAllDocuments(content(arts, 'manifests/grafana.yaml')).map((d) => d.toJS() as any).find((d) => d.kind === 'Deployment');
    const env = grafana.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
    expect(env.map((e) => e.name)).not.toContain('GF_INSTALL_PLUGINS');
    expect(env).toContainEqual({ name: 'GF_PLUGINS_PREINSTALL_DISABLED', value: 'true' });
    expect(env).toContainEqual({ name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'true' });
    expect(env).toContainEqual({ name: 'GF_AUTH_ANONYMOUS_ORG_ROLE', value: 'Viewer' });
  });

  it('turns anonymous access off when the file says None', () => {
    const arts = renderObservability(VARIANTS['anonymous off, other namespace']!());
    const grafana = parseAllDocuments(content(arts, 'manifests/grafana.yaml')).map((d) => d.toJS() as any).find((d) => d.kind === 'Deployment');
    const env = grafana.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
    expect(env).toContainEqual({ name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' });
    expect(env.map((e) => e.name)).not.toContain('GF_AUTH_ANONYMOUS_ORG_ROLE');
    expect(grafana.metadata.namespace).toBe('observability');
  });

  it('serves Grafana on the NodePort from the file', () => {
    const cluster = variant((d) => (d.spec.monitoring.grafana.nodePort = 31300));
    const svc = parseAllDocuments(content(renderObservability(cluster), 'manifests/grafana.yaml')).map((d) => d.toJS() as any).find((d) => d.kind === 'Service');
    expect(svc.spec.ports[0]).toMatchObject({ port: 3000, nodePort: 31300, targetPort: 'http' });
  });
});

describe('render contract', () => {
  it('is deterministic: rendering twice gives identical bytes', () => {
    const a = renderObservability(exampleCluster());
    const b = renderObservability(exampleCluster());
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('is registered in ALL_RENDERERS as `observability`', () => {
    expect(ALL_RENDERERS.map((r) => r.name)).toContain('observability');
  });

  it('records a checker per artifact in index.json: schema for manifests, golden for configs, json for dashboards', () => {
    const arts = renderAll(exampleCluster(), [observability]);
    const index = JSON.parse(arts.find((a) => a.path === 'index.json')!.content) as { artifacts: Array<{ path: string; checker: string; renderer: string }> };
    expect(index.artifacts.length).toBe(arts.length - 1);
    for (const e of index.artifacts) {
      expect(e.renderer).toBe('observability');
      const expected = e.path.startsWith('manifests/') ? 'kubernetes-schema' : e.path.endsWith('.json') ? 'json' : 'golden';
      expect(e.checker, e.path).toBe(expected);
    }
  });
});
