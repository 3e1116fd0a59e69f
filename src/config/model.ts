// The normalized model: every default resolved, including those that depend on other fields
// (the NTP server defaults to the first control-plane node, the realm to the domain, ...).
// Later code reads only `Cluster`.
import { resolveAppDefaults } from './app-presets.js';
import type { Method, OsName, ParsedCluster, Role } from './schema.js';
import { broadcastAddress } from './ipv4.js';

export const DEFAULT_KUBERNETES_VERSION: Record<Method, string> = {
  kubespray: '1.35.4',
  kubeadm: '1.35.4',
  rke2: '1.35.4',
};

export type ParsedNode = ParsedCluster['spec']['nodes'][number];

export interface ResolvedSsh {
  user: string;
  port: number;
  privateKey: string;
}

function firstControlPlane(nodes: ParsedNode[]): string {
  return (nodes.find((n) => n.roles.includes('control-plane')) ?? nodes[0])?.name ?? '';
}

// Kept importable from here for callers written before src/config/ipv4.ts.
export { broadcastAddress, intToIp, ipToInt } from './ipv4.js';

/** The known_hosts file VMStation manages when the cluster file names none (`~` is expanded where it is opened). */
export const DEFAULT_KNOWN_HOSTS = '~/.config/vmstation/known_hosts';

export function normalize(parsed: ParsedCluster) {
  const { spec } = parsed;
  const cp = firstControlPlane(spec.nodes);
  const nodes = spec.nodes.map((n) => ({
    ...n,
    ssh: {
      user: n.ssh?.user ?? spec.ssh.user,
      port: n.ssh?.port ?? spec.ssh.port,
      privateKey: n.ssh?.privateKey ?? spec.ssh.privateKey,
    } satisfies ResolvedSsh,
  }));
  return {
    apiVersion: parsed.apiVersion,
    kind: parsed.kind,
    metadata: parsed.metadata,
    spec: {
      ...spec,
      ssh: { ...spec.ssh, knownHosts: spec.ssh.knownHosts ?? DEFAULT_KNOWN_HOSTS },
      kubernetes: { ...spec.kubernetes, version: spec.kubernetes.version ?? DEFAULT_KUBERNETES_VERSION[spec.kubernetes.method] },
      nodes,
      monitoring: { ...spec.monitoring, node: spec.monitoring.node ?? cp },
      infrastructure: {
        ntp: { ...spec.infrastructure.ntp, server: spec.infrastructure.ntp.server ?? cp },
        syslog: { ...spec.infrastructure.syslog, server: spec.infrastructure.syslog.server ?? cp },
        kerberos: {
          ...spec.infrastructure.kerberos,
          kdc: spec.infrastructure.kerberos.kdc ?? cp,
          realm: spec.infrastructure.kerberos.realm ?? spec.network.domain.toUpperCase(),
        },
        firewall: { ...spec.infrastructure.firewall, sshFrom: spec.infrastructure.firewall.sshFrom ?? [spec.network.subnet] },
      },
      power: {
        ...spec.power,
        wol: { ...spec.power.wol, broadcast: spec.power.wol.broadcast ?? broadcastAddress(spec.network.subnet) },
      },
      apps: spec.apps.map(resolveAppDefaults),
    },
  };
}

/** The fully resolved cluster every renderer, planner and controller reads. */
export type Cluster = ReturnType<typeof normalize>;
export type ClusterNode = Cluster['spec']['nodes'][number];

export function hasRole(node: { roles: readonly Role[] }, role: Role): boolean {
  return node.roles.includes(role);
}

/** etcd members: nodes with the etcd role, or the control-plane nodes when none has it (Kubespray's convention). */
export function etcdMembers<N extends { roles: readonly Role[] }>(nodes: readonly N[]): N[] {
  const explicit = nodes.filter((n) => n.roles.includes('etcd'));
  return explicit.length > 0 ? explicit : nodes.filter((n) => n.roles.includes('control-plane'));
}

export function osFamily(os: OsName): 'debian' | 'redhat' {
  return os.startsWith('debian') || os.startsWith('ubuntu') ? 'debian' : 'redhat';
}

/** Nodes that must stay on: control plane, monitoring, NTP, syslog and (when enabled) KDC hosts. */
export function alwaysOnNodes(cluster: Cluster): Map<string, string[]> {
  const why = new Map<string, string[]>();
  const add = (name: string, reason: string) => why.set(name, [...(why.get(name) ?? []), reason]);
  const { spec } = cluster;
  for (const n of spec.nodes) if (hasRole(n, 'control-plane')) add(n.name, 'control-plane node');
  if (spec.monitoring.enabled) add(spec.monitoring.node, 'monitoring node');
  if (spec.infrastructure.ntp.enabled) add(spec.infrastructure.ntp.server, 'NTP server');
  if (spec.infrastructure.syslog.enabled) add(spec.infrastructure.syslog.server, 'syslog server');
  if (spec.infrastructure.kerberos.enabled) add(spec.infrastructure.kerberos.kdc, 'Kerberos KDC');
  return why;
}

/** Offset of a wake gateway's default port from its app's NodePort (30000-32767 -> 40000-42767). */
export const GATEWAY_PORT_OFFSET = 10_000;

/** The port the wake gateway listens on for an app (only apps with wakeOnRequest have one). */
export function gatewayPortOf(app: { wakeOnRequest: boolean; nodePort?: number | undefined; gatewayPort?: number | undefined }): number | undefined {
  if (!app.wakeOnRequest) return undefined;
  return app.gatewayPort ?? (app.nodePort === undefined ? undefined : app.nodePort + GATEWAY_PORT_OFFSET);
}
