// Named cross-field rules, run after the schema accepted the file. Each returns problems with
// the path they concern; the validator turns paths into lines and columns.
import { cronProblem, isTimeZone } from './cron.js';
import { durationSeconds } from './duration.js';
import { METHOD_SUPPORT } from './methods.js';
import { alwaysOnNodes, etcdMembers, gatewayPortOf, hasRole, type Cluster } from './model.js';
import { cidrContains, cidrsOverlap, parseCidr } from './ipv4.js';
import type { Severity } from './problems.js';
import { formatPath, type Path } from './source.js';

export interface RuleProblem {
  path: Path;
  severity: Severity;
  code: string;
  message: string;
  hint: string;
}

export interface SecretRefUse {
  name: string;
  path: Path;
}

export interface RuleContext {
  cluster: Cluster;
  /** Every secret reference in the file (explicit or defaulted) with its path. */
  secretRefs: readonly SecretRefUse[];
  /** Names in the secrets file, when it could be opened. */
  secretNames: ReadonlySet<string> | undefined;
  /** Paths the user wrote (defaults have no place in the file). */
  written: (path: Path) => boolean;
}

export interface Rule {
  name: string;
  check(ctx: RuleContext): RuleProblem[];
}

const err = (path: Path, code: string, message: string, hint: string): RuleProblem => ({ path, severity: 'error', code, message, hint });
const warn = (path: Path, code: string, message: string, hint: string): RuleProblem => ({ path, severity: 'warning', code, message, hint });

// Kept importable from here for callers written before src/config/ipv4.ts.
export { cidrContains, cidrsOverlap, parseCidr } from './ipv4.js';

function duplicates<T>(items: readonly T[], key: (t: T) => string | undefined): Array<{ index: number; first: number; value: string }> {
  const seen = new Map<string, number>();
  const out: Array<{ index: number; first: number; value: string }> = [];
  items.forEach((item, index) => {
    const k = key(item);
    if (k === undefined) return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, index);
    else out.push({ index, first, value: k });
  });
  return out;
}

export const RULES: readonly Rule[] = [
  {
    name: 'unique node names, addresses and MACs',
    check: ({ cluster }) => {
      const nodes = cluster.spec.nodes;
      return [
        ...duplicates(nodes, (n) => n.name).map((d) =>
          err(['spec', 'nodes', d.index, 'name'], 'duplicate-node-name', `node name "${d.value}" is used twice (also by nodes[${d.first}])`, 'give every node its own name'),
        ),
        ...duplicates(nodes, (n) => n.address).map((d) =>
          err(['spec', 'nodes', d.index, 'address'], 'duplicate-address', `address ${d.value} is used twice (also by node "${nodes[d.first]?.name}")`, 'every node needs its own address'),
        ),
        ...duplicates(nodes, (n) => n.mac?.toLowerCase()).map((d) =>
          err(['spec', 'nodes', d.index, 'mac'], 'duplicate-mac', `MAC ${d.value} is used twice (also by node "${nodes[d.first]?.name}")`, 'copy the MAC from `ip link` on this node: two NICs never share one'),
        ),
      ];
    },
  },
  {
    name: 'addresses inside the LAN',
    check: ({ cluster }) => {
      const { network, nodes } = cluster.spec;
      const out: RuleProblem[] = [];
      nodes.forEach((n, i) => {
        if (!cidrContains(network.subnet, n.address))
          out.push(err(['spec', 'nodes', i, 'address'], 'address-outside-subnet', `node "${n.name}" address ${n.address} is outside network.subnet ${network.subnet}`, `use an address inside ${network.subnet}, or correct network.subnet`));
      });
      if (network.gateway && !cidrContains(network.subnet, network.gateway))
        out.push(err(['spec', 'network', 'gateway'], 'gateway-outside-subnet', `gateway ${network.gateway} is outside network.subnet ${network.subnet}`, `the gateway must be an address inside ${network.subnet}`));
      return out;
    },
  },
  {
    name: 'pod, service and LAN ranges do not overlap',
    check: ({ cluster }) => {
      const { network, kubernetes: k } = cluster.spec;
      const out: RuleProblem[] = [];
      if (cidrsOverlap(k.podSubnet, k.serviceSubnet))
        out.push(err(['spec', 'kubernetes', 'podSubnet'], 'subnet-overlap', `podSubnet ${k.podSubnet} overlaps serviceSubnet ${k.serviceSubnet}`, 'pick ranges that do not overlap, e.g. podSubnet 10.233.64.0/18 and serviceSubnet 10.233.0.0/18'));
      if (cidrsOverlap(k.podSubnet, network.subnet))
        out.push(err(['spec', 'kubernetes', 'podSubnet'], 'subnet-overlap', `podSubnet ${k.podSubnet} overlaps the LAN ${network.subnet}`, 'pod addresses must not collide with the LAN: pick another private range'));
      if (cidrsOverlap(k.serviceSubnet, network.subnet))
        out.push(err(['spec', 'kubernetes', 'serviceSubnet'], 'subnet-overlap', `serviceSubnet ${k.serviceSubnet} overlaps the LAN ${network.subnet}`, 'service addresses must not collide with the LAN: pick another private range'));
      return out;
    },
  },
  {
    name: 'pod subnet large enough for every node',
    check: ({ cluster }) => {
      const { kubernetes: k, nodes } = cluster.spec;
      const pod = parseCidr(k.podSubnet);
      if (k.nodePrefix < pod.prefix)
        return [err(['spec', 'kubernetes', 'nodePrefix'], 'pod-subnet-too-small', `nodePrefix /${k.nodePrefix} is larger than podSubnet /${pod.prefix}`, 'nodePrefix must be a longer prefix (a smaller block) than podSubnet')];
      const blocks = 2 ** (k.nodePrefix - pod.prefix);
      if (blocks < nodes.length)
        return [err(['spec', 'kubernetes', 'podSubnet'], 'pod-subnet-too-small', `podSubnet ${k.podSubnet} holds ${blocks} per-node /${k.nodePrefix} blocks, but there are ${nodes.length} nodes`, `use a larger podSubnet (at most /${k.nodePrefix - Math.ceil(Math.log2(nodes.length))}) or a longer nodePrefix`)];
      return [];
    },
  },
  {
    name: 'service subnet large enough',
    check: ({ cluster }) => {
      const svc = parseCidr(cluster.spec.kubernetes.serviceSubnet);
      return svc.prefix > 24
        ? [err(['spec', 'kubernetes', 'serviceSubnet'], 'service-subnet-too-small', `serviceSubnet ${cluster.spec.kubernetes.serviceSubnet} has only ${svc.size} addresses`, 'use at least a /24 (Kubespray uses /18)')]
        : [];
    },
  },
  {
    name: 'at least one control-plane node',
    check: ({ cluster }) =>
      cluster.spec.nodes.some((n) => hasRole(n, 'control-plane'))
        ? []
        : [err(['spec', 'nodes'], 'no-control-plane', 'no node has the role control-plane', 'add `control-plane` to the roles of the node that should run the Kubernetes API')],
  },
  {
    name: 'odd number of etcd members',
    check: ({ cluster }) => {
      const members = etcdMembers(cluster.spec.nodes);
      if (members.length === 0 || members.length % 2 === 1) return [];
      const last = cluster.spec.nodes.indexOf(members[members.length - 1]!);
      return [err(['spec', 'nodes', last, 'roles'], 'even-etcd-count', `${members.length} etcd members (${members.map((m) => m.name).join(', ')}): etcd needs an odd number to keep quorum`, 'use 1, 3 or 5 etcd members (control-plane nodes are etcd members unless some node has the etcd role)')];
    },
  },
  {
    name: 'always-on nodes never auto-sleep',
    check: ({ cluster }) => {
      const reasons = alwaysOnNodes(cluster);
      const out: RuleProblem[] = [];
      cluster.spec.nodes.forEach((n, i) => {
        const why = reasons.get(n.name);
        if (why && n.power.autoSleep)
          out.push(err(['spec', 'nodes', i, 'power', 'autoSleep'], 'always-on-node-sleeps', `node "${n.name}" is the ${why.join(' and the ')} and must stay on, but has autoSleep: true`, 'set power.autoSleep: false on this node, or move that role to another node'));
      });
      return out;
    },
  },
  {
    name: 'references name existing nodes',
    check: ({ cluster }) => {
      const names = new Set(cluster.spec.nodes.map((n) => n.name));
      const { monitoring, infrastructure: infra, apps } = cluster.spec;
      const refs: Array<[Path, string | undefined, boolean]> = [
        [['spec', 'monitoring', 'node'], monitoring.node, monitoring.enabled],
        [['spec', 'infrastructure', 'ntp', 'server'], infra.ntp.server, infra.ntp.enabled],
        [['spec', 'infrastructure', 'syslog', 'server'], infra.syslog.server, infra.syslog.enabled],
        [['spec', 'infrastructure', 'kerberos', 'kdc'], infra.kerberos.kdc, infra.kerberos.enabled],
        ...apps.map((a, i): [Path, string | undefined, boolean] => [['spec', 'apps', i, 'node'], a.node, true]),
      ];
      return refs
        .filter(([, name, on]) => on && name !== undefined && !names.has(name))
        .map(([path, name]) => err(path, 'unknown-node', `no node is named "${name}"`, `use one of: ${[...names].join(', ')}`));
    },
  },
  {
    name: 'Kubernetes version installable by the method',
    check: ({ cluster }) => {
      const { method, version } = cluster.spec.kubernetes;
      const support = METHOD_SUPPORT[method];
      return support.supportsVersion(version)
        ? []
        : [err(['spec', 'kubernetes', 'version'], 'unsupported-kubernetes-version', `${support.title} cannot install Kubernetes ${version}`, support.versionsHint)];
    },
  },
  {
    name: 'OS supported by the method',
    check: ({ cluster }) => {
      const support = METHOD_SUPPORT[cluster.spec.kubernetes.method];
      const out: RuleProblem[] = [];
      cluster.spec.nodes.forEach((n, i) => {
        if (!support.os.includes(n.os))
          out.push(err(['spec', 'nodes', i, 'os'], 'unsupported-os', `${support.title} does not support ${n.os} (node "${n.name}")`, `supported: ${support.os.join(', ')}; or choose another kubernetes.method`));
      });
      return out;
    },
  },
  {
    name: 'wake drivers have what they need',
    check: ({ cluster }) => {
      const out: RuleProblem[] = [];
      cluster.spec.nodes.forEach((n, i) => {
        const wakes = n.power.autoSleep || n.power.wake.length > 0;
        if (!wakes) return;
        if (n.power.wake.includes('wol') && !n.mac && n.power.autoSleep)
          out.push(err(['spec', 'nodes', i, 'power', 'wake'], 'wol-without-mac', `node "${n.name}" wakes by Wake-on-LAN but has no mac`, 'add `mac:` with the MAC of the NIC that receives magic packets (see `ip link`)'));
        if (n.power.wake.includes('ipmi') && !n.power.bmc)
          out.push(err(['spec', 'nodes', i, 'power', 'wake'], 'ipmi-without-bmc', `node "${n.name}" wakes by IPMI but has no power.bmc`, 'add power.bmc with address, username: { secret: NAME } and password: { secret: NAME }'));
      });
      return out;
    },
  },
  {
    name: 'NodePorts used once',
    check: ({ cluster }) => {
      const { monitoring: m, apps, power } = cluster.spec;
      const ports: Array<[Path, number | undefined]> = [
        [['spec', 'monitoring', 'prometheus', 'nodePort'], m.enabled ? m.prometheus.nodePort : undefined],
        [['spec', 'monitoring', 'alertmanager', 'nodePort'], m.enabled ? m.alertmanager.nodePort : undefined],
        [['spec', 'monitoring', 'grafana', 'nodePort'], m.enabled ? m.grafana.nodePort : undefined],
        [['spec', 'monitoring', 'loki', 'nodePort'], m.enabled ? m.loki.nodePort : undefined],
        [['spec', 'power', 'controller', 'nodePort'], power.controller.nodePort],
        ...apps.map((a, i): [Path, number | undefined] => [['spec', 'apps', i, 'nodePort'], a.nodePort]),
      ];
      const seen = new Map<number, Path>();
      const out: RuleProblem[] = [];
      for (const [path, port] of ports) {
        if (port === undefined) continue;
        const first = seen.get(port);
        if (first) out.push(err(path, 'duplicate-nodeport', `NodePort ${port} is already used by ${formatPath(first)}`, 'every NodePort must be unique in the cluster'));
        else seen.set(port, path);
      }
      return out;
    },
  },
  {
    name: 'wake-on-request apps have a node, a NodePort and a free gateway port',
    check: ({ cluster }) => {
      const out: RuleProblem[] = [];
      // Ports the control plane already serves (API server, etcd, kubelet, the power manager's API).
      const taken = new Map<number, string>([[6443, 'the Kubernetes API server'], [2379, 'etcd'], [2380, 'etcd'], [10250, 'the kubelet'], [10257, 'kube-controller-manager'], [10259, 'kube-scheduler'], [8080, "the power manager's API"], [9100, 'node-exporter'], [22, 'SSH']]);
      cluster.spec.apps.forEach((a, i) => {
        if (!a.wakeOnRequest) return;
        if (a.node === undefined) {
          out.push(err(['spec', 'apps', i, 'wakeOnRequest'], 'wake-app-without-node', `app "${a.name}" wakes on request but names no node`, 'set apps[].node to the node the app runs on (the node the gateway wakes)'));
          return;
        }
        if (a.nodePort === undefined) {
          out.push(err(['spec', 'apps', i, 'wakeOnRequest'], 'wake-app-without-nodeport', `app "${a.name}" wakes on request but has no nodePort for the gateway to forward to`, 'set apps[].nodePort to the NodePort of its Service'));
          return;
        }
        const port = gatewayPortOf(a) as number;
        const where: Path = a.gatewayPort === undefined ? ['spec', 'apps', i, 'nodePort'] : ['spec', 'apps', i, 'gatewayPort'];
        if (port > 65535) out.push(err(where, 'gateway-port-conflict', `the gateway port of app "${a.name}" would be ${port}, above 65535`, 'set apps[].gatewayPort explicitly'));
        else if (port >= 30000 && port <= 32767)
          out.push(err(where, 'gateway-port-conflict', `gateway port ${port} of app "${a.name}" is in the NodePort range, where kube-proxy takes the traffic`, 'pick a gatewayPort outside 30000-32767 (the default is nodePort + 10000)'));
        else if (taken.has(port)) out.push(err(where, 'gateway-port-conflict', `gateway port ${port} of app "${a.name}" is already used by ${taken.get(port)} on the control plane`, 'pick another apps[].gatewayPort'));
        else taken.set(port, `the wake gateway of app "${a.name}"`);
      });
      return out;
    },
  },
  {
    name: 'alert receivers complete',
    check: ({ cluster }) => {
      // What Alertmanager itself refuses to start without.
      const need = { webhook: ['url'], ntfy: ['topic'], email: ['to', 'from', 'smarthost'] } as const;
      const out: RuleProblem[] = [];
      cluster.spec.monitoring.alertmanager.receivers.forEach((r, i) => {
        const missing = need[r.type].filter((k) => r[k] === undefined);
        if (missing.length > 0)
          out.push(err(['spec', 'monitoring', 'alertmanager', 'receivers', i], 'receiver-incomplete', `receiver "${r.name}" (${r.type}) has no ${missing.join(', ')}`, `a ${r.type} receiver needs ${need[r.type].join(', ')}`));
      });
      return out;
    },
  },
  {
    name: 'power windows are valid cron in a known time zone',
    check: ({ cluster }) => {
      const p = cluster.spec.power;
      const out: RuleProblem[] = [];
      if (!isTimeZone(p.timezone))
        out.push(err(['spec', 'power', 'timezone'], 'invalid-timezone', `"${p.timezone}" is not a time zone`, 'use an IANA name such as Europe/Berlin, America/New_York or UTC'));
      for (const key of ['quietHours', 'keepAwake'] as const) {
        p[key].forEach((w, i) => {
          const problem = cronProblem(w.start, isTimeZone(p.timezone) ? p.timezone : 'UTC');
          if (problem) out.push(err(['spec', 'power', key, i, 'start'], 'invalid-cron', problem, problem.includes('never fires') ? 'name a day every month in it has (February has 28, or 29 in leap years), or L for the last day, e.g. "0 0 L 2 *"' : 'write 5 cron fields, e.g. "0 18 * * 1-5" for 18:00 on weekdays'));
        });
      }
      return out;
    },
  },
  {
    name: 'etcd snapshots: valid cron, and copyTo names a node or an absolute path',
    check: ({ cluster }) => {
      const snap = cluster.spec.kubernetes.etcd.snapshots;
      const at = ['spec', 'kubernetes', 'etcd', 'snapshots'];
      const out: RuleProblem[] = [];
      const problem = cronProblem(snap.schedule);
      if (problem) out.push(err([...at, 'schedule'], 'invalid-cron', problem, 'write 5 cron fields, e.g. "0 */12 * * *" for 00:00 and 12:00'));
      const to = snap.copyTo;
      if (to === undefined || to.startsWith('/')) return out;
      const node = cluster.spec.nodes.find((n) => n.name === to);
      if (!node) return [...out, err([...at, 'copyTo'], 'unknown-copy-target', `copyTo "${to}" is neither a node nor an absolute path`, `name another node (${cluster.spec.nodes.map((n) => n.name).join(', ')}) or a folder such as /mnt/backup/etcd`)];
      const members = cluster.spec.kubernetes.method === 'rke2' ? cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane')) : etcdMembers(cluster.spec.nodes);
      if (members.length === 1 && members[0]?.name === to)
        out.push(warn([...at, 'copyTo'], 'copy-to-itself', `copyTo "${to}" is the only etcd node itself: the copy dies with its disk`, 'copy to another node or to a path on another disk'));
      if (node.power.autoSleep) out.push(warn([...at, 'copyTo'], 'copy-target-sleeps', `copyTo "${to}" sleeps when idle: a copy made while it sleeps fails (the snapshot stays on the etcd node)`, 'copy to an always-on node, or set power.autoSleep: false on it'));
      return out;
    },
  },
  {
    name: 'power durations make sense',
    check: ({ cluster }) => {
      const p = cluster.spec.power;
      const out: RuleProblem[] = [];
      if (durationSeconds(p.idleAfter) < 60)
        out.push(warn(['spec', 'power', 'idleAfter'], 'idle-too-short', `idleAfter ${p.idleAfter} is under a minute: nodes would sleep between requests`, 'use at least a few minutes, e.g. 30m'));
      return out;
    },
  },
  {
    name: 'referenced secrets exist',
    check: ({ secretRefs, secretNames }) => {
      if (!secretNames) return [];
      return secretRefs
        .filter((r) => !secretNames.has(r.name))
        .map((r) => err(r.path, 'secret-not-found', `secret "${r.name}" is not in the secrets file`, `add it with: vmstation secrets set ${r.name}  (the value is read from standard input)`));
    },
  },
  {
    name: 'sleepers have power figures',
    check: ({ cluster }) => {
      const out: RuleProblem[] = [];
      cluster.spec.nodes.forEach((n, i) => {
        if (n.power.autoSleep && !n.power.watts)
          out.push(warn(['spec', 'nodes', i, 'power'], 'no-watts', `node "${n.name}" sleeps but has no power.watts: the energy ledger cannot count its savings`, 'add power.watts: { awake: W, asleep: W } (measure with a plug meter)'));
      });
      return out;
    },
  },
  {
    name: 'a second power manager replica has a control-plane node to run on',
    check: ({ cluster }) => {
      const { power, nodes } = cluster.spec;
      const controlPlanes = nodes.filter((n) => hasRole(n, 'control-plane')).length;
      // Host network: two replicas on one node would want the same ports; the scheduler keeps the second Pending.
      if (!power.enabled || power.controller.replicas < 2 || controlPlanes >= 2) return [];
      return [warn(['spec', 'power', 'controller', 'replicas'], 'replica-without-node', 'a second power manager replica needs a second control-plane node (it uses the host network and its ports); with one it stays Pending', 'use replicas: 1, or add a control-plane node')];
    },
  },
  {
    // Issue 17 §4: the defaults expose the UIs read-only; an anonymous Editor is a choice that opens
    // more (anyone on the LAN changes dashboards and runs any query against every datasource).
    name: 'Grafana anonymous Editor',
    check: ({ cluster }) => {
      const m = cluster.spec.monitoring;
      if (!m.enabled || m.grafana.anonymousRole !== 'Editor') return [];
      return [
        warn(
          ['spec', 'monitoring', 'grafana', 'anonymousRole'],
          'grafana-anonymous-editor',
          'anonymousRole Editor lets anyone who reaches Grafana on the LAN, without logging in, edit and delete dashboards and query every datasource (all logs in Loki)',
          'use anonymousRole: Viewer (the default) or None, and log in as the admin user to edit',
        ),
      ];
    },
  },
  {
    // grafana/loki@v3.6.10:docs/sources/send-data/promtail/_index.md: end of life on 2026-03-02;
    // grafana/loki@v3.7.0 removed Promtail ("Remove Promtail support"). Still rendered (3.6 line).
    name: 'Promtail is end-of-life',
    check: ({ cluster }) => {
      const m = cluster.spec.monitoring;
      if (!m.enabled || m.logShipper !== 'promtail') return [];
      return [
        warn(
          ['spec', 'monitoring', 'logShipper'],
          'promtail-eol',
          'Promtail reached end of life on 2026-03-02 (no fixes, not even for security) and Loki 3.7 no longer ships it; vmstation still renders Promtail 3.6.10, the last release line',
          'use logShipper: alloy (the default): the same sources and labels; a hand-written Promtail config converts with `alloy convert --source-format=promtail`',
        ),
      ];
    },
  },
];
