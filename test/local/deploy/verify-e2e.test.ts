// runVerify end to end on loopback: the Kubernetes API stand-in (Nodes Ready, the rendered
// manifests applied and rolled out), a real Prometheus (its /api/v1/targets, one target up and
// one down), and HTTP stand-ins for Grafana's /api/health and Loki's /ready (neither runs here;
// named as stand-ins). NTP and syslog are off in this cluster file (they need the lab).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { ObjectClient } from '../../../src/adapters/kube/apply.js';
import { applyManifests, parseManifests } from '../../../src/deploy/manifests.js';
import { SshPool } from '../../../src/deploy/ssh-pool.js';
import { httpGet } from '../../../src/deploy/steps.js';
import { runVerify } from '../../../src/deploy/verify.js';
import { renderCluster } from '../../../src/render/index.js';
import { clusterFromText } from '../../unit/deploy/helpers.js';

// NodePorts picked at run time (free ones in 30000-32767): fixed ports collide with other runs.
async function freeNodePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 30000 + Math.floor(Math.random() * 2767);
    if (ports.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}
const [promPort, grafanaPort, lokiPort, amPort] = await freeNodePorts(4);

const cluster = clusterFromText(`apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: loop }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: cp1, address: 127.0.0.1, os: debian-12, roles: [control-plane, worker] }
  monitoring:
    prometheus: { nodePort: ${promPort} }
    grafana: { nodePort: ${grafanaPort} }
    loki: { nodePort: ${lokiPort} }
    alertmanager: { nodePort: ${amPort} }
  infrastructure:
    ntp: { enabled: false }
    syslog: { enabled: false }
  power: { enabled: false }
`);

function waitHttp(url: string, ok: (body: string) => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () =>
      httpGet(url)
        .then((r) => (r.status === 200 && ok(r.body) ? resolve() : retry()))
        .catch(retry);
    const retry = () => (Date.now() > until ? reject(new Error(`timed out waiting for ${url}`)) : setTimeout(() => void attempt(), 200));
    void attempt();
  });
}

describe('runVerify end to end (loopback)', () => {
  let standin: Standin;
  let client: ObjectClient;
  let prometheus: ChildProcess;
  let standins: http.Server[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'verify-e2e-'));

  beforeAll(async () => {
    standin = await startStandin({ nodes: [{ name: 'cp1', roles: ['control-plane', 'worker'], probe: false }] });
    const kc = path.join(dir, 'kubeconfig');
    await standin.writeKubeconfig(kc);
    const k = new KubeConfig();
    k.loadFromFile(kc);
    client = new ObjectClient(k);
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, scrape_timeout: 500ms }\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{ targets: ["127.0.0.1:${promPort}"] }]\n  - job_name: node-exporter\n    static_configs: [{ targets: ["127.0.0.1:9"] }]\n`,
    );
    prometheus = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${promPort}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`], { stdio: 'ignore' });
    // Grafana and Loki stand-ins: only the health endpoints verify asks for.
    const serve = (port: number, route: string, body: string) =>
      new Promise<http.Server>((resolve) => {
        const s = http.createServer((req, res) => (req.url === route ? res.writeHead(200).end(body) : res.writeHead(404).end()));
        s.listen(port, '127.0.0.1', () => resolve(s));
      });
    standins = [await serve(grafanaPort!, '/api/health', '{"commit":"standin","database":"ok","version":"12.2.1"}'), await serve(lokiPort!, '/ready', 'ready\n')];
    const files = renderCluster(cluster).filter((a) => a.path.startsWith('manifests/'));
    await applyManifests(cluster, files, { client, secrets: () => Promise.resolve('pw'), sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))), now: Date.now, pollMs: 20, rolloutTimeoutMs: 20_000 });
    // Both targets scraped at least once (health no longer "unknown").
    await waitHttp(`http://127.0.0.1:${promPort}/api/v1/targets`, (b) => !b.includes('"health":"unknown"') && b.includes('"health":"up"'));
  }, 60_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    for (const s of standins) s.close();
    await standin?.stop();
  });

  it('passes nodes, rollouts, Grafana and Loki; fails the down target naming it', async () => {
    const rendered = parseManifests(renderCluster(cluster).filter((a) => a.path.startsWith('manifests/'))).map((o) => o.object);
    const report = await runVerify(cluster, { client, rendered, pool: new SshPool(cluster), httpGet, reachable: () => Promise.resolve(true), now: Date.now });
    const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(by['node cp1 Ready']).toMatchObject({ status: 'pass' });
    const rollouts = report.checks.filter((c) => c.name.endsWith('rolled out'));
    expect(rollouts.length).toBeGreaterThan(4);
    expect(rollouts.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(by['Grafana healthy']).toMatchObject({ status: 'pass', detail: 'database ok' });
    expect(by['Loki ready']).toMatchObject({ status: 'pass' });
    expect(by['Prometheus targets up']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^1 of 2 down: node-exporter http:\/\/127\.0\.0\.1:9\/metrics \(.*refused/) });
    expect(report.ok).toBe(false);
  }, 60_000);
});
