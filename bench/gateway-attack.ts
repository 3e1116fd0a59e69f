// The wake gateway's memory under the attack of issue #17: clients that each send 1.1 MiB to a
// gateway port whose app does not answer (its node asleep) and hang up. Before the gateway capped
// its buffers and connections, 400 such clients took the controller from 100 to 543 MiB (pod limit
// 512Mi). Measured on the compiled `vmstation power controller` process against the Kubernetes API
// stand-in, all on loopback:
//  1. 400 clients on one app (more than its 256-connection cap);
//  2. 300 clients on each of two apps (600, more than the 512-connection overall cap).
// Printed: RSS before, peak RSS while the clients are held (paused at the 64 KiB wait buffer),
// peak RSS after the gateway read the held clients to their end, and how the clients were counted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startStandin } from '../lab/kube-apiserver-standin/index.js';
import { validateText } from '../src/config/validate.js';
import { DEFAULT_GATEWAY_LIMITS } from '../src/power/gateway/gateway.js';
import { freePort } from '../test/helpers/net.js';
import { report } from './_util.js';
import { mib, resetPeakRss, rssOf, sleep, startControllerProcess, until, type ControllerProcess } from './_controller-process.js';

const PAYLOAD = Buffer.alloc(Math.round(1.1 * 1024 * 1024), 0x61);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vmstation-bench-gateway-'));

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function counted(url: string, apps: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const outcome of ['client-gone', 'refused', 'overflow', 'timeout'])
    for (const app of apps) out[outcome] = (out[outcome] ?? 0) + (await metric(url, `vmstation_gateway_connections_total{app="${app}",outcome="${outcome}"}`));
  return out;
}

/** `clients` connections to `port`, each sending PAYLOAD and hanging up once it is in the kernel. */
async function attack(port: number, clients: number): Promise<void> {
  const sockets = await Promise.all(
    Array.from({ length: clients }, () =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', () => resolve(s)); // refused: reset
        s.on('finish', () => s.destroy());
      }),
    ),
  );
  for (const s of sockets) if (!s.destroyed) s.end(PAYLOAD);
}

const standin = await startStandin({ nodes: [{ name: 'masternode', probe: false }, { name: 'storagenodet3500', address: '127.0.0.61', probe: false }] });
const kubeconfig = path.join(tmp, 'kubeconfig');
writeFileSync(kubeconfig, standin.kubeconfig());
const apps = ['jellyfin', 'photos'] as const;
const ports = await Promise.all(apps.map(() => freePort('127.0.0.1')));
// Nothing listens on the NodePorts: every connection waits, as for a sleeping node.
const text = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: bench }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: masternode, address: 127.0.0.63, os: debian-12, roles: [control-plane] }
    - { name: storagenodet3500, address: 127.0.0.61, mac: "02:00:7f:00:00:3d", os: debian-12, roles: [worker], power: { autoSleep: true } }
  apps:
${apps.map((name, i) => `    - { name: ${name}, node: storagenodet3500, nodePort: ${30096 + i}, gatewayPort: ${ports[i]}, wakeOnRequest: true }`).join('\n')}
`;
const validated = validateText({ file: 'bench.yaml', text });
if (!validated.cluster) throw new Error(`bench cluster file invalid: ${JSON.stringify(validated.problems)}`);
const clusterFile = path.join(tmp, 'bench.yaml');
writeFileSync(clusterFile, text);
const limits = DEFAULT_GATEWAY_LIMITS;
report('wait buffer / caps per app, overall', `${limits.waitBufferBytes / 1024} KiB / ${limits.maxConnectionsPerApp}, ${limits.maxConnections}`);

/** One attack on a fresh controller process (V8 keeps the heap it grew, so runs would add up). */
async function run(label: string, targets: Array<{ port: number; clients: number }>): Promise<void> {
  const ctl = await startControllerProcess(tmp, clusterFile, kubeconfig, 'bench-gateway');
  try {
    await measure(ctl, label, targets);
  } finally {
    await ctl.stop();
  }
}

async function measure(ctl: ControllerProcess, label: string, targets: Array<{ port: number; clients: number }>): Promise<void> {
  await sleep(5_000);
  const before = rssOf(ctl.pid).rss;
  const already = await counted(ctl.url, apps);
  resetPeakRss(ctl.pid);
  const t0 = Date.now();
  await Promise.all(targets.map((t) => attack(t.port, t.clients)));
  // Held: paused at the wait buffer until the grace period ends.
  await sleep(Math.max(0, limits.pausedGraceMs - 1_000 - (Date.now() - t0)));
  const held = rssOf(ctl.pid).hwm;
  const total = targets.reduce((n, t) => n + t.clients, 0);
  const after = await until(
    'every client counted',
    async () => {
      const c = await counted(ctl.url, apps);
      const sum = Object.keys(c).reduce((n, k) => n + (c[k] ?? 0) - (already[k] ?? 0), 0);
      return sum === total ? c : undefined;
    },
    120_000,
    250,
  );
  const seconds = (Date.now() - t0) / 1000;
  const peak = rssOf(ctl.pid).hwm;
  const delta = (k: string) => (after[k] ?? 0) - (already[k] ?? 0);
  console.log(`--- ${label}`);
  report('  controller RSS before', mib(before));
  report('  peak RSS while the clients are held', `${mib(held)} (+${mib(held - before)})`);
  report('  peak RSS after reading them to their end', `${mib(peak)} (+${mib(peak - before)})`, '< 512 MiB pod limit', peak < 512 * 1024 * 1024);
  report('  counted client-gone / refused / overflow / timeout', `${delta('client-gone')} / ${delta('refused')} / ${delta('overflow')} / ${delta('timeout')}`);
  report('  all counted after', `${seconds.toFixed(1)} s`);
}

try {
  await run('400 clients x 1.1 MiB on one app', [{ port: ports[0]!, clients: 400 }]);
  await run('300 clients x 1.1 MiB on each of two apps', ports.map((port) => ({ port, clients: 300 })));
} finally {
  await standin.stop();
}
