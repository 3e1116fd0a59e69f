// What the rendered prometheus.yml scrapes: for every job, the targets discovery would find among
// the rendered objects (and the few Kubernetes itself runs: the API server, CoreDNS), pushed
// through the job's own relabeling, each tied to the program that answers (its catalog id).
import type { Cluster } from '../../../config/model.js';
import { relabel, targetLabels, UNKNOWN, type LabelSet, type RelabelConfig } from './relabel.js';

export interface TargetGroup {
  job: string;
  /** Catalog id of the program behind the target. */
  exporter: string;
  /** Target labels after relabeling (values may be UNKNOWN). */
  labels: LabelSet;
  honorLabels: boolean;
  /** A blackbox probe that speaks TLS. */
  tls: boolean;
  /** kube-state-metrics' telemetry port. */
  telemetry: boolean;
}

export interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  honor_labels?: boolean;
  params?: Record<string, string[]>;
  static_configs?: Array<{ targets: string[]; labels?: Record<string, string> }>;
  kubernetes_sd_configs?: Array<{ role: string; namespaces?: { names: string[] } }>;
  relabel_configs?: RelabelConfig[];
}

/** A Kubernetes object as rendered (only the fields discovery reads). */
export interface RenderedObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface PodTemplate {
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  hostNetwork: boolean;
  ports: Array<{ name?: string; containerPort: number; hostPort?: number }>;
}

const APP = 'app.kubernetes.io/name';
const sanitize = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, '_');

function podTemplates(objects: readonly RenderedObject[]): PodTemplate[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind))
    .map((o) => {
      const t = (o.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { hostNetwork?: boolean; containers?: Array<{ ports?: PodTemplate['ports'] }> } };
      return {
        namespace: o.metadata.namespace ?? 'default',
        labels: t.metadata?.labels ?? {},
        annotations: t.metadata?.annotations ?? {},
        hostNetwork: t.spec?.hostNetwork === true,
        ports: (t.spec?.containers ?? []).flatMap((c) => c.ports ?? []),
      };
    });
}

interface ServicePort {
  name: string;
  protocol?: string;
  targetPort?: string | number;
  port: number;
}
interface ServiceLike {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ports: ServicePort[];
  selector: Record<string, string>;
  exporter: string;
}

/** Services Kubernetes itself runs, which prometheus.yml discovers too. */
function platformServices(cluster: Cluster): ServiceLike[] {
  const scrape = { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9153' };
  // Kubespray: kubernetes-sigs/kubespray@v2.31.0:roles/kubernetes-apps/ansible/templates/coredns-svc.yml.j2;
  // kubeadm: kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go (Service kube-dns);
  // RKE2: rancher/rke2-charts packages/rke2-coredns (DNS ports only, metrics port in the annotation).
  const coredns: Record<Cluster['spec']['kubernetes']['method'], { name: string; ports: ServicePort[] }> = {
    kubespray: { name: 'coredns', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53 }, { name: 'metrics', protocol: 'TCP', port: 9153 }] },
    kubeadm: { name: 'kube-dns', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53 }, { name: 'metrics', protocol: 'TCP', port: 9153 }] },
    rke2: { name: 'rke2-coredns-rke2-coredns', ports: [{ name: 'udp-53', protocol: 'UDP', port: 53 }, { name: 'tcp-53', protocol: 'TCP', port: 53 }] },
  };
  const dns = coredns[cluster.spec.kubernetes.method];
  return [
    { namespace: 'default', name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' }, annotations: {}, ports: [{ name: 'https', protocol: 'TCP', port: 6443 }], selector: {}, exporter: 'kube-apiserver' },
    { namespace: 'kube-system', name: dns.name, labels: { 'k8s-app': 'kube-dns' }, annotations: scrape, ports: dns.ports, selector: {}, exporter: 'coredns' },
  ];
}

function renderedServices(objects: readonly RenderedObject[]): ServiceLike[] {
  return objects
    .filter((o) => o.kind === 'Service')
    .map((o) => {
      const spec = (o.spec ?? {}) as { ports?: ServicePort[]; selector?: Record<string, string> };
      return {
        namespace: o.metadata.namespace ?? 'default',
        name: o.metadata.name,
        labels: o.metadata.labels ?? {},
        annotations: o.metadata.annotations ?? {},
        ports: spec.ports ?? [],
        selector: spec.selector ?? {},
        exporter: o.metadata.labels?.[APP] ?? o.metadata.name,
      };
    });
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function prefixed(prefix: string, record: Record<string, string>): Array<[string, string]> {
  return Object.entries(record).flatMap(([k, v]) => [
    [`${prefix}_label_${sanitize(k)}`, v] as [string, string],
  ]);
}

function endpointCandidates(services: readonly ServiceLike[], pods: readonly PodTemplate[]): Array<{ meta: LabelSet; exporter: string; port: string }> {
  const out: Array<{ meta: LabelSet; exporter: string; port: string }> = [];
  for (const s of services) {
    const backing = pods.find((p) => p.namespace === s.namespace && selects(s.selector, p.labels));
    for (const port of s.ports) {
      const container = backing?.ports.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
      const meta: LabelSet = new Map([
        ['__address__', `pod-ip:${container?.containerPort ?? port.port}`],
        ['__meta_kubernetes_namespace', s.namespace],
        ['__meta_kubernetes_service_name', s.name],
        ...prefixed('__meta_kubernetes_service', s.labels),
        ...Object.entries(s.annotations).map(([k, v]) => [`__meta_kubernetes_service_annotation_${sanitize(k)}`, v] as [string, string]),
        ['__meta_kubernetes_endpointslice_port_name', port.name],
        ['__meta_kubernetes_endpointslice_port_protocol', port.protocol ?? 'TCP'],
        ['__meta_kubernetes_endpointslice_endpoint_node_name', UNKNOWN],
        ['__meta_kubernetes_pod_name', UNKNOWN],
      ]);
      out.push({ meta, exporter: s.exporter, port: port.name });
    }
  }
  return out;
}

function podCandidates(pods: readonly PodTemplate[]): Array<{ meta: LabelSet; exporter: string; port: string }> {
  return pods.flatMap((p) =>
    p.ports.map((port) => ({
      meta: new Map([
        ['__address__', `pod-ip:${port.containerPort}`],
        ['__meta_kubernetes_namespace', p.namespace],
        ['__meta_kubernetes_pod_name', UNKNOWN],
        ['__meta_kubernetes_pod_node_name', UNKNOWN],
        ['__meta_kubernetes_pod_phase', 'Running'],
        ['__meta_kubernetes_pod_container_port_name', port.name ?? ''],
        ...prefixed('__meta_kubernetes_pod', p.labels),
        ...Object.entries(p.annotations).map(([k, v]) => [`__meta_kubernetes_pod_annotation_${sanitize(k)}`, v] as [string, string]),
      ]),
      exporter: p.labels[APP] ?? 'unknown',
      port: port.name ?? '',
    })),
  );
}

/** The program behind a static target: a probe or IPMI path, a Service DNS name, or a host port. */
function staticExporter(job: ScrapeJob, target: string, services: readonly ServiceLike[], pods: readonly PodTemplate[]): string {
  if (job.metrics_path === '/probe') return 'blackbox-probe';
  if (job.metrics_path === '/ipmi') return 'ipmi-exporter';
  const [host = '', port = ''] = target.split(':');
  const svc = services.find((s) => host.startsWith(`${s.name}.${s.namespace}.svc`));
  if (svc) return svc.exporter;
  const daemon = pods.find((p) => p.hostNetwork && p.ports.some((x) => String(x.hostPort ?? x.containerPort) === port));
  return daemon?.labels[APP] ?? 'unknown';
}

interface BlackboxModule {
  prober?: string;
  tcp?: { tls?: boolean };
}

export function targetGroups(cluster: Cluster, jobs: readonly ScrapeJob[], objects: readonly RenderedObject[], blackboxModules: Record<string, BlackboxModule>): TargetGroup[] {
  const pods = podTemplates(objects);
  const services = [...renderedServices(objects), ...platformServices(cluster)];
  const groups: TargetGroup[] = [];
  for (const job of jobs) {
    const base = (extra: Array<[string, string]>): LabelSet =>
      new Map<string, string>([['job', job.job_name], ['__metrics_path__', job.metrics_path ?? '/metrics'], ...Object.entries(job.params ?? {}).map(([k, v]) => [`__param_${k}`, v[0] ?? ''] as [string, string]), ...extra]);
    const push = (input: LabelSet, exporter: string, port = '') => {
      const out = relabel(input, job.relabel_configs ?? []);
      if (!out) return;
      const module = blackboxModules[out.get('__param_module') ?? ''];
      const tls = exporter === 'blackbox-probe' && ((module?.prober === 'tcp' && module.tcp?.tls === true) || (module?.prober === 'http' && (out.get('__param_target') ?? '').startsWith('https://')));
      groups.push({ job: job.job_name, exporter, labels: targetLabels(out), honorLabels: job.honor_labels === true, tls, telemetry: port === 'telemetry' });
    };
    for (const sc of job.static_configs ?? []) {
      for (const t of sc.targets) push(base([['__address__', t], ...Object.entries(sc.labels ?? {})]), staticExporter(job, t, services, pods));
    }
    for (const sd of job.kubernetes_sd_configs ?? []) {
      const inNamespace = (ns: string) => !sd.namespaces || sd.namespaces.names.includes(ns);
      if (sd.role === 'node') {
        const exporter = job.metrics_path === '/metrics/cadvisor' ? 'cadvisor' : 'kubelet';
        for (const n of cluster.spec.nodes) push(base([['__address__', `${n.address}:10250`], ['__meta_kubernetes_node_name', n.name]]), exporter);
      } else if (sd.role === 'endpointslice') {
        for (const c of endpointCandidates(services, pods)) if (inNamespace(c.meta.get('__meta_kubernetes_namespace') ?? '')) push(new Map([...base([]), ...c.meta]), c.exporter, c.port);
      } else if (sd.role === 'pod') {
        for (const c of podCandidates(pods)) if (inNamespace(c.meta.get('__meta_kubernetes_namespace') ?? '')) push(new Map([...base([]), ...c.meta]), c.exporter, c.port);
      } else {
        throw new Error(`kubernetes_sd_configs role ${sd.role} is not modelled by the rule check`);
      }
    }
  }
  return groups;
}
