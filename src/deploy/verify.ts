// `vmstation verify`: is the deployed cluster what the cluster file says? Observations are
// gathered at the edges (Kubernetes API, HTTP, SSH); the verdicts are pure functions of them.
// Nodes asleep on purpose (power manager annotation) are expected to be down.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ObjectClient } from '../adapters/kube/apply.js';
import type { Cluster } from '../config/model.js';
import { POWER_ANNOTATIONS } from '../power/controller/annotations.js';
import { SYSLOG_HOSTS_DIR } from '../render/ansible/host-plan.js';
import { JOBS } from '../render/metrics/names.js';
import { formatTable } from '../util/table.js';
import { rolloutDone, WORKLOAD_KINDS } from './manifests.js';
import { MAX_CLOCK_OFFSET_S } from './preflight/checks.js';
import { tcpProbe } from '../power/drivers/probe.js';
import type { SshPool } from './ssh-pool.js';

export type VerifyStatus = 'pass' | 'fail' | 'skip';

export interface VerifyCheck {
  name: string;
  status: VerifyStatus;
  detail: string;
  hint?: string;
}

export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
}

interface NodeObject extends KubernetesObject {
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** Nodes the power manager put to sleep on purpose (from the Node annotation). */
export function asleepNodes(nodes: readonly NodeObject[]): Set<string> {
  return new Set(nodes.filter((n) => n.metadata?.annotations?.[POWER_ANNOTATIONS.state] === 'asleep').map((n) => n.metadata?.name ?? ''));
}

export function checkNodes(cluster: Cluster, nodes: readonly NodeObject[]): VerifyCheck[] {
  const asleep = asleepNodes(nodes);
  return cluster.spec.nodes.map((n) => {
    const live = nodes.find((x) => x.metadata?.name === n.name);
    const name = `node ${n.name} Ready`;
    if (!live) return { name, status: 'fail', detail: 'not registered in the cluster', hint: `run \`vmstation deploy --phase kubernetes\`; on the node, \`journalctl -u kubelet\` says why it did not join` };
    const ready = live.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    if (ready === 'True') return { name, status: 'pass', detail: 'Ready' };
    if (asleep.has(n.name)) return { name, status: 'pass', detail: `asleep on purpose (Ready=${ready ?? 'unknown'})` };
    return { name, status: 'fail', detail: `Ready=${ready ?? 'unknown'}`, hint: `check the kubelet on ${n.name} (systemctl status kubelet), or wake it: vmstation power wake ${n.name}` };
  });
}

export function checkWorkloads(rendered: readonly KubernetesObject[], live: ReadonlyMap<string, KubernetesObject | undefined>, asleepCount: number): VerifyCheck[] {
  return rendered
    .filter((o) => WORKLOAD_KINDS.includes(o.kind ?? ''))
    .map((o) => {
      const id = `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
      const name = `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name} rolled out`;
      const obj = live.get(id);
      if (!obj) return { name, status: 'fail' as const, detail: 'missing from the cluster', hint: 'run `vmstation deploy --from addons`' };
      const r = rolloutDone(obj as Parameters<typeof rolloutDone>[0]);
      if (r.done) return { name, status: 'pass' as const, detail: r.detail };
      // A DaemonSet cannot be available on a sleeping node.
      const st = (obj as { status?: { desiredNumberScheduled?: number; numberAvailable?: number } }).status;
      if (o.kind === 'DaemonSet' && asleepCount > 0 && (st?.numberAvailable ?? 0) + asleepCount >= (st?.desiredNumberScheduled ?? 0))
        return { name, status: 'pass' as const, detail: `${r.detail} (${asleepCount} node(s) asleep)` };
      return { name, status: 'fail' as const, detail: r.detail, hint: `kubectl -n ${o.metadata?.namespace ?? 'default'} describe ${(o.kind ?? '').toLowerCase()} ${o.metadata?.name ?? ''}` };
    });
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: string;
  lastError?: string;
}

/** Prometheus targets: up, or down because their node is asleep (pure). */
export function checkTargets(cluster: Cluster, targets: readonly PromTarget[] | Error, asleep: ReadonlySet<string>): VerifyCheck {
  if (targets instanceof Error) return { name: 'Prometheus targets up', status: 'fail', detail: `cannot ask Prometheus: ${targets.message}`, hint: `is Prometheus running? kubectl -n ${cluster.spec.monitoring.namespace} get pods` };
  const asleepAddrs = new Set(cluster.spec.nodes.filter((n) => asleep.has(n.name)).flatMap((n) => [n.address, n.name]));
  const hostOf = (t: PromTarget) => {
    try {
      return new URL(t.scrapeUrl).hostname;
    } catch {
      return '';
    }
  };
  const down = targets.filter((t) => t.health !== 'up');
  const unexpected = down.filter((t) => !asleepAddrs.has(hostOf(t)) && !asleepAddrs.has(t.labels.node ?? '') && !asleepAddrs.has(t.labels.instance?.split(':')[0] ?? ''));
  if (targets.length === 0) return { name: 'Prometheus targets up', status: 'fail', detail: 'Prometheus has no active targets', hint: 'check the scrape configuration (configs/prometheus/prometheus.yml)' };
  if (unexpected.length > 0)
    return {
      name: 'Prometheus targets up',
      status: 'fail',
      detail: `${unexpected.length} of ${targets.length} down: ${unexpected.slice(0, 5).map((t) => `${t.labels.job ?? '?'} ${t.scrapeUrl}${t.lastError ? ` (${t.lastError})` : ''}`).join('; ')}`,
      hint: 'the error says why (connection refused: the exporter is not running; timeout: a firewall)',
    };
  return { name: 'Prometheus targets up', status: 'pass', detail: `${targets.length - down.length} up${down.length > 0 ? `, ${down.length} down on sleeping nodes (expected)` : ''}` };
}

/** `chronyc -c tracking`: field 5 is the system clock's offset in seconds, the last the leap status. */
export function parseChronyTracking(csv: string): { offset: number; synced: boolean } | undefined {
  const f = csv.trim().split(',');
  const v = Number(f[4]);
  return f.length > 5 && Number.isFinite(v) ? { offset: v, synced: f.at(-1) !== 'Not synchronised' } : undefined;
}

export interface VerifyDeps {
  client: ObjectClient;
  rendered: KubernetesObject[];
  pool: SshPool;
  /** HTTP GET returning status and body (fetch in production). */
  httpGet: (url: string) => Promise<{ status: number; body: string }>;
  /** Reachability of a node's SSH port (asleep nodes are skipped for SSH checks). */
  reachable: (node: string) => Promise<boolean>;
  now: () => number;
}

/**
 * Loki's /ready: on its NodePort when the file exposes one; otherwise (the default: Loki's API is
 * cluster-only) through Prometheus, whose blackbox exporter probes Loki's Service.
 */
async function checkLoki(cluster: Cluster, deps: VerifyDeps, base: (port: number) => string): Promise<VerifyCheck> {
  const m = cluster.spec.monitoring;
  const hint = `kubectl -n ${m.namespace} logs statefulset/loki`;
  if (m.loki.nodePort !== undefined) {
    const loki = await deps.httpGet(`${base(m.loki.nodePort)}/ready`).catch((e: unknown) => ({ status: 0, body: String(e) }));
    return loki.status === 200 && /ready/i.test(loki.body) ? { name: 'Loki ready', status: 'pass', detail: 'ready' } : { name: 'Loki ready', status: 'fail', detail: `/ready: ${loki.status || loki.body}`, hint };
  }
  const query = encodeURIComponent(`probe_success{job="${JOBS.probeHttp}",service="loki"}`);
  const r = await deps.httpGet(`${base(m.prometheus.nodePort)}/api/v1/query?query=${query}`).catch((e: unknown) => ({ status: 0, body: String(e) }));
  let value: string | undefined;
  try {
    value = r.status === 200 ? (JSON.parse(r.body) as { data?: { result?: Array<{ value?: [number, string] }> } }).data?.result?.[0]?.value?.[1] : undefined;
  } catch {
    value = undefined;
  }
  if (value === '1') return { name: 'Loki ready', status: 'pass', detail: 'ready (blackbox probe of its Service)' };
  return { name: 'Loki ready', status: 'fail', detail: value === undefined ? `no probe result from Prometheus (${r.status || r.body})` : 'the blackbox probe of its /ready fails', hint };
}

/** Prometheus' targets, Grafana's health and Loki's readiness, through the monitoring node's NodePorts. */
async function checkMonitoring(cluster: Cluster, deps: VerifyDeps, asleep: Set<string>): Promise<VerifyCheck[]> {
  const m = cluster.spec.monitoring;
  const monNode = cluster.spec.nodes.find((n) => n.name === m.node);
  if (!m.enabled || !monNode) return [];
  const base = (port: number) => `http://${monNode.address}:${port}`;
  const targets = await deps
    .httpGet(`${base(m.prometheus.nodePort)}/api/v1/targets?state=active`)
    .then((r) => (r.status === 200 ? ((JSON.parse(r.body) as { data: { activeTargets: PromTarget[] } }).data.activeTargets ?? []) : new Error(`HTTP ${r.status}`)))
    .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  const checks: VerifyCheck[] = [checkTargets(cluster, targets, asleep)];
  const grafana = await deps.httpGet(`${base(m.grafana.nodePort)}/api/health`).catch((e: unknown) => ({ status: 0, body: String(e) }));
  const gOk = grafana.status === 200 && /"database"\s*:\s*"ok"/.test(grafana.body);
  checks.push(gOk ? { name: 'Grafana healthy', status: 'pass', detail: 'database ok' } : { name: 'Grafana healthy', status: 'fail', detail: `/api/health: ${grafana.status || grafana.body}`, hint: `kubectl -n ${m.namespace} logs deploy/grafana` });
  checks.push(await checkLoki(cluster, deps, base));
  return checks;
}

/** chrony's offset on each awake node. */
async function checkNtp(cluster: Cluster, deps: VerifyDeps, awake: readonly string[]): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  for (const name of awake) {
    const r = await deps.pool.exec(name, 'chronyc -c tracking', 15_000).catch((e: unknown) => ({ exitCode: 1, stdout: '', stderr: String(e) }));
    const tracking = r.exitCode === 0 ? parseChronyTracking(r.stdout) : undefined;
    const offset = tracking?.offset;
    if (tracking && !tracking.synced) checks.push({ name: `NTP offset ${name}`, status: 'fail', detail: 'chrony is not synchronised', hint: `chronyc sources on ${name}: can it reach ${cluster.spec.infrastructure.ntp.server}?` });
    else if (offset === undefined) checks.push({ name: `NTP offset ${name}`, status: 'fail', detail: `chronyc: ${(r.stderr || r.stdout).trim().split('\n')[0] ?? 'no answer'}`, hint: 'run `vmstation deploy --phase host` (it installs and configures chrony)' });
    else
      checks.push(
        Math.abs(offset) < MAX_CLOCK_OFFSET_S
          ? { name: `NTP offset ${name}`, status: 'pass', detail: `${offset.toFixed(4)} s` }
          : { name: `NTP offset ${name}`, status: 'fail', detail: `${offset.toFixed(3)} s (limit ${MAX_CLOCK_OFFSET_S} s)`, hint: `chronyc sources on ${name}: is the NTP server ${cluster.spec.infrastructure.ntp.server} reachable?` },
      );
  }
  return checks;
}

/** Each awake node's log arrived on the syslog server in the last hour. */
async function checkSyslog(cluster: Cluster, deps: VerifyDeps, awake: readonly string[]): Promise<VerifyCheck[]> {
  const server = cluster.spec.infrastructure.syslog.server;
  // Files written in the last hour, one folder per sending host (the host layer's rsyslog layout).
  const r = await deps.pool.exec(server, `find ${SYSLOG_HOSTS_DIR} -mindepth 2 -maxdepth 2 -name syslog.log -mmin -60 2>/dev/null | awk -F/ '{print $(NF-1)}'`, 15_000).catch((e: unknown) => ({ exitCode: 1, stdout: '', stderr: String(e) }));
  const receiving = new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  return awake.map((name): VerifyCheck => {
    const node = cluster.spec.nodes.find((n) => n.name === name)!;
    const ok = receiving.has(name) || receiving.has(node.address) || [...receiving].some((h) => h.startsWith(`${name}.`));
    return ok
      ? { name: `syslog from ${name}`, status: 'pass', detail: `received on ${server} in the last hour` }
      : { name: `syslog from ${name}`, status: 'fail', detail: `nothing in ${SYSLOG_HOSTS_DIR}/${name}/ on ${server} in the last hour`, hint: `logger -t vmstation test on ${name}, then check rsyslog on both (systemctl status rsyslog; firewall port ${cluster.spec.infrastructure.syslog.port})` };
  });
}

export async function runVerify(cluster: Cluster, deps: VerifyDeps): Promise<VerifyReport> {
  const checks: VerifyCheck[] = [];
  const nodes = (await deps.client.list('v1', 'Node', '')) as NodeObject[];
  checks.push(...checkNodes(cluster, nodes));
  const asleep = asleepNodes(nodes);

  const live = new Map<string, KubernetesObject | undefined>();
  for (const o of deps.rendered.filter((x) => WORKLOAD_KINDS.includes(x.kind ?? ''))) {
    const ref = { apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata?.name ?? '', namespace: o.metadata?.namespace };
    live.set(`${ref.kind}/${ref.namespace ?? ''}/${ref.name}`, await deps.client.read(ref));
  }
  checks.push(...checkWorkloads(deps.rendered, live, asleep.size));
  checks.push(...(await checkMonitoring(cluster, deps, asleep)));

  const awake: string[] = [];
  for (const n of cluster.spec.nodes) {
    if (asleep.has(n.name)) checks.push({ name: `NTP offset ${n.name}`, status: 'skip', detail: 'asleep on purpose' });
    else if (await deps.reachable(n.name)) awake.push(n.name);
    else checks.push({ name: `NTP offset ${n.name}`, status: 'fail', detail: 'not reachable over SSH', hint: `wake it (vmstation power wake ${n.name}) or check it is on` });
  }
  if (cluster.spec.infrastructure.ntp.enabled) checks.push(...(await checkNtp(cluster, deps, awake)));
  if (cluster.spec.infrastructure.syslog.enabled) checks.push(...(await checkSyslog(cluster, deps, awake)));
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

export function formatVerify(report: VerifyReport): string {
  const rows = report.checks.map((c) => [c.name, c.status === 'fail' ? 'FAIL' : c.status, c.detail, c.status === 'fail' ? (c.hint ?? '') : '']);
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  return `${formatTable(['CHECK', 'STATUS', 'DETAIL', 'HINT'], rows)}\n\n${report.ok ? `verify passed (${report.checks.length} checks)` : `verify failed: ${failed} of ${report.checks.length} checks`}`;
}

/** Does the node answer on its SSH port (verify never wakes anything). */
export function probeNode(cluster: Cluster, name: string): Promise<boolean> {
  const n = cluster.spec.nodes.find((x) => x.name === name);
  return n ? tcpProbe(n.address, n.ssh.port, 1500) : Promise.resolve(false);
}
