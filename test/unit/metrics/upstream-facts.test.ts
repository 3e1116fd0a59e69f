// The command-line flags, ports and HTTP paths the rendered monitoring containers use, each one
// read in the pinned upstream (named per entry), and the host firewall admitting every scrape and
// probe prometheus.yml sends to a node's own address.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { firewallPorts } from '../../../src/render/ansible/host-plan.js';
import { cidrContains } from '../../../src/config/ipv4.js';
import { renderCluster } from '../../../src/render/index.js';
import { EXAMPLE, FULL_FIXTURE, loadCluster } from './support.js';

interface Upstream {
  source: string;
  /** Flags the program defines (without the leading dashes). */
  flags: readonly string[];
  /** Container ports, by our port name: the program's default or what the flags set. */
  ports?: Record<string, number>;
  /** HTTP paths the program serves that our probes use. */
  paths?: readonly string[];
}

// Flags found with `git grep '"<flag>"'` at the tag, in the file named.
const UPSTREAM: Record<string, Upstream> = {
  prometheus: {
    source: 'prometheus/prometheus@v3.11.2:cmd/prometheus/main.go, web/web.go (/-/ready, /-/healthy)',
    flags: ['config.file', 'storage.tsdb.path', 'storage.tsdb.retention.time', 'storage.tsdb.retention.size', 'web.listen-address', 'web.external-url', 'web.cors.origin'],
    ports: { http: 9090 },
    paths: ['/-/ready', '/-/healthy'],
  },
  alertmanager: {
    source: 'prometheus/alertmanager@v0.32.0:cmd/alertmanager/main.go, cli/routing.go',
    flags: ['config.file', 'storage.path', 'web.listen-address', 'web.external-url', 'cluster.listen-address'],
    ports: { http: 9093 },
    paths: ['/-/ready', '/-/healthy'],
  },
  'node-exporter': {
    source: 'prometheus/node_exporter@v1.11.1:collector/paths.go, systemd_linux.go, filesystem_common.go, netclass_linux.go, netdev_common.go, textfile.go; exporter-toolkit web.listen-address',
    flags: ['path.procfs', 'path.sysfs', 'path.rootfs', 'web.listen-address', 'collector.systemd', 'collector.systemd.unit-include', 'collector.filesystem.mount-points-exclude', 'collector.netclass.ignored-devices', 'collector.netdev.device-exclude', 'collector.textfile.directory'],
    ports: { metrics: 9100 },
    paths: ['/'],
  },
  'blackbox-exporter': { source: 'prometheus/blackbox_exporter@v0.28.0:main.go', flags: ['config.file', 'web.listen-address'], ports: { http: 9115 }, paths: ['/-/healthy'] },
  'ipmi-exporter': { source: 'prometheus-community/ipmi_exporter@v1.10.1:main.go', flags: ['config.file', 'web.listen-address'], ports: { http: 9290 }, paths: ['/metrics'] },
  'kube-state-metrics': {
    source: 'kubernetes/kube-state-metrics@v2.18.0:pkg/options/options.go; pkg/app/server.go (/readyz on the telemetry server, /livez on the metrics server)',
    flags: ['port', 'telemetry-port', 'resources'],
    ports: { 'http-metrics': 8080, telemetry: 8081 },
  },
  alloy: { source: 'grafana/alloy@v1.16.0:internal/alloycli/cmd_run.go', flags: ['storage.path', 'server.http.listen-addr', 'stability.level', 'disable-reporting'], paths: ['/-/ready'] },
  loki: { source: 'grafana/loki@v3.7.1:pkg/loki (config.file, target)', flags: ['config.file', 'target'], ports: { http: 3100, grpc: 9095 }, paths: ['/ready'] },
  promtail: { source: 'grafana/loki@v3.6.10:clients/cmd/promtail/main.go', flags: ['config.file', 'config.expand-env'], paths: ['/ready'] },
};

function containers(cluster: ReturnType<typeof loadCluster>) {
  return renderCluster(cluster)
    .filter((a) => a.path.startsWith('manifests/'))
    .flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJS() as any))
    .filter((o) => o?.spec?.template)
    .map((o) => ({ app: o.metadata.labels['app.kubernetes.io/name'] as string, c: o.spec.template.spec.containers[0] }));
}

describe('flags, ports and probe paths exist in the pinned upstream', () => {
  for (const [name, file] of [['example', EXAMPLE], ['full', FULL_FIXTURE]] as const) {
    it(`${name}: every flag is one the program defines, every probe path one it serves`, () => {
      let checked = 0;
      for (const { app, c } of containers(loadCluster(file))) {
        const up = UPSTREAM[app];
        if (!up) continue;
        checked++;
        for (const arg of c.args ?? []) {
          const flag = /^--?([a-z][a-z0-9.-]*)(=|$)/.exec(arg)?.[1];
          if (flag === undefined) continue;
          expect(up.flags, `${app}: ${arg} (${up.source})`).toContain(flag);
        }
        for (const p of c.ports ?? []) if (up.ports?.[p.name] !== undefined) expect(p.containerPort, `${app} port ${p.name}`).toBe(up.ports[p.name]);
        for (const probe of [c.readinessProbe, c.livenessProbe]) if (probe?.httpGet && up.paths) expect(up.paths, `${app} probe`).toContain(probe.httpGet.path);
      }
      expect(checked).toBeGreaterThanOrEqual(7);
    });
  }

  it('the flag check fails on a flag the program does not define (negative control)', () => {
    expect(UPSTREAM.prometheus!.flags).not.toContain('storage.tsdb.retention');
  });
});

describe('the host firewall admits what Prometheus and the blackbox exporter send to node addresses', () => {
  it.each([['example', EXAMPLE], ['full', FULL_FIXTURE]])('%s', (_name, file) => {
    const cluster = loadCluster(file);
    const prom = parse(renderCluster(cluster, ['metrics']).find((a) => a.path === 'configs/prometheus/prometheus.yml')!.content) as { scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[] }> }> };
    // The scraper's traffic leaves from the monitoring node (pod traffic to a node address is
    // masqueraded to it by Calico's natOutgoing, or arrives from the pod range, which the firewall accepts).
    const from = cluster.spec.nodes.find((n) => n.name === cluster.spec.monitoring.node)!.address;
    let checked = 0;
    for (const job of prom.scrape_configs) {
      for (const t of (job.static_configs ?? []).flatMap((s) => s.targets)) {
        const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(t);
        const node = m && cluster.spec.nodes.find((n) => n.address === m[1]);
        if (!node) continue;
        const port = Number(m[2]);
        const open = firewallPorts(cluster, node).some((r) => r.protocol === 'tcp' && (Array.isArray(r.port) ? port >= r.port[0] && port <= r.port[1] : r.port === port) && (r.from.length === 0 || r.from.some((c) => cidrContains(c, from))));
        expect(open, `${job.job_name} -> ${node.name}:${port}`).toBe(true);
        checked++;
      }
    }
    // node-exporter on every node, the API server and the syslog server probes.
    expect(checked).toBeGreaterThanOrEqual(cluster.spec.nodes.length + 1);
  });
});
