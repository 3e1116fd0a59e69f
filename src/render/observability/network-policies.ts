// NetworkPolicies for the monitoring namespace: deny all ingress, then admit exactly the
// traffic the stack needs. Egress is restricted only where the needs are known and small
// (Grafana, Loki), and every policy that restricts egress allows DNS on UDP and TCP 53 to any
// address: the original's policies blocked DNS once Calico enforced them, and with Kubespray's
// nodelocaldns the resolver is a link-local address on the node, not a pod in kube-system.
// Calico and Cilium enforce these; flannel does not (they are then inert, not harmful).
import type { Cluster } from '../../config/model.js';
import { selectorLabels, SYSLOG_RECEIVER_PORT, type KubeObject } from '../k8s/common.js';
import { COMPONENTS, monitoringNamespace } from './names.js';
import { objectMeta } from '../k8s/objects.js';
import type { ShipperKind } from './shipper.js';

type Protocol = 'TCP' | 'UDP';
interface Port {
  protocol: Protocol;
  port: number;
}
interface Peer {
  podSelector?: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchLabels: Record<string, string> };
  ipBlock?: { cidr: string };
}

const tcp = (port: number): Port => ({ protocol: 'TCP', port });
const pods = (app: string): Peer => ({ podSelector: { matchLabels: selectorLabels(app) } });

export const DNS_PORTS: readonly Port[] = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'TCP', port: 53 },
];

function policy(cluster: Cluster, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: objectMeta(name, { namespace: monitoringNamespace(cluster), component: 'network-policy' }), spec };
}

interface IngressNeed {
  app: string;
  port: number;
  from: Peer[];
}

function syslogServerAddress(cluster: Cluster): string {
  const name = cluster.spec.infrastructure.syslog.server;
  const node = cluster.spec.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`syslog server ${name} is not in spec.nodes (the validator should have caught this)`);
  return node.address;
}

export function networkPolicyObjects(cluster: Cluster, shipper: ShipperKind): KubeObject[] {
  const syslog = cluster.spec.infrastructure.syslog;
  const lan: Peer = { ipBlock: { cidr: cluster.spec.network.subnet } };
  const prometheus = pods(COMPONENTS.prometheus.name);
  const grafana = pods(COMPONENTS.grafana.name);
  const blackbox = pods(COMPONENTS.blackboxExporter.name);
  const shipperName = shipper === 'alloy' ? COMPONENTS.alloy.name : COMPONENTS.promtail.name;
  const shipperPort = shipper === 'alloy' ? COMPONENTS.alloy.port : COMPONENTS.promtail.port;

  const m = cluster.spec.monitoring;
  // The LAN reaches a component only through a NodePort the file sets. Grafana's and Prometheus'
  // are always there and read-only (Grafana's anonymous role is Viewer by default; Prometheus runs
  // without --web.enable-admin-api and --web.enable-lifecycle). Alertmanager's API creates
  // silences and Loki's pushes and deletes logs: cluster-only unless the file exposes them, and
  // `validate` warns when it does (issue 17 §4).
  const lanIf = (nodePort: number | undefined): Peer[] => (nodePort === undefined ? [] : [lan]);
  const needs: IngressNeed[] = [
    // NodePorts (browsers on the LAN), probes by the blackbox exporter, and the datasource reads.
    { app: COMPONENTS.grafana.name, port: COMPONENTS.grafana.port, from: [lan, blackbox, prometheus] },
    // Prometheus also scrapes itself through its Service (job `prometheus`).
    { app: COMPONENTS.prometheus.name, port: COMPONENTS.prometheus.port, from: [lan, grafana, blackbox, prometheus] },
    { app: COMPONENTS.alertmanager.name, port: COMPONENTS.alertmanager.port, from: [...lanIf(m.alertmanager.nodePort), prometheus, grafana, blackbox] },
    // Pushes from the shipper on every node, reads by Grafana, scrapes and probes.
    { app: COMPONENTS.loki.name, port: COMPONENTS.loki.port, from: [...lanIf(m.loki.nodePort), pods(shipperName), grafana, prometheus, blackbox] },
    // Exporters: scraped by Prometheus only.
    { app: COMPONENTS.kubeStateMetrics.name, port: COMPONENTS.kubeStateMetrics.port, from: [prometheus] },
    { app: COMPONENTS.kubeStateMetrics.name, port: COMPONENTS.kubeStateMetrics.telemetryPort, from: [prometheus] },
    { app: COMPONENTS.blackboxExporter.name, port: COMPONENTS.blackboxExporter.port, from: [prometheus] },
    { app: COMPONENTS.ipmiExporter.name, port: COMPONENTS.ipmiExporter.port, from: [prometheus] },
    { app: shipperName, port: shipperPort, from: [prometheus] },
    // The syslog stream: rsyslog on the syslog server forwards to 127.0.0.1:1514, the hostPort of
    // the shipper on its own node, and nobody else sends there. Traffic from a pod's own node is
    // always allowed (https://kubernetes.io/docs/concepts/services-networking/network-policies/);
    // the server's address is named too, for a CNI that sees the hostPort's SNAT source as an
    // ordinary address. The rest of the LAN cannot forge lines here.
    ...(syslog.enabled ? [{ app: shipperName, port: SYSLOG_RECEIVER_PORT, from: [{ ipBlock: { cidr: `${syslogServerAddress(cluster)}/32` } }] }] : []),
  ];

  // One policy per app, its rules in the order above.
  const byApp = new Map<string, IngressNeed[]>();
  for (const n of needs) byApp.set(n.app, [...(byApp.get(n.app) ?? []), n]);

  const objects: KubeObject[] = [
    policy(cluster, 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
  ];
  for (const [app, list] of byApp) {
    objects.push(
      policy(cluster, `allow-ingress-${app}`, {
        podSelector: { matchLabels: selectorLabels(app) },
        policyTypes: ['Ingress'],
        ingress: list.map((n) => ({ from: n.from, ports: [tcp(n.port)] })),
      }),
    );
  }

  // Egress, where the needs are known: Grafana reads the three datasources; Loki talks to no one.
  objects.push(
    policy(cluster, 'restrict-egress-grafana', {
      podSelector: { matchLabels: selectorLabels(COMPONENTS.grafana.name) },
      policyTypes: ['Egress'],
      egress: [
        { ports: [...DNS_PORTS] },
        { to: [prometheus], ports: [tcp(COMPONENTS.prometheus.port)] },
        { to: [pods(COMPONENTS.loki.name)], ports: [tcp(COMPONENTS.loki.port)] },
        { to: [pods(COMPONENTS.alertmanager.name)], ports: [tcp(COMPONENTS.alertmanager.port)] },
      ],
    }),
    policy(cluster, 'restrict-egress-loki', {
      podSelector: { matchLabels: selectorLabels(COMPONENTS.loki.name) },
      policyTypes: ['Egress'],
      egress: [{ ports: [...DNS_PORTS] }],
    }),
  );
  return objects;
}
