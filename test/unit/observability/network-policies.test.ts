// NetworkPolicies, evaluated the way Calico evaluates them (a small evaluator of the
// networking.k8s.io/v1 semantics we use: podSelector matchLabels, ipBlock, ports), over the
// pods of both monitoring renderers: default-deny ingress, exactly the needed paths, and DNS
// for every pod whose egress is restricted.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ipToInt } from '../../../src/config/ipv4.js';
import type { Cluster } from '../../../src/config/model.js';
import { metrics } from '../../../src/render/metrics/index.js';
import { renderObservability } from '../../../src/render/observability/index.js';
import { VARIANTS } from './fixture.js';

type Labels = Record<string, string>;
type Source = { pod: Labels } | { ip: string };

const matches = (selector: { matchLabels?: Labels } | undefined, labels: Labels) => Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(base) & mask) >>> 0);
}

function peerMatches(peer: any, src: Source): boolean {
  if (peer.ipBlock) return 'ip' in src && inCidr(src.ip, peer.ipBlock.cidr);
  if (peer.namespaceSelector) return false; // none of ours use it
  return 'pod' in src && matches(peer.podSelector, src.pod);
}

const portMatches = (ports: any[] | undefined, protocol: string, port: number) => !ports || ports.some((p) => (p.protocol ?? 'TCP') === protocol && p.port === port);

function setup(cluster: Cluster) {
  const ns = cluster.spec.monitoring.namespace;
  const docs = [...renderObservability(cluster), ...metrics.render(cluster)]
    .filter((a) => a.path.startsWith('manifests/'))
    .flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJS() as any))
    .filter(Boolean);
  const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
  const pods = docs
    .filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(d.kind) && d.metadata.namespace === ns && !d.spec.template.spec.hostNetwork)
    .map((d) => ({ name: d.metadata.name as string, labels: d.spec.template.metadata.labels as Labels, containers: d.spec.template.spec.containers as any[] }));
  const labelsOf = (name: string) => pods.find((p) => p.name === name)!.labels;

  /** May `src` open a connection to `port` of pod `dst`? */
  function ingressAllowed(dst: Labels, port: number, src: Source, protocol = 'TCP'): boolean {
    const selecting = policies.filter((p) => p.spec.policyTypes.includes('Ingress') && matches(p.spec.podSelector, dst));
    if (selecting.length === 0) return true;
    return selecting.some((p) => (p.spec.ingress ?? []).some((r: any) => portMatches(r.ports, protocol, port) && (!r.from || r.from.some((peer: any) => peerMatches(peer, src)))));
  }
  /** May pod `src` send to `dst` (`any` destination when dst is undefined) on the port? */
  function egressAllowed(src: Labels, port: number, protocol: string, dst?: Source): boolean {
    const selecting = policies.filter((p) => p.spec.policyTypes.includes('Egress') && matches(p.spec.podSelector, src));
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      (p.spec.egress ?? []).some((r: any) => portMatches(r.ports, protocol, port) && (!r.to || (dst !== undefined && r.to.some((peer: any) => peerMatches(peer, dst))))),
    );
  }
  return { docs, policies, pods, labelsOf, ingressAllowed, egressAllowed };
}

describe.each(Object.entries(VARIANTS))('NetworkPolicies (%s)', (_name, make) => {
  const cluster = make();
  const { docs, policies, pods, labelsOf, ingressAllowed, egressAllowed } = setup(cluster);
  const lanHost = '192.168.4.20';
  const outsider = '203.0.113.9';
  const shipper = cluster.spec.monitoring.logShipper;

  it('denies all ingress by default', () => {
    expect(policies[0]).toMatchObject({ metadata: { name: 'default-deny-ingress' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } });
    expect(pods.length).toBeGreaterThanOrEqual(6);
    for (const p of pods) expect(ingressAllowed(p.labels, 9999, { ip: lanHost }), p.name).toBe(false);
  });

  it('allows DNS (UDP and TCP 53, any resolver address) for every pod whose egress is restricted', () => {
    const restricted = pods.filter((p) => policies.some((pol) => pol.spec.policyTypes.includes('Egress') && matches(pol.spec.podSelector, p.labels)));
    expect(restricted.map((p) => p.name).sort()).toEqual(['grafana', 'loki']);
    for (const p of restricted) {
      expect(egressAllowed(p.labels, 53, 'UDP'), `${p.name} UDP 53`).toBe(true);
      expect(egressAllowed(p.labels, 53, 'TCP'), `${p.name} TCP 53`).toBe(true);
      // ... and nothing else to arbitrary addresses.
      expect(egressAllowed(p.labels, 443, 'TCP', { ip: outsider }), `${p.name} 443`).toBe(false);
    }
  });

  const m = cluster.spec.monitoring;
  const exposed = (['alertmanager', 'loki'] as const).filter((c) => m[c].nodePort !== undefined);

  it('admits every NodePort from network.subnet and nothing from outside it', () => {
    const nodePortServices = docs.filter((d) => d.kind === 'Service' && d.spec.type === 'NodePort' && d.metadata.namespace === cluster.spec.monitoring.namespace);
    // Grafana and Prometheus always; Alertmanager and Loki only when the file sets their nodePort.
    expect(nodePortServices.map((s) => s.metadata.name).sort()).toEqual(['grafana', 'prometheus', ...exposed].sort());
    for (const svc of nodePortServices) {
      const pod = pods.find((p) => matches({ matchLabels: svc.spec.selector }, p.labels))!;
      for (const port of svc.spec.ports.filter((p: any) => p.nodePort)) {
        const containerPort = pod.containers.flatMap((c) => c.ports ?? []).find((cp: any) => cp.name === port.targetPort || cp.containerPort === port.targetPort).containerPort;
        expect(ingressAllowed(pod.labels, containerPort, { ip: lanHost }), `${svc.metadata.name}:${containerPort} from LAN`).toBe(true);
        expect(ingressAllowed(pod.labels, containerPort, { ip: outsider }), `${svc.metadata.name}:${containerPort} from outside`).toBe(false);
      }
    }
  });

  it('lets Prometheus scrape every exporter and component, and reach Alertmanager', () => {
    const prometheus = { pod: labelsOf('prometheus') };
    const scraped: Array<[string, number]> = [
      // Prometheus scrapes itself through its Service (job `prometheus` in prometheus.yml).
      ['prometheus', 9090],
      ['alertmanager', 9093],
      ['grafana', 3000],
      ['loki', 3100],
      ['kube-state-metrics', 8080],
      ['kube-state-metrics', 8081],
      ['blackbox-exporter', 9115],
      [shipper, shipper === 'alloy' ? 12345 : 9080],
    ];
    for (const [name, port] of scraped) expect(ingressAllowed(labelsOf(name), port, prometheus), `${name}:${port}`).toBe(true);
    // Exporters take nothing from the LAN.
    expect(ingressAllowed(labelsOf('kube-state-metrics'), 8080, { ip: lanHost })).toBe(false);
  });

  it('lets the shipper push to Loki and Grafana read Prometheus, Loki and Alertmanager', () => {
    const grafana = labelsOf('grafana');
    expect(ingressAllowed(labelsOf('loki'), 3100, { pod: labelsOf(shipper) })).toBe(true);
    for (const [name, port] of [['prometheus', 9090], ['loki', 3100], ['alertmanager', 9093]] as const) {
      expect(ingressAllowed(labelsOf(name), port, { pod: grafana }), `${name} ingress`).toBe(true);
      expect(egressAllowed(grafana, port, 'TCP', { pod: labelsOf(name) }), `grafana egress to ${name}`).toBe(true);
    }
    // The shipper cannot read Prometheus; Grafana cannot reach the exporters.
    expect(ingressAllowed(labelsOf('prometheus'), 9090, { pod: labelsOf(shipper) })).toBe(false);
    expect(egressAllowed(grafana, 8080, 'TCP', { pod: labelsOf('kube-state-metrics') })).toBe(false);
  });

  it('keeps Alertmanager (silences) and Loki (push, delete) to the cluster unless the file exposes them (issue 17 §4)', () => {
    // Alertmanager's silences API and Loki's push/delete API are served on these ports
    // (see the upstream-facts tests: prometheus/alertmanager api/v2/openapi.yaml, grafana/loki's HTTP API reference).
    for (const [name, port] of [['alertmanager', 9093], ['loki', 3100]] as const) {
      const isExposed = (exposed as readonly string[]).includes(name);
      expect(ingressAllowed(labelsOf(name), port, { ip: lanHost }), `${name}:${port} from the LAN`).toBe(isExposed);
      expect(ingressAllowed(labelsOf(name), port, { ip: outsider }), `${name}:${port} from outside`).toBe(false);
      // Pods that are not part of the stack (an app's pod) are refused too.
      expect(ingressAllowed(labelsOf(name), port, { pod: { 'app.kubernetes.io/name': 'jellyfin' } }), `${name}:${port} from another pod`).toBe(false);
    }
    expect(exposed).toEqual(_name === 'Alertmanager and Loki exposed' ? ['alertmanager', 'loki'] : []);
  });

  it('accepts the syslog stream on 1514 from the syslog server only, not from the rest of the LAN (issue 17 §4)', () => {
    const server = cluster.spec.nodes.find((n) => n.name === cluster.spec.infrastructure.syslog.server)!;
    const other = cluster.spec.nodes.find((n) => n.name !== server.name)!;
    expect(ingressAllowed(labelsOf(shipper), 1514, { ip: server.address })).toBe(true);
    expect(ingressAllowed(labelsOf(shipper), 1514, { ip: other.address }), 'another node').toBe(false);
    expect(ingressAllowed(labelsOf(shipper), 1514, { ip: lanHost }), 'a LAN host').toBe(false);
    expect(ingressAllowed(labelsOf(shipper), 1514, { ip: outsider })).toBe(false);
  });
});
