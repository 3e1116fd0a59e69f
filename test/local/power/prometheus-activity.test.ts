// Activity from a real Prometheus scraping a real node_exporter on loopback: the controller's
// queries return CPU and network per node, matched by the node's address.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateText } from '../../../src/config/validate.js';
import { CPU_QUERY, prometheusActivity } from '../../../src/power/controller/prometheus-activity.js';
import { eventually } from './loopback-lab.js';
import { freePort } from '../../helpers/net.js';

const CLUSTER = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: activity }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: masternode, address: 127.0.0.63, os: debian-12, roles: [control-plane] }
    - { name: worker, address: 127.0.0.1, mac: "02:00:7f:00:00:01", os: debian-12, roles: [worker], power: { autoSleep: true } }
`;

describe('activity from Prometheus', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  let promUrl: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-prom-activity-'));
    const exporterPort = await freePort();
    const promPort = await freePort();
    children.push(spawn('/usr/bin/prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${exporterPort}`, '--collector.disable-defaults', '--collector.cpu', '--collector.netdev'], { stdio: 'ignore' }));
    writeFileSync(path.join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: node\n    static_configs: [{ targets: ['127.0.0.1:${exporterPort}'] }]\n`);
    children.push(spawn('/usr/bin/prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' }));
    promUrl = `http://127.0.0.1:${promPort}`;
    // rate() needs two samples in its window.
    await eventually('Prometheus has a CPU rate', async () => {
      const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(CPU_QUERY)}`);
      const body = (await r.json()) as { data?: { result?: unknown[] } };
      return (body.data?.result?.length ?? 0) > 0;
    }, 60_000, 500);
  });
  afterAll(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.pid) {
        const exited = new Promise((r) => c.once('exit', r));
        process.kill(c.pid, 'SIGTERM');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns CPU fraction and network bytes per second for the node at the scraped address', async () => {
    const cluster = validateText({ file: 'activity.yaml', text: CLUSTER }).cluster!;
    const activity = await prometheusActivity(cluster, promUrl).fetch();
    expect(Object.keys(activity)).toEqual(['worker']);
    const w = activity['worker']!;
    expect(w.cpuFraction).toBeGreaterThanOrEqual(0);
    expect(w.cpuFraction).toBeLessThanOrEqual(1);
    expect(w.networkBytesPerSecond).toBeGreaterThanOrEqual(0);
  });

  it('fails with the Prometheus error when a query is rejected', async () => {
    const cluster = validateText({ file: 'activity.yaml', text: CLUSTER }).cluster!;
    await expect(prometheusActivity(cluster, `${promUrl}/nonexistent-prefix`).fetch()).rejects.toThrow();
  });
});
