// prometheus.yml: global settings from the cluster file, one scrape job per source, the rule files
// and the Alertmanager. Node-scoped series all carry a `node` label (static labels for
// node-exporter and probes, relabeling for discovered targets) so the alert rules can be sleep-aware.
import type { Cluster } from '../../config/model.js';
import { durationSeconds } from '../../config/duration.js';
import { POWER_MANAGER } from '../k8s/common.js';
import { COMPONENTS, serviceUrl } from '../observability/names.js';
import { TLS_MODULE } from './exporters.js';
import { bmcNodes, clusterDnsAddress, JOBS, monitoringNode, NAMES, PORTS, roleLabel, serviceHost } from './names.js';

type Relabel = Record<string, unknown>;
type ScrapeConfig = Record<string, unknown> & { job_name: string };

/**
 * Service endpoints are discovered through EndpointSlices: the v1 Endpoints API is deprecated
 * from Kubernetes 1.33 (prometheus/prometheus@v3.11.2:docs/configuration/configuration.md,
 * kubernetes_sd_config, role endpoints).
 */
export const ENDPOINTS_ROLE = 'endpointslice';
/** Prefix of the endpointslice role's own meta labels. */
const SLICE = '__meta_kubernetes_endpointslice';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const inClusterAuth = {
  authorization: { credentials_file: `${SA_DIR}/token` },
};

/** `30s` but never above 10s: Prometheus needs scrape_timeout <= scrape_interval. */
function scrapeTimeout(interval: string): string {
  return durationSeconds(interval) < 10 ? interval : '10s';
}

function keep(labels: string[], regex: string): Relabel {
  return { source_labels: labels, regex, action: 'keep' };
}
function copy(from: string, to: string): Relabel {
  return { source_labels: [from], target_label: to };
}

/** Sends a static target list through an exporter (blackbox, IPMI): target becomes a parameter. */
function viaExporter(exporterAddress: string): Relabel[] {
  return [copy('__address__', '__param_target'), copy('__param_target', 'instance'), { target_label: '__address__', replacement: exporterAddress }];
}

interface ProbeTarget {
  target: string;
  labels: Record<string, string>;
}

function staticGroups(targets: ProbeTarget[]): Array<Record<string, unknown>> {
  return targets.map((t) => ({ targets: [t.target], labels: t.labels }));
}

/**
 * HTTP probes: the stack's own UIs through the monitoring node (always on), and every app with a
 * NodePort on its own node. Alertmanager and Loki have a NodePort only when the file asks for one
 * (their write paths are cluster-only by default); without it they are probed through their Service.
 */
export function httpProbeTargets(cluster: Cluster): ProbeTarget[] {
  const m = cluster.spec.monitoring;
  const mon = monitoringNode(cluster);
  const base = `http://${mon.address}`;
  const via = (nodePort: number | undefined, component: { name: string; port: number }) => (nodePort === undefined ? serviceUrl(cluster, component) : `${base}:${nodePort}`);
  const own: ProbeTarget[] = [
    { target: `${base}:${m.prometheus.nodePort}/-/ready`, labels: { service: 'prometheus', node: mon.name } },
    { target: `${via(m.alertmanager.nodePort, COMPONENTS.alertmanager)}/-/ready`, labels: { service: 'alertmanager', node: mon.name } },
    { target: `${base}:${m.grafana.nodePort}/api/health`, labels: { service: 'grafana', node: mon.name } },
    { target: `${via(m.loki.nodePort, COMPONENTS.loki)}/ready`, labels: { service: 'loki', node: mon.name } },
  ];
  const addresses = new Map(cluster.spec.nodes.map((n) => [n.name, n.address]));
  const apps = cluster.spec.apps
    .filter((a) => a.nodePort !== undefined)
    .map((a) => ({
      // An app pinned to a node is probed on that node's NodePort, where the wake gateway forwards
      // (a deployed app's Service keeps traffic on its node: externalTrafficPolicy Local).
      target: `http://${(a.node && addresses.get(a.node)) ?? mon.address}:${a.nodePort}${a.healthPath.startsWith('/') ? a.healthPath : `/${a.healthPath}`}`,
      // An app pinned to a node inherits that node's sleep: no probe alert while it sleeps.
      labels: { service: a.name, namespace: a.namespace, ...(a.node ? { node: a.node } : {}) },
    }));
  return [...own, ...apps];
}

function nodeExporterJob(cluster: Cluster): ScrapeConfig {
  return {
    job_name: JOBS.nodeExporter,
    static_configs: cluster.spec.nodes.map((n) => ({
      targets: [`${n.address}:${PORTS.nodeExporter}`],
      labels: { node: n.name, role: roleLabel(n), os: n.os },
    })),
  };
}

function serviceJob(job: string, host: string, port: number, node: string): ScrapeConfig {
  return { job_name: job, static_configs: [{ targets: [`${host}:${port}`], labels: { node } }] };
}

function kubernetesJobs(cluster: Cluster): ScrapeConfig[] {
  const ns = cluster.spec.monitoring.namespace;
  const tls = { ca_file: `${SA_DIR}/ca.crt` };
  // Kubelet serving certificates are self-signed on every supported method (Kubespray, kubeadm and
  // RKE2 defaults), so the kubelet jobs cannot verify them; the token still authenticates us.
  const kubeletTls = { insecure_skip_verify: true };
  const nodeLabel = copy('__meta_kubernetes_node_name', 'node');
  return [
    {
      job_name: JOBS.apiserver,
      scheme: 'https',
      tls_config: tls,
      ...inClusterAuth,
      kubernetes_sd_configs: [{ role: ENDPOINTS_ROLE, namespaces: { names: ['default'] } }],
      relabel_configs: [keep(['__meta_kubernetes_namespace', '__meta_kubernetes_service_name', `${SLICE}_port_name`], 'default;kubernetes;https')],
    },
    {
      job_name: JOBS.kubelet,
      scheme: 'https',
      tls_config: kubeletTls,
      ...inClusterAuth,
      kubernetes_sd_configs: [{ role: 'node' }],
      relabel_configs: [nodeLabel],
    },
    {
      job_name: JOBS.cadvisor,
      scheme: 'https',
      metrics_path: '/metrics/cadvisor',
      tls_config: kubeletTls,
      ...inClusterAuth,
      kubernetes_sd_configs: [{ role: 'node' }],
      relabel_configs: [nodeLabel],
    },
    {
      job_name: JOBS.kubeStateMetrics,
      // Its series carry the namespace, pod and node they describe: keep those, not the target's.
      honor_labels: true,
      kubernetes_sd_configs: [{ role: ENDPOINTS_ROLE, namespaces: { names: [ns] } }],
      // Both ports: the object metrics, and its own telemetry (kube_state_metrics_list_total and the
      // other self metrics live only on the telemetry port:
      // kubernetes/kube-state-metrics@v2.18.0:pkg/app/server.go, ksmMetricsRegistry).
      relabel_configs: [keep(['__meta_kubernetes_service_name', `${SLICE}_port_name`], `${NAMES.kubeStateMetrics};(http-metrics|telemetry)`)],
    },
    {
      job_name: JOBS.coredns,
      kubernetes_sd_configs: [{ role: ENDPOINTS_ROLE, namespaces: { names: ['kube-system'] } }],
      relabel_configs: [
        // Kubespray names the Service coredns and kubeadm kube-dns, both with a port `metrics`
        // (kubernetes-sigs/kubespray@v2.31.0:roles/kubernetes-apps/ansible/templates/coredns-svc.yml.j2).
        // RKE2's rke2-coredns-rke2-coredns lists only the DNS ports (udp-53, tcp-53) and announces
        // the metrics port in its prometheus.io/port annotation (rancher/rke2-charts:
        // packages/rke2-coredns values): take one TCP port of it and point it at the annotated port.
        keep(['__meta_kubernetes_service_name', `${SLICE}_port_name`], '(coredns|kube-dns);metrics|rke2-coredns-rke2-coredns;tcp-53'),
        {
          source_labels: ['__address__', '__meta_kubernetes_service_annotation_prometheus_io_port'],
          regex: '(.+?)(?::\\d+)?;(\\d+)',
          replacement: '$1:$2',
          target_label: '__address__',
        },
        copy(`${SLICE}_endpoint_node_name`, 'node'),
        copy('__meta_kubernetes_pod_name', 'pod'),
      ],
    },
    {
      job_name: JOBS.serviceEndpoints,
      kubernetes_sd_configs: [{ role: ENDPOINTS_ROLE }],
      relabel_configs: [
        keep(['__meta_kubernetes_service_annotation_prometheus_io_scrape'], 'true'),
        // CoreDNS and the power manager have their own jobs; do not scrape them twice.
        { source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_service_name'], regex: 'kube-system;(coredns|kube-dns|rke2-coredns-rke2-coredns)', action: 'drop' },
        { source_labels: ['__meta_kubernetes_service_name'], regex: POWER_MANAGER.name, action: 'drop' },
        { source_labels: ['__meta_kubernetes_service_annotation_prometheus_io_scheme'], regex: '(https?)', target_label: '__scheme__' },
        { source_labels: ['__meta_kubernetes_service_annotation_prometheus_io_path'], regex: '(.+)', target_label: '__metrics_path__' },
        {
          source_labels: ['__address__', '__meta_kubernetes_service_annotation_prometheus_io_port'],
          regex: '(.+?)(?::\\d+)?;(\\d+)',
          replacement: '$1:$2',
          target_label: '__address__',
        },
        copy('__meta_kubernetes_namespace', 'namespace'),
        copy('__meta_kubernetes_service_name', 'service'),
        copy('__meta_kubernetes_pod_name', 'pod'),
        copy(`${SLICE}_endpoint_node_name`, 'node'),
        copy('__meta_kubernetes_service_label_app_kubernetes_io_name', 'app'),
      ],
    },
    {
      job_name: JOBS.pods,
      kubernetes_sd_configs: [{ role: 'pod' }],
      relabel_configs: [
        keep(['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], 'true'),
        { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Pending|Succeeded|Failed|Unknown', action: 'drop' },
        { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scheme'], regex: '(https?)', target_label: '__scheme__' },
        { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], regex: '(.+)', target_label: '__metrics_path__' },
        {
          source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
          regex: '(.+?)(?::\\d+)?;(\\d+)',
          replacement: '$1:$2',
          target_label: '__address__',
        },
        copy('__meta_kubernetes_namespace', 'namespace'),
        copy('__meta_kubernetes_pod_name', 'pod'),
        copy('__meta_kubernetes_pod_node_name', 'node'),
        copy('__meta_kubernetes_pod_label_app_kubernetes_io_name', 'app'),
      ],
    },
  ];
}

function powerManagerJob(cluster: Cluster): ScrapeConfig {
  return {
    job_name: JOBS.powerManager,
    metrics_path: POWER_MANAGER.metricsPath,
    kubernetes_sd_configs: [{ role: ENDPOINTS_ROLE, namespaces: { names: [cluster.spec.power.controller.namespace] } }],
    relabel_configs: [
      keep(['__meta_kubernetes_service_name', '__address__'], `${POWER_MANAGER.name};.+:${POWER_MANAGER.port}`),
      copy('__meta_kubernetes_namespace', 'namespace'),
      copy('__meta_kubernetes_pod_name', 'pod'),
      // The series are about nodes (label `node`); the manager's own pod placement goes elsewhere.
      copy(`${SLICE}_endpoint_node_name`, 'manager_node'),
    ],
  };
}

function probeJobs(cluster: Cluster): ScrapeConfig[] {
  const blackbox = `${serviceHost(cluster, NAMES.blackbox)}:${PORTS.blackbox}`;
  const probe = (job: string, module: string, targets: ProbeTarget[]): ScrapeConfig => ({
    job_name: job,
    metrics_path: '/probe',
    params: { module: [module] },
    static_configs: staticGroups(targets),
    relabel_configs: viaExporter(blackbox),
  });
  const { syslog } = cluster.spec.infrastructure;
  const tcp: ProbeTarget[] = cluster.spec.nodes
    .filter((n) => n.roles.includes('control-plane'))
    // Over TLS (module chosen per target), so its certificate expiry is measured too.
    .map((n) => ({ target: `${n.address}:6443`, labels: { service: 'kube-apiserver', node: n.name, __param_module: TLS_MODULE } }));
  if (syslog.enabled) {
    const server = cluster.spec.nodes.find((n) => n.name === syslog.server);
    if (server) tcp.push({ target: `${server.address}:${syslog.port}`, labels: { service: 'syslog', node: server.name } });
  }
  return [
    probe(JOBS.probeHttp, 'http_2xx', httpProbeTargets(cluster)),
    probe(
      JOBS.probeIcmp,
      'icmp',
      cluster.spec.nodes.map((n) => ({ target: n.address, labels: { node: n.name, role: roleLabel(n), os: n.os } })),
    ),
    probe(JOBS.probeDns, 'dns', [{ target: clusterDnsAddress(cluster), labels: { service: 'cluster-dns' } }]),
    probe(JOBS.probeTcp, 'tcp_connect', tcp),
  ];
}

function ipmiJob(cluster: Cluster): ScrapeConfig | undefined {
  const nodes = bmcNodes(cluster);
  if (!cluster.spec.monitoring.exporters.ipmi || nodes.length === 0) return undefined;
  return {
    job_name: JOBS.ipmi,
    metrics_path: '/ipmi',
    // BMCs are slow: one reading a minute is plenty for temperatures, fans and power.
    scrape_interval: durationSeconds(cluster.spec.monitoring.prometheus.scrapeInterval) > 60 ? cluster.spec.monitoring.prometheus.scrapeInterval : '1m',
    scrape_timeout: '30s',
    static_configs: nodes.map((n) => ({
      targets: [n.power.bmc.port === 623 ? n.power.bmc.address : `${n.power.bmc.address}:${n.power.bmc.port}`],
      // One exporter module per BMC (its own credentials), chosen through the `module` parameter.
      labels: { node: n.name, __param_module: n.name },
    })),
    relabel_configs: viaExporter(`${serviceHost(cluster, NAMES.ipmiExporter)}:${PORTS.ipmiExporter}`),
  };
}

export function prometheusConfig(cluster: Cluster): Record<string, unknown> {
  const p = cluster.spec.monitoring.prometheus;
  const mon = monitoringNode(cluster).name;
  const ex = cluster.spec.monitoring.exporters;
  const jobs: ScrapeConfig[] = [
    serviceJob(JOBS.prometheus, serviceHost(cluster, NAMES.prometheus), PORTS.prometheus, mon),
    serviceJob(JOBS.alertmanager, serviceHost(cluster, NAMES.alertmanager), PORTS.alertmanager, mon),
    ...(ex.node ? [nodeExporterJob(cluster)] : []),
    ...kubernetesJobs(cluster).filter((j) => ex.kubeStateMetrics || j.job_name !== JOBS.kubeStateMetrics),
    ...(cluster.spec.power.enabled ? [powerManagerJob(cluster)] : []),
    ...(ex.blackbox ? [serviceJob(JOBS.blackboxExporter, serviceHost(cluster, NAMES.blackbox), PORTS.blackbox, mon), ...probeJobs(cluster)] : []),
  ];
  const ipmi = ipmiJob(cluster);
  if (ipmi) jobs.push(ipmi);
  return {
    global: {
      scrape_interval: p.scrapeInterval,
      scrape_timeout: scrapeTimeout(p.scrapeInterval),
      evaluation_interval: p.scrapeInterval,
      external_labels: { cluster: cluster.metadata.name },
    },
    // Relative to this file: /etc/prometheus/rules in the pod, configs/prometheus/rules in the render tree.
    rule_files: ['rules/*.yaml'],
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [`${serviceHost(cluster, NAMES.alertmanager)}:${PORTS.alertmanager}`] }] }],
    },
    scrape_configs: jobs,
  };
}
