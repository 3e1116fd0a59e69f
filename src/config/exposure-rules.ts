// What the LAN can reach (issue 17 §4). The defaults expose the UIs read-only (Grafana as an
// anonymous Viewer, Prometheus without its admin and lifecycle APIs) and keep the monitoring
// write paths to the cluster: Alertmanager's API (silences), Loki's push and delete, the log
// shipper's syslog receiver. Each rule warns when the file opens more than that.
import type { Rule, RuleProblem } from './rules.js';

const warn = (path: RuleProblem['path'], code: string, message: string, hint: string): RuleProblem => ({ path, severity: 'warning', code, message, hint });

export const EXPOSURE_RULES: readonly Rule[] = [
  {
    // Alertmanager has no read-only mode and no per-path authentication: its UI and its API
    // (POST /api/v2/silences, DELETE /api/v2/silence/{id}) share one port.
    name: 'Alertmanager NodePort exposes silences',
    check: ({ cluster }) => {
      const m = cluster.spec.monitoring;
      if (!m.enabled || m.alertmanager.nodePort === undefined) return [];
      return [
        warn(
          ['spec', 'monitoring', 'alertmanager', 'nodePort'],
          'alertmanager-nodeport',
          `alertmanager.nodePort ${m.alertmanager.nodePort} lets anyone in ${cluster.spec.network.subnet} create and expire silences without logging in (Alertmanager's UI and API share one port and have no read-only mode), so alerts can be muted from the LAN`,
          "remove alertmanager.nodePort: Grafana shows the alerts and silences (read-only for its Viewer role) and Prometheus reaches Alertmanager inside the cluster",
        ),
      ];
    },
  },
  {
    // Loki's push (/loki/api/v1/push) and delete (/loki/api/v1/delete) share the HTTP port with queries.
    name: 'Loki NodePort exposes push and delete',
    check: ({ cluster }) => {
      const m = cluster.spec.monitoring;
      if (!m.enabled || m.loki.nodePort === undefined) return [];
      return [
        warn(
          ['spec', 'monitoring', 'loki', 'nodePort'],
          'loki-nodeport',
          `loki.nodePort ${m.loki.nodePort} lets anyone in ${cluster.spec.network.subnet} push forged log lines, query every log and request deletions through Loki's API, which has no authentication here`,
          'remove loki.nodePort: Grafana is the UI for the logs, and the log shipper pushes inside the cluster',
        ),
      ];
    },
  },
  {
    // docs/observability.md: Calico and Cilium enforce NetworkPolicies; flannel does not.
    name: 'flannel leaves the monitoring NetworkPolicies inert',
    check: ({ cluster }) => {
      const { monitoring, kubernetes } = cluster.spec;
      if (!monitoring.enabled || kubernetes.cni !== 'flannel') return [];
      return [
        warn(
          ['spec', 'kubernetes', 'cni'],
          'network-policies-unenforced',
          "flannel does not enforce NetworkPolicies: the monitoring namespace's policies are accepted but inert, so the log shipper's syslog receiver (hostPort 1514 on every node) takes forged lines from anyone on the LAN, and every monitoring pod is reachable from any pod",
          'use cni: calico (the default) or cilium, which enforce them',
        ),
      ];
    },
  },
];
