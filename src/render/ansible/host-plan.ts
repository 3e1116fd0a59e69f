// What the host layer does on each node, decided once from the cluster: which OS paths and
// service names apply, which infrastructure services it runs, which ports it must accept.
// Every config renderer and the Ansible project read this, so they can never disagree.
import { etcdMembers, gatewayPortOf, hasRole, osFamily, type Cluster, type ClusterNode } from '../../config/model.js';
import { POWER_MANAGER, SYSLOG_RECEIVER_PORT } from '../k8s/common.js';
import { clusterFlows, receives, type FlowProtocol } from '../network/requirements.js';

export type OsFamily = 'debian' | 'redhat';

/** Paths, packages and service names that differ between Debian and RHEL. */
export interface OsProfile {
  family: OsFamily;
  packageManager: 'apt' | 'dnf';
  chronyConf: string;
  chronyService: string;
  chronyDriftFile: string;
  chronyKeyFile: string;
  rsyslogWorkDir: string;
  /** Local catch-all log and the auth log the distribution normally writes. */
  localSyslogFile: string;
  localAuthFile: string;
  krb5KdcDir: string;
  krb5DatabaseDir: string;
  krb5KdcServices: string[];
  krb5KdcPackages: string[];
  krb5ClientPackages: string[];
  basePackages: string[];
  firewall: 'nftables' | 'firewalld';
  firewallPackages: string[];
}

export const OS_PROFILES: Record<OsFamily, OsProfile> = {
  debian: {
    family: 'debian',
    packageManager: 'apt',
    chronyConf: '/etc/chrony/chrony.conf',
    chronyService: 'chrony',
    chronyDriftFile: '/var/lib/chrony/chrony.drift',
    chronyKeyFile: '/etc/chrony/chrony.keys',
    rsyslogWorkDir: '/var/spool/rsyslog',
    localSyslogFile: '/var/log/syslog',
    localAuthFile: '/var/log/auth.log',
    krb5KdcDir: '/etc/krb5kdc',
    krb5DatabaseDir: '/var/lib/krb5kdc',
    krb5KdcServices: ['krb5-kdc', 'krb5-admin-server'],
    krb5KdcPackages: ['krb5-kdc', 'krb5-admin-server'],
    krb5ClientPackages: ['krb5-user'],
    basePackages: ['chrony', 'ethtool', 'logrotate', 'rsyslog'],
    firewall: 'nftables',
    firewallPackages: ['nftables'],
  },
  redhat: {
    family: 'redhat',
    packageManager: 'dnf',
    chronyConf: '/etc/chrony.conf',
    chronyService: 'chronyd',
    chronyDriftFile: '/var/lib/chrony/drift',
    chronyKeyFile: '/etc/chrony.keys',
    rsyslogWorkDir: '/var/lib/rsyslog',
    localSyslogFile: '/var/log/messages',
    localAuthFile: '/var/log/secure',
    krb5KdcDir: '/var/kerberos/krb5kdc',
    krb5DatabaseDir: '/var/kerberos/krb5kdc',
    krb5KdcServices: ['krb5kdc', 'kadmin'],
    krb5KdcPackages: ['krb5-server', 'krb5-workstation'],
    krb5ClientPackages: ['krb5-workstation'],
    basePackages: ['chrony', 'ethtool', 'logrotate', 'policycoreutils-python-utils', 'rsyslog'],
    firewall: 'firewalld',
    firewallPackages: ['firewalld'],
  },
};

/** Where per-host logs land on the syslog server. */
export const SYSLOG_HOSTS_DIR = '/var/log/vmstation/hosts';
/** Facts the power role records for preflight and the power manager. */
export const POWER_READINESS_FILE = '/etc/vmstation/power-readiness.json';
export const HOST_KEYTAB = '/etc/krb5.keytab';
export const KERBEROS_ADMIN_PRINCIPAL = 'admin/admin';

export interface PortRule {
  /** A port or an inclusive range `from-to`; none for a protocol without ports (IP-in-IP). */
  port?: number | [number, number];
  protocol: FlowProtocol;
  /** Source networks; empty means any source. */
  from: string[];
  /** Why it is open (rendered as a comment). */
  why: string;
}

export interface NodeHostPlan {
  node: ClusterNode;
  fqdn: string;
  os: OsProfile;
  isNtpServer: boolean;
  isSyslogServer: boolean;
  isKdc: boolean;
  isEtcd: boolean;
  /** Inbound traffic the firewall accepts (everything else is refused). */
  ports: PortRule[];
}

export function nodeFqdn(cluster: Cluster, node: ClusterNode): string {
  return `${node.name}.${cluster.spec.network.domain}`;
}

export function nodeByName(cluster: Cluster, name: string): ClusterNode {
  const node = cluster.spec.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node named ${name} (the validator should have caught this)`);
  return node;
}

function rangeKey(p: PortRule): string {
  if (p.port === undefined) return p.protocol;
  return `${p.protocol}/${Array.isArray(p.port) ? p.port.join('-') : p.port}`;
}

/** The inbound rules of one node, derived from what runs there. Sorted by port for stable output. */
export function firewallPorts(cluster: Cluster, node: ClusterNode): PortRule[] {
  const { spec } = cluster;
  const lan = [spec.network.subnet];
  const infra = spec.infrastructure;
  const rules: PortRule[] = [];
  const add = (port: number | [number, number], protocol: 'tcp' | 'udp', from: string[], why: string) => rules.push({ port, protocol, from, why });

  add(node.ssh.port, 'tcp', infra.firewall.sshFrom, 'SSH');
  // Kubernetes and the CNI, from the upstream tables of the method (src/render/network/requirements.ts).
  const role = { isControlPlane: hasRole(node, 'control-plane'), isEtcd: etcdMembers(spec.nodes).some((n) => n.name === node.name) };
  for (const flow of clusterFlows(spec.kubernetes.method, spec.kubernetes.cni)) {
    if (receives(flow.to, role)) rules.push({ ...(flow.port === undefined ? {} : { port: flow.port }), protocol: flow.protocol, from: flow.from === 'nodes' ? lan : [], why: flow.why });
  }
  if (spec.monitoring.enabled && spec.monitoring.exporters.node) add(9100, 'tcp', lan, 'node-exporter');
  // The power manager runs on the control plane with the host's network: its API behind a NodePort
  // arrives DNATed to its own port, and each wake gateway listens on the host.
  if (hasRole(node, 'control-plane') && spec.power.enabled) {
    if (spec.power.controller.nodePort !== undefined) add(POWER_MANAGER.port, 'tcp', [], 'power manager API (behind its NodePort)');
    for (const app of spec.apps) {
      const port = gatewayPortOf(app);
      if (port !== undefined) add(port, 'tcp', [], `wake gateway of app ${app.name}`);
    }
  }
  if (infra.ntp.enabled && infra.ntp.server === node.name) add(123, 'udp', lan, 'NTP server (chrony)');
  if (infra.syslog.enabled && infra.syslog.server === node.name) {
    add(infra.syslog.port, 'tcp', lan, 'central syslog (rsyslog)');
    add(infra.syslog.port, 'udp', lan, 'central syslog (rsyslog)');
  }
  if (infra.kerberos.enabled && infra.kerberos.kdc === node.name) {
    add(88, 'tcp', lan, 'Kerberos KDC');
    add(88, 'udp', lan, 'Kerberos KDC');
    add(464, 'tcp', lan, 'Kerberos kpasswd');
    add(464, 'udp', lan, 'Kerberos kpasswd');
    add(749, 'tcp', lan, 'Kerberos kadmin');
  }
  for (const x of infra.firewall.extraPorts) add(x.port, x.protocol, x.from ? [x.from] : [], 'extra port (infrastructure.firewall.extraPorts)');

  const start = (p: PortRule) => (p.port === undefined ? -1 : Array.isArray(p.port) ? p.port[0] : p.port);
  // Stable order; merge duplicates (e.g. an extra port that repeats a derived one) by joining sources.
  const merged = new Map<string, PortRule>();
  for (const r of rules.sort((a, b) => start(a) - start(b) || a.protocol.localeCompare(b.protocol))) {
    const key = rangeKey(r);
    const prev = merged.get(key);
    if (!prev) merged.set(key, { ...r, from: [...r.from] });
    else if (prev.from.length === 0 || r.from.length === 0) merged.set(key, { ...prev, from: [], why: `${prev.why}; ${r.why}` });
    else merged.set(key, { ...prev, from: [...new Set([...prev.from, ...r.from])].sort(), why: `${prev.why}; ${r.why}` });
  }
  return [...merged.values()];
}

/** The syslog receiver of the log shipper on the syslog server (forward target). */
export const LOG_SHIPPER_RECEIVER = { host: '127.0.0.1', port: SYSLOG_RECEIVER_PORT } as const;

export function hostPlan(cluster: Cluster, node: ClusterNode): NodeHostPlan {
  const infra = cluster.spec.infrastructure;
  return {
    node,
    fqdn: nodeFqdn(cluster, node),
    os: OS_PROFILES[osFamily(node.os)],
    isNtpServer: infra.ntp.enabled && infra.ntp.server === node.name,
    isSyslogServer: infra.syslog.enabled && infra.syslog.server === node.name,
    isKdc: infra.kerberos.enabled && infra.kerberos.kdc === node.name,
    isEtcd: etcdMembers(cluster.spec.nodes).some((n) => n.name === node.name),
    ports: firewallPorts(cluster, node),
  };
}

export function hostPlans(cluster: Cluster): NodeHostPlan[] {
  return cluster.spec.nodes.map((n) => hostPlan(cluster, n));
}

/** Port rule as text (`tcp/30000-32767`), for comments and docs. */
export function portText(p: PortRule): string {
  return rangeKey(p);
}

/** The known_hosts file VMStation manages when the cluster file names none. */
export const DEFAULT_KNOWN_HOSTS = '~/.config/vmstation/known_hosts';

export function knownHostsFile(cluster: Cluster): string {
  return cluster.spec.ssh.knownHosts ?? DEFAULT_KNOWN_HOSTS;
}
