// A human summary of a valid cluster, printed by `validate`.
import { formatTable } from '../util/table.js';
import { alwaysOnNodes, etcdMembers, gatewayPortOf, type Cluster } from './model.js';

export function summarizeCluster(cluster: Cluster): string {
  const { spec } = cluster;
  const k = spec.kubernetes;
  const always = alwaysOnNodes(cluster);
  const sleepers = spec.nodes.filter((n) => n.power.autoSleep);
  const rows = spec.nodes.map((n) => [
    n.name,
    n.address,
    n.os,
    n.roles.join(','),
    n.power.autoSleep ? `auto-sleep (${n.power.wake.join(' → ')})` : always.has(n.name) ? 'always on' : 'on',
  ]);
  const lines = [
    `Cluster ${cluster.metadata.name}: ${spec.nodes.length} node(s) on ${spec.network.subnet} (${spec.network.domain})`,
    `Kubernetes ${k.version} via ${k.method}, CNI ${k.cni}, pods ${k.podSubnet}, services ${k.serviceSubnet}, etcd on ${etcdMembers(spec.nodes).map((n) => n.name).join(', ')}`,
    '',
    formatTable(['NODE', 'ADDRESS', 'OS', 'ROLES', 'POWER'], rows),
    '',
  ];
  const m = spec.monitoring;
  if (m.enabled) {
    lines.push(`Monitoring on ${m.node}: Prometheus :${m.prometheus.nodePort} (retention ${m.prometheus.retention}), Grafana :${m.grafana.nodePort} (anonymous ${m.grafana.anonymousRole}), Loki ${m.loki.nodePort === undefined ? '(cluster-only)' : `:${m.loki.nodePort}`}, Alertmanager ${m.alertmanager.nodePort === undefined ? '(cluster-only)' : `:${m.alertmanager.nodePort}`}, log shipper ${m.logShipper}`);
  } else {
    lines.push('Monitoring: off');
  }
  const infra = spec.infrastructure;
  const services = [
    infra.ntp.enabled ? `NTP on ${infra.ntp.server} (upstream ${infra.ntp.upstream.join(', ')})` : 'NTP off',
    infra.syslog.enabled ? `syslog on ${infra.syslog.server}` : 'syslog off',
    infra.kerberos.enabled ? `Kerberos ${infra.kerberos.realm} on ${infra.kerberos.kdc}` : 'Kerberos off',
    infra.firewall.enabled ? 'firewall on' : 'firewall off',
  ];
  lines.push(`Host services: ${services.join('; ')}`);
  if (spec.power.enabled && sleepers.length > 0) {
    const awakeW = sleepers.reduce((s, n) => s + (n.power.watts?.awake ?? 0), 0);
    const asleepW = sleepers.reduce((s, n) => s + (n.power.watts?.asleep ?? 0), 0);
    lines.push(
      `Power: ${sleepers.map((n) => n.name).join(', ')} sleep after ${spec.power.idleAfter} idle (min awake ${spec.power.minAwake}); ` +
        `${awakeW} W awake vs ${asleepW} W asleep (${Math.round(((awakeW - asleepW) * 16 * 365) / 1000)} kWh/year at 16 h of sleep a day)`,
    );
  } else {
    lines.push('Power: no node sleeps');
  }
  if (spec.apps.length > 0) lines.push(`Apps: ${spec.apps.map((a) => `${a.name}${a.node ? ` on ${a.node}` : ''}${a.nodePort ? ` :${a.nodePort}` : ''}${gatewayPortOf(a) !== undefined ? ` (wakes on request through gateway :${gatewayPortOf(a)})` : ''}`).join(', ')}`);
  return lines.join('\n');
}
