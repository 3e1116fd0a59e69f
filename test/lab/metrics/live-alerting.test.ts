// The rendered metrics stack, live: the real Prometheus, Alertmanager, node-exporter and blackbox
// exporter run as plain processes on loopback addresses with the rendered configs. The only test
// overlay is the one the issue allows: Kubernetes service discovery becomes static targets (with
// the meta labels discovery would set, so relabeling runs unchanged). Service names resolve to
// loopback through a private /etc/hosts in Prometheus' own mount namespace (the config stays
// byte-for-byte as rendered). A tiny HTTP exporter in the test serves the power manager's
// vmstation_node_power_state.
//
// Proves: targets come up; with node-exporter stopped on an awake node, NodeExporterDown reaches
// Alertmanager; with node-exporter stopped on a node the power manager reports asleep, it does not.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POWER_STATES } from '../../../src/config/schema.js';
import { POWER_STATE_METRIC } from '../../../src/render/k8s/common.js';
import { nodeExporterCollectorArgs } from '../../../src/render/metrics/exporters.js';
import { renderMetrics } from '../../../src/render/metrics/index.js';
import { PORTS } from '../../../src/render/metrics/names.js';
import { prometheusArgs } from '../../../src/render/metrics/prometheus.js';
import { loadCluster, swapKubernetesSd, tempDir, writeTree } from '../../unit/metrics/support.js';

const cluster = loadCluster(path.join(import.meta.dirname, 'fixtures/loopback.yaml'));
const MON = '127.78.0.1';
const NODES = { mon: '127.78.0.1', 'worker-awake': '127.78.0.2', 'worker-asleep': '127.78.0.3' } as const;
const POWER: Record<string, string> = { mon: 'awake', 'worker-awake': 'awake', 'worker-asleep': 'asleep' };
const PROM = `http://${MON}:${PORTS.prometheus}`;
const AM = `http://${MON}:${PORTS.alertmanager}`;

let dir = '';
const procs = new Map<string, ChildProcess>();
let powerExporter: Server | undefined;

function start(name: string, cmd: string, args: string[]): ChildProcess {
  const log = createWriteStream(path.join(dir, `${name}.log`));
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  procs.set(name, child);
  return child;
}

async function stop(name: string): Promise<void> {
  const child = procs.get(name);
  if (!child?.pid || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  procs.delete(name);
}

/** Fails early and clearly when a fixed port of the rendered config is taken on our loopback address. */
async function assertFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err) => reject(new Error(`${host}:${port} is in use (${(err as NodeJS.ErrnoException).code}); the live metrics test needs it free`)));
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

interface Target {
  labels: Record<string, string>;
  health: string;
}
interface PromAlert {
  labels: Record<string, string>;
  state: string;
}
interface AmAlert {
  labels: Record<string, string>;
  status: { state: string; inhibitedBy?: string[] };
}

async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const r = await getJson<{ data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }>(`${PROM}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return r.data.result;
}

beforeAll(async () => {
  dir = tempDir('metrics-live');
  const tree = writeTree(path.join(dir, 'render'), renderMetrics(cluster));
  const promDir = path.join(tree, 'configs/prometheus');

  for (const host of Object.values(NODES)) await assertFree(host, PORTS.nodeExporter);
  for (const port of [PORTS.prometheus, PORTS.alertmanager, PORTS.blackbox, 8080]) await assertFree(MON, port);

  // The power manager stand-in: serves the one metric the rules read.
  powerExporter = createServer((_req, res) => {
    const lines = [`# TYPE ${POWER_STATE_METRIC} gauge`];
    for (const node of Object.keys(NODES)) for (const s of POWER_STATES) lines.push(`${POWER_STATE_METRIC}{node="${node}",state="${s}"} ${POWER[node] === s ? 1 : 0}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
  });
  await new Promise<void>((r) => powerExporter!.listen(8080, MON, () => r()));

  // The overlay: discovery -> static targets. Only the power manager has something to discover here.
  const overlay = swapKubernetesSd(readFileSync(path.join(promDir, 'prometheus.yml'), 'utf8'), {
    'vmstation-power-manager': [
      {
        targets: [`${MON}:8080`],
        labels: { __meta_kubernetes_service_name: 'vmstation-power-manager', __meta_kubernetes_namespace: 'vmstation-system', __meta_kubernetes_pod_name: 'vmstation-power-manager-0', __meta_kubernetes_endpointslice_endpoint_node_name: 'mon' },
      },
    ],
  });
  writeFileSync(path.join(promDir, 'prometheus.live.yml'), overlay);
  const hosts = path.join(dir, 'hosts');
  writeFileSync(hosts, `127.0.0.1 localhost\n${['prometheus', 'alertmanager', 'blackbox-exporter'].map((s) => `${MON} ${s}.monitoring.svc.cluster.local`).join('\n')}\n`);

  for (const [node, host] of Object.entries(NODES)) {
    start(`node-exporter-${node}`, 'prometheus-node-exporter', [`--web.listen-address=${host}:${PORTS.nodeExporter}`, ...nodeExporterCollectorArgs()]);
  }
  start('blackbox', 'prometheus-blackbox-exporter', [`--config.file=${path.join(tree, 'configs/blackbox/blackbox.yml')}`, `--web.listen-address=${MON}:${PORTS.blackbox}`]);
  mkdirSync(path.join(dir, 'am-data'));
  start('alertmanager', 'prometheus-alertmanager', [
    `--config.file=${path.join(tree, 'configs/alertmanager/alertmanager.yml')}`,
    `--storage.path=${path.join(dir, 'am-data')}`,
    `--web.listen-address=${MON}:${PORTS.alertmanager}`,
    '--cluster.listen-address=',
  ]);
  // Prometheus sends a firing alert once, then only every minute: start it when its peers are up.
  await waitFor('Alertmanager ready', 30_000, async () => ((await fetch(`${AM}/-/ready`)).ok ? true : undefined));
  await waitFor('blackbox exporter ready', 30_000, async () => ((await fetch(`http://${MON}:${PORTS.blackbox}/-/healthy`)).ok ? true : undefined));
  for (const host of Object.values(NODES)) await waitFor(`node-exporter on ${host}`, 30_000, async () => ((await fetch(`http://${host}:${PORTS.nodeExporter}/metrics`)).ok ? true : undefined));
  // The rendered flags, with only the file paths and the listen address pointed at this machine.
  const args = prometheusArgs(cluster).map((a) =>
    a.startsWith('--config.file=')
      ? `--config.file=${path.join(promDir, 'prometheus.live.yml')}`
      : a.startsWith('--storage.tsdb.path=')
        ? `--storage.tsdb.path=${path.join(dir, 'prom-data')}`
        : a.startsWith('--web.listen-address=')
          ? `--web.listen-address=${MON}:${PORTS.prometheus}`
          : a,
  );
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  start('prometheus', 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount --bind ${hosts} /etc/hosts && exec prometheus ${quoted}`]);
}, 60_000);

afterAll(async () => {
  for (const name of [...procs.keys()]) await stop(name);
  await new Promise<void>((r) => (powerExporter ? powerExporter.close(() => r()) : r()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('live metrics stack on loopback', () => {
  it('brings every local target up: node-exporters, power manager, blackbox probes, Alertmanager, Prometheus', async () => {
    const wanted = ['node-exporter', 'vmstation-power-manager', 'blackbox-exporter', 'alertmanager', 'prometheus', 'blackbox-icmp'];
    const targets = await waitFor('targets up', 45_000, async () => {
      const r = await getJson<{ data: { activeTargets: Target[] } }>(`${PROM}/api/v1/targets?state=active`);
      const up = r.data.activeTargets.filter((t) => t.health === 'up');
      const ok = wanted.every((job) => up.some((t) => t.labels.job === job)) && up.filter((t) => t.labels.job === 'node-exporter').length === 3;
      return ok ? r.data.activeTargets : undefined;
    });
    const nodeExporters = targets.filter((t) => t.labels.job === 'node-exporter').map((t) => [t.labels.node, t.labels.role, t.labels.os, t.health]);
    expect(nodeExporters.sort()).toEqual([
      ['mon', 'control-plane', 'debian-12', 'up'],
      ['worker-asleep', 'worker', 'rhel-10', 'up'],
      ['worker-awake', 'worker', 'debian-12', 'up'],
    ]);
    // ICMP probes of every node succeed through the real blackbox exporter.
    const icmp = await waitFor('ICMP probes', 20_000, async () => {
      const r = await query('probe_success{job="blackbox-icmp"}');
      return r.length === 3 && r.every((s) => s.value[1] === '1') ? r : undefined;
    });
    expect(icmp.map((s) => s.metric.node).sort()).toEqual(['mon', 'worker-asleep', 'worker-awake']);
    const state = await query('vmstation_node_power_state{state="asleep"} == 1');
    expect(state.map((s) => s.metric.node)).toEqual(['worker-asleep']);
  });

  it('node-exporter stopped on an awake node -> NodeExporterDown reaches Alertmanager; on the asleep node -> no alert', async () => {
    await stop('node-exporter-worker-awake');
    await stop('node-exporter-worker-asleep');
    const stoppedAt = Date.now();

    const fired = await waitFor('NodeExporterDown for worker-awake in Alertmanager', 100_000, async () => {
      const alerts = await getJson<AmAlert[]>(`${AM}/api/v2/alerts`);
      return alerts.find((a) => a.labels.alertname === 'NodeExporterDown' && a.labels.node === 'worker-awake');
    });
    expect(fired.labels).toMatchObject({ severity: 'critical', job: 'node-exporter', role: 'worker', os: 'debian-12' });
    expect(fired.status.state).toBe('active');
    // The rule's `for: 1m` held: it did not fire before a minute of downtime.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(55_000);

    // The asleep node is just as down...
    const down = await query('up{job="node-exporter"} == 0');
    expect(down.map((s) => s.metric.node).sort()).toEqual(['worker-asleep', 'worker-awake']);
    // ...but neither Alertmanager nor Prometheus (not even pending) has an alert for it.
    const amAlerts = await getJson<AmAlert[]>(`${AM}/api/v2/alerts`);
    expect(amAlerts.filter((a) => a.labels.node === 'worker-asleep' && a.labels.alertname === 'NodeExporterDown')).toEqual([]);
    const promAlerts = (await getJson<{ data: { alerts: Array<PromAlert & { value: string }> } }>(`${PROM}/api/v1/alerts`)).data.alerts;
    const sleepAware = ['NodeExporterDown', 'NodeUnreachable', 'BlackboxProbeFailed', 'NodeClockNotSynchronising', 'NTPNotSynchronized'];
    expect(promAlerts.filter((a) => a.labels.node === 'worker-asleep' && sleepAware.includes(a.labels.alertname!))).toEqual([]);
    expect(promAlerts.filter((a) => a.labels.alertname === 'NodeExporterDown').map((a) => [a.labels.node, a.state])).toEqual([['worker-awake', 'firing']]);
    // The always-firing Watchdog arrived too (Prometheus resends every minute, so by now it has).
    const watchdog = (await getJson<AmAlert[]>(`${AM}/api/v2/alerts`)).find((a) => a.labels.alertname === 'Watchdog');
    expect(watchdog?.labels).toMatchObject({ severity: 'none', cluster: 'metrics-live' });
    // The share of node-exporter targets down counts the awake node only: 1 of 2, not 2 of 3.
    const share = promAlerts.find((a) => a.labels.alertname === 'PrometheusTargetsDown' && a.labels.job === 'node-exporter');
    expect(Number(share?.value)).toBeCloseTo(50, 5);
  }, 150_000);

  it('Alertmanager inhibits the other alerts of a node that is down, not those of a healthy node', async () => {
    // Two alerts Prometheus could send: the same warning for the down node and for a healthy one.
    const endsAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const body = ['worker-awake', 'mon'].map((node) => ({
      labels: { alertname: 'HighNodeCPU', severity: 'warning', node, cluster: 'metrics-live' },
      annotations: { summary: `CPU on ${node} above 85 %` },
      endsAt,
    }));
    const res = await fetch(`${AM}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.ok).toBe(true);
    const byNode = await waitFor('inhibition evaluated', 20_000, async () => {
      const alerts = await getJson<AmAlert[]>(`${AM}/api/v2/alerts?filter=${encodeURIComponent('alertname="HighNodeCPU"')}`);
      const m = new Map(alerts.map((a) => [a.labels.node, a.status]));
      return m.get('worker-awake')?.state === 'suppressed' ? m : undefined;
    });
    expect(byNode.get('worker-awake')!.inhibitedBy!.length).toBeGreaterThan(0);
    expect(byNode.get('mon')).toMatchObject({ state: 'active', inhibitedBy: [] });
  });
});
