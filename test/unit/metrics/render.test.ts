// Properties of the metrics render: deterministic, pinned images, least-privilege RBAC, no
// secrets, sleep-aware rules, the node labels every rule relies on, and the flags that keep the
// Prometheus UI safe. Golden files pin the exact text (UPDATE_GOLDEN=1 refreshes them).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../../src/render/index.js';
import { metrics, renderMetrics } from '../../../src/render/metrics/index.js';
import { alertmanagerSecretKeys, ipmiSecretKeys } from '../../../src/render/metrics/names.js';
import { prometheusArgs } from '../../../src/render/metrics/prometheus.js';
import { ruleGroups } from '../../../src/render/metrics/rules/index.js';
import { artifactText, EXAMPLE, FULL_FIXTURE, loadCluster, REPO } from './support.js';

const example = loadCluster(EXAMPLE);
const full = loadCluster(FULL_FIXTURE);

type Obj = { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; rules?: Array<Record<string, string[]>> };
const objects = (text: string): Obj[] => parseAllDocuments(text).map((d) => d.toJS() as Obj);
const allObjects = (artifacts: ReturnType<typeof renderMetrics>) => artifacts.filter((a) => a.path.startsWith('manifests/')).flatMap((a) => objects(a.content));

describe('metrics renderer', () => {
  it('is registered and renders the same bytes twice', () => {
    const a = renderCluster(example, ['metrics']);
    const b = renderCluster(example, ['metrics']);
    expect(a.map((x) => x.content)).toEqual(b.map((x) => x.content));
    expect(metrics.name).toBe('metrics');
    expect(renderMetrics(full)).toEqual(renderMetrics(full));
  });

  it('records a real checker per artifact in index.json', () => {
    const index = JSON.parse(artifactText(renderCluster(example, ['metrics']), 'index.json')) as { artifacts: Array<{ path: string; checker: string; renderer: string }> };
    const byPath = Object.fromEntries(index.artifacts.map((a) => [a.path, a.checker]));
    expect(byPath['configs/prometheus/prometheus.yml']).toBe('promtool-config');
    expect(byPath['configs/prometheus/rules/power.yaml']).toBe('promtool-rules');
    expect(byPath['configs/alertmanager/alertmanager.yml']).toBe('amtool');
    expect(byPath['configs/blackbox/blackbox.yml']).toBe('blackbox-config');
    for (const m of ['prometheus', 'alertmanager', 'blackbox-exporter', 'node-exporter', 'kube-state-metrics']) expect(byPath[`manifests/${m}.yaml`]).toBe('kubernetes-schema');
    expect(index.artifacts.every((a) => a.renderer === 'metrics')).toBe(true);
  });

  it('renders nothing when monitoring is disabled, and the IPMI exporter only when enabled with BMCs', () => {
    expect(renderMetrics({ ...example, spec: { ...example.spec, monitoring: { ...example.spec.monitoring, enabled: false } } })).toEqual([]);
    expect(renderMetrics(example).some((a) => a.path.includes('ipmi'))).toBe(false);
    expect(renderMetrics(full).map((a) => a.path)).toEqual(expect.arrayContaining(['configs/ipmi-exporter/ipmi.yml', 'manifests/ipmi-exporter.yaml']));
  });

  it('pins every image to an exact version, never latest', () => {
    for (const cluster of [example, full]) {
      const images = allObjects(renderMetrics(cluster)).flatMap((o) => JSON.stringify(o).match(/"image":"[^"]+"/g) ?? []);
      expect(images.length).toBeGreaterThanOrEqual(6);
      for (const i of images) expect(i).toMatch(/:(v?\d+\.\d+\.\d+)"$/);
    }
  });

  it('uses no "*" in any RBAC rule and gives kube-state-metrics only list/watch', () => {
    const roles = allObjects(renderMetrics(full)).filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    expect(roles.map((r) => r.metadata.name).sort()).toEqual(['vmstation-kube-state-metrics', 'vmstation-prometheus']);
    for (const r of roles) for (const rule of r.rules ?? []) for (const v of Object.values(rule)) expect(v).not.toContain('*');
    const ksm = roles.find((r) => r.metadata.name === 'vmstation-kube-state-metrics')!;
    for (const rule of ksm.rules ?? []) {
      expect(rule.verbs).toEqual(['list', 'watch']);
      expect(rule.resources).not.toContain('secrets');
    }
  });

  it('places every non-DaemonSet workload on the monitoring node; node-exporter tolerates every taint with host network and PID', () => {
    const workloads = allObjects(renderMetrics(full)).filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
    for (const w of workloads) {
      const pod = (w.spec!.template as { spec: Record<string, unknown> }).spec;
      if (w.kind === 'DaemonSet') {
        expect(pod).toMatchObject({ hostNetwork: true, hostPID: true, tolerations: [{ operator: 'Exists' }] });
      } else {
        expect(pod.nodeSelector, w.metadata.name).toEqual({ 'kubernetes.io/hostname': 'cp1' });
        expect(pod.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' });
      }
    }
  });

  it('keeps volumes on the local-path class, sized from the file, owned through fsGroup', () => {
    const sts = allObjects(renderMetrics(full)).filter((o) => o.kind === 'StatefulSet');
    const sizes = Object.fromEntries(
      sts.map((s) => {
        const claim = (s.spec!.volumeClaimTemplates as Array<{ spec: { storageClassName: string; resources: { requests: { storage: string } } } }>)[0]!;
        expect(claim.spec.storageClassName).toBe('local-path');
        expect((s.spec!.template as { spec: { securityContext: { fsGroup: number } } }).spec.securityContext.fsGroup).toBe(65534);
        return [s.metadata.name, claim.spec.resources.requests.storage];
      }),
    );
    expect(sizes).toEqual({ prometheus: '40Gi', alertmanager: '1Gi' });
  });

  it('runs Prometheus with retention from the file, no admin API, no lifecycle API, CORS limited to its own UI', () => {
    const args = prometheusArgs(full);
    expect(args).toContain('--storage.tsdb.retention.time=15d');
    expect(args).toContain('--storage.tsdb.retention.size=8GB');
    expect(args.join(' ')).not.toMatch(/enable-admin-api|enable-lifecycle/);
    const cors = args.find((a) => a.startsWith('--web.cors.origin='))!;
    expect(cors).toBe('--web.cors.origin=http://10\\.78\\.0\\.10:30091');
    const svc = objects(artifactText(renderMetrics(example), 'manifests/prometheus.yaml')).find((o) => o.kind === 'Service')!;
    expect(svc.spec).toMatchObject({ type: 'NodePort', ports: [{ nodePort: 30090 }] });
  });

  it('Prometheus and Alertmanager NodePorts keep the client address, so the NetworkPolicy source check by subnet holds (issue 17 §4)', () => {
    // Without externalTrafficPolicy Local the node SNATs NodePort traffic and the pod sees a node
    // address: https://kubernetes.io/docs/tutorials/services/source-ip/#source-ip-for-services-with-type-nodeport
    // Alertmanager gets a NodePort only when the file sets one (its API creates silences).
    const exposed = structuredClone(example);
    exposed.spec.monitoring.alertmanager.nodePort = 30903;
    const artifacts = renderMetrics(exposed);
    for (const file of ['manifests/prometheus.yaml', 'manifests/alertmanager.yaml']) {
      const svcs = objects(artifactText(artifacts, file)).filter((o) => o.kind === 'Service' && (o.spec as { type?: string }).type === 'NodePort');
      expect(svcs.length, file).toBe(1);
      expect(svcs[0]!.spec).toMatchObject({ externalTrafficPolicy: 'Local' });
    }
  });

  it('keeps Alertmanager inside the cluster by default: a ClusterIP Service, links to its Service name (issue 17 §4)', () => {
    const docs = objects(artifactText(renderMetrics(example), 'manifests/alertmanager.yaml'));
    const svc = docs.find((o) => o.kind === 'Service')!;
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 9093, targetPort: 'http', protocol: 'TCP' }] });
    expect(svc.spec).not.toHaveProperty('externalTrafficPolicy');
    expect(JSON.stringify(svc.spec)).not.toContain('nodePort');
    const args = (docs.find((o) => o.kind === 'StatefulSet')!.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
    expect(args).toContain('--web.external-url=http://alertmanager.monitoring.svc.cluster.local:9093/');
  });

  it('the ConfigMap holds the same text as configs/prometheus', () => {
    const artifacts = renderMetrics(example);
    const cm = objects(artifactText(artifacts, 'manifests/prometheus.yaml')).find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(cm.data['prometheus.yml']).toBe(artifactText(artifacts, 'configs/prometheus/prometheus.yml'));
    for (const g of ['node', 'kubernetes', 'monitoring', 'time-sync', 'logging', 'power']) expect(cm.data[`rules-${g}.yaml`]).toBe(artifactText(artifacts, `configs/prometheus/rules/${g}.yaml`));
  });

  it('scrapes node-exporter on every node with node, role and os labels, and probes every node by ICMP', () => {
    const config = parse(artifactText(renderMetrics(example), 'configs/prometheus/prometheus.yml')) as { global: Record<string, string>; scrape_configs: Array<{ job_name: string; static_configs?: Array<{ targets: string[]; labels: Record<string, string> }> }> };
    expect(config.global.scrape_interval).toBe('30s');
    const job = (n: string) => config.scrape_configs.find((j) => j.job_name === n)!;
    expect(job('node-exporter').static_configs).toEqual([
      { targets: ['192.168.4.63:9100'], labels: { node: 'masternode', role: 'control-plane', os: 'debian-12' } },
      { targets: ['192.168.4.61:9100'], labels: { node: 'storagenodet3500', role: 'worker', os: 'debian-12' } },
      { targets: ['192.168.4.62:9100'], labels: { node: 'homelab', role: 'worker', os: 'rhel-10' } },
    ]);
    expect(job('blackbox-icmp').static_configs!.map((g) => g.labels.node)).toEqual(['masternode', 'storagenodet3500', 'homelab']);
    const http = job('blackbox-http').static_configs!.map((g) => [g.targets[0], g.labels.service, g.labels.node]);
    expect(http).toEqual([
      ['http://192.168.4.63:30090/-/ready', 'prometheus', 'masternode'],
      // Alertmanager and Loki have no NodePort by default (issue 17 §4): probed through their Services.
      ['http://alertmanager.monitoring.svc.cluster.local:9093/-/ready', 'alertmanager', 'masternode'],
      ['http://192.168.4.63:30300/api/health', 'grafana', 'masternode'],
      ['http://loki.monitoring.svc.cluster.local:3100/ready', 'loki', 'masternode'],
      ['http://192.168.4.61:30096/health', 'jellyfin', 'storagenodet3500'],
    ]);
    // Kubespray puts CoreDNS on the 3rd address of the service range.
    expect(job('blackbox-dns').static_configs![0]!.targets).toEqual(['10.233.0.3']);
    const names = config.scrape_configs.map((j) => j.job_name);
    for (const n of ['apiserver', 'kubelet', 'cadvisor', 'kube-state-metrics', 'coredns', 'kubernetes-service-endpoints', 'kubernetes-pods', 'vmstation-power-manager', 'prometheus', 'alertmanager']) expect(names).toContain(n);
  });

  it('every discovered node-scoped job sets a node label by relabeling', () => {
    const config = parse(artifactText(renderMetrics(example), 'configs/prometheus/prometheus.yml')) as { scrape_configs: Array<{ job_name: string; relabel_configs?: Array<{ target_label?: string }> }> };
    for (const n of ['kubelet', 'cadvisor', 'coredns', 'kubernetes-service-endpoints', 'kubernetes-pods']) {
      const job = config.scrape_configs.find((j) => j.job_name === n)!;
      expect(job.relabel_configs!.some((r) => r.target_label === 'node'), n).toBe(true);
    }
  });

  it('uses Kubernetes discovery only as documented (promtool here lacks it): roles, namespaces, meta labels', () => {
    // Meta labels per role, from Prometheus' kubernetes_sd_config documentation
    // (prometheus/prometheus@v3.11.2:docs/configuration/configuration.md; the endpointslice role
    // also attaches the service's and the pod's labels).
    const service = /^__meta_kubernetes_service_(name|cluster_ip|external_name|type|port_name|port_number|port_protocol|(label|labelpresent|annotation|annotationpresent)_\w+)$/;
    const pod = /^__meta_kubernetes_pod_(name|ip|ready|phase|node_name|host_ip|uid|controller_kind|controller_name|container_(init|name|id|image|port_name|port_number|port_protocol)|(label|labelpresent|annotation|annotationpresent)_\w+)$/;
    const metaByRole: Record<string, RegExp[]> = {
      node: [/^__meta_kubernetes_node_(name|provider_id|(label|labelpresent|annotation|annotationpresent|address)_\w+)$/],
      pod: [/^__meta_kubernetes_namespace$/, pod],
      endpointslice: [
        /^__meta_kubernetes_namespace$/,
        /^__meta_kubernetes_endpointslice_(name|(label|labelpresent|annotation|annotationpresent)_\w+|address_target_kind|address_target_name|address_type|endpoint_conditions_(ready|serving|terminating)|endpoint_topology_\w+|endpoint_topology_present_\w+|endpoint_hostname|endpoint_node_name|endpoint_zone|port|port_name|port_protocol)$/,
        service,
        pod,
      ],
      // No `endpoints`: the v1 Endpoints API is deprecated from Kubernetes 1.33 (same doc); a job using it fails here.
    };
    for (const cluster of [example, full]) {
      const config = parse(artifactText(renderMetrics(cluster), 'configs/prometheus/prometheus.yml')) as { scrape_configs: Array<{ job_name: string; kubernetes_sd_configs?: Array<Record<string, unknown>>; relabel_configs?: Array<{ source_labels?: string[] }> }> };
      const sd = config.scrape_configs.filter((j) => j.kubernetes_sd_configs);
      expect(sd.map((j) => j.job_name)).toEqual(['apiserver', 'kubelet', 'cadvisor', 'kube-state-metrics', 'coredns', 'kubernetes-service-endpoints', 'kubernetes-pods', 'vmstation-power-manager']);
      for (const job of sd) {
        expect(job.kubernetes_sd_configs).toHaveLength(1);
        const c = job.kubernetes_sd_configs![0]!;
        expect(Object.keys(c).every((k) => ['role', 'namespaces'].includes(k)), job.job_name).toBe(true);
        const role = c.role as string;
        expect(Object.keys(metaByRole)).toContain(role);
        if (c.namespaces) expect(c.namespaces).toEqual({ names: expect.arrayContaining([expect.stringMatching(/^[a-z0-9-]+$/)]) });
        const used = (job.relabel_configs ?? []).flatMap((r) => r.source_labels ?? []).filter((l) => l.startsWith('__meta_'));
        for (const l of used) expect(metaByRole[role]!.some((re) => re.test(l)), `${job.job_name}: ${l} is not a ${role} meta label`).toBe(true);
      }
    }
  });

  it('has at least 40 rules in the seven groups, covering the original 13 and the kube-prometheus favourites', () => {
    const groups = ruleGroups(example);
    expect(groups.map((g) => g.name)).toEqual(['node', 'kubernetes', 'monitoring', 'time-sync', 'logging', 'power', 'etcd']);
    const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.length).toBeGreaterThanOrEqual(40);
    const original = ['NodeExporterDown', 'HighNodeCPU', 'HighMemoryUsage', 'CoreDNSDown', 'BlackboxProbeFailed', 'NTPServiceDown', 'HighTimeOffset', 'NTPNotSynchronized', 'SyslogServerDown', 'HighSyslogMessageRate', 'PrometheusTargetsDown', 'PrometheusTSDBReloadsFailing', 'PrometheusConfigReloadFailed'];
    const kubePrometheus = ['NodeFilesystemSpaceFillingUp', 'NodeClockNotSynchronising', 'KubeNodeNotReady', 'KubeNodeUnreachable', 'KubePodCrashLooping', 'KubePersistentVolumeFillingUp', 'TargetDown', 'Watchdog'];
    const power = ['NodeWakeFailed', 'NodeCordonedWhileAwake', 'PowerManagerDown'];
    for (const a of [...original, ...kubePrometheus, ...power]) expect(alerts).toContain(a);
    const rule = (name: string) => groups.flatMap((g) => g.rules).find((r) => r.alert === name)!;
    expect(rule('HighNodeCPU')).toMatchObject({ for: '5m' });
    expect(rule('HighNodeCPU').expr).toContain('> 85');
    expect(rule('HighMemoryUsage').expr).toContain('> 90');
    expect(rule('HighTimeOffset')).toMatchObject({ expr: 'abs(node_timex_offset_seconds) > 0.5', for: '10m' });
    expect(rule('PrometheusTargetsDown').expr).toContain('> 30');
  });

  it('makes every node-down, target-down, unreachable and probe rule sleep-aware', () => {
    const rules = ruleGroups(example).flatMap((g) => g.rules);
    for (const name of ['NodeExporterDown', 'NodeUnreachable', 'KubeNodeNotReady', 'KubeNodeUnreachable', 'KubeletDown', 'TargetDown', 'PrometheusTargetsDown', 'BlackboxProbeFailed', 'LogShipperDown']) {
      const r = rules.find((x) => x.alert === name)!;
      expect(r.expr, name).toMatch(/unless on \(node\) \(max by \(node\) \(last_over_time\(vmstation_node_power_state\{state=~"suspending\|asleep\|waking"\}\[10m\]\)\) == 1\)/);
    }
  });

  it('routes by severity, inhibits a down node\'s other alerts, sends Watchdog to the heartbeat receiver', () => {
    const am = parse(artifactText(renderMetrics(full), 'configs/alertmanager/alertmanager.yml')) as {
      route: { routes: Array<{ receiver: string; matchers: string[] }> };
      inhibit_rules: Array<{ source_matchers: string[]; equal: string[] }>;
      receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }>; email_configs?: unknown[] }>;
    };
    expect(am.route.routes[0]).toMatchObject({ receiver: 'heartbeat', matchers: ['alertname="Watchdog"'] });
    expect(am.route.routes.slice(1).map((r) => [r.receiver, r.matchers[0]])).toEqual([
      ['severity-critical', 'severity="critical"'],
      ['severity-warning', 'severity="warning"'],
      ['severity-info', 'severity="info"'],
    ]);
    expect(am.inhibit_rules[0]!.source_matchers[0]).toContain('NodeExporterDown');
    expect(am.inhibit_rules[0]!.equal).toEqual(['node']);
    const critical = am.receivers.find((r) => r.name === 'severity-critical')!;
    expect(critical.webhook_configs!.map((w) => w.url)).toEqual([
      'https://hooks.example.test/alertmanager',
      'https://ntfy.example.test/homelab-alerts?tpl=1&t=%5B%7B%7B.status%7D%7D%5D%20%7B%7B.commonLabels.alertname%7D%7D&m=%7B%7B.commonAnnotations.summary%7D%7D',
    ]);
    expect(critical.email_configs).toHaveLength(1);
    expect(am.receivers.find((r) => r.name === 'severity-info')!.email_configs).toBeUndefined();
  });

  it('puts no secret in any rendered text: only file paths and the Secret names the deploy creates', () => {
    const artifacts = renderMetrics(full);
    const text = artifacts.map((a) => a.content).join('\n');
    expect(text).not.toMatch(/^\s*(password|auth_password|pass|credentials|bearer_token|token):\s*(?!'@file:)\S/m);
    expect(text).toContain('auth_password_file: /etc/alertmanager/secrets/smtp-password');
    expect(text).toContain('credentials_file: /etc/alertmanager/secrets/ntfy-token');
    expect(text).toContain("pass: '@file:/etc/ipmi-exporter/credentials/bmc-worker1-password'");
    expect(allObjects(artifacts).filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(text).toContain('secretName: alertmanager-receiver-credentials');
    expect(text).toContain('secretName: ipmi-exporter-credentials');
    expect(alertmanagerSecretKeys(full)).toEqual(['ntfy-token', 'smtp-password', 'webhook-token']);
    expect(ipmiSecretKeys(full)).toEqual(['bmc-worker1-password', 'bmc-worker1-user', 'bmc-worker2-password', 'bmc-worker2-user']);
  });
});

// ---- golden files ------------------------------------------------------------------------------

const GOLDEN = path.join(REPO, 'test/golden/metrics');
const update = process.env.UPDATE_GOLDEN === '1';

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

describe.each([
  ['example', example],
  ['full', full],
])('golden files (%s)', (name, cluster) => {
  it('match the render (UPDATE_GOLDEN=1 to refresh)', () => {
    const dir = path.join(GOLDEN, name);
    const artifacts = renderMetrics(cluster);
    if (update) {
      rmSync(dir, { recursive: true, force: true });
      for (const a of artifacts) {
        mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
        writeFileSync(path.join(dir, a.path), a.content);
      }
    }
    expect(listFiles(dir).sort()).toEqual(artifacts.map((a) => a.path).sort());
    for (const a of artifacts) expect(a.content, a.path).toBe(readFileSync(path.join(dir, a.path), 'utf8'));
  });
});
