// Process entry of the Kubernetes API stand-in, for `lab up`:
//   node --import tsx lab/kube-apiserver-standin/main.ts --cluster-file lab/vmstation.lab.yaml \
//     --port 0 --kubeconfig-out STATE/kubeconfig --pid-file STATE/standin.pid --info-file STATE/standin.json
// Logs JSON lines to stdout; SIGTERM or SIGINT stops it (and removes the pid file).
import { rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startStandin } from './index.js';
import { readNodes } from './nodes-file.js';

const USAGE = `usage: main.ts [--port N] [--host 127.0.0.1] [--cluster-file FILE | --nodes-file FILE]
  [--ssh-port N] [--plain-http] [--no-update-managers] [--kubeconfig-out FILE] [--pid-file FILE] [--info-file FILE] [--git-version v1.35.4]
  [--probe-interval-ms 1000] [--not-ready-grace-ms 3000] [--heartbeat-interval-ms 10000] [--node-status-report-ms 300000] [--watch-window 10000]`;

function log(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'kube-apiserver-standin', msg, ...fields })}\n`);
}

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'cluster-file': { type: 'string' },
      'nodes-file': { type: 'string' },
      'ssh-port': { type: 'string' },
      'kubeconfig-out': { type: 'string' },
      'pid-file': { type: 'string' },
      'info-file': { type: 'string' },
      'git-version': { type: 'string' },
      'probe-interval-ms': { type: 'string' },
      'not-ready-grace-ms': { type: 'string' },
      'heartbeat-interval-ms': { type: 'string' },
      'node-status-report-ms': { type: 'string' },
      'watch-window': { type: 'string' },
      'plain-http': { type: 'boolean' },
      'no-update-managers': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const nodes = await readNodes({ clusterFile: values['cluster-file'], nodesFile: values['nodes-file'], sshPort: num(values['ssh-port'], 'ssh-port') });
  const kubelet: Record<string, number> = {};
  const probe = num(values['probe-interval-ms'], 'probe-interval-ms');
  const grace = num(values['not-ready-grace-ms'], 'not-ready-grace-ms');
  const heartbeat = num(values['heartbeat-interval-ms'], 'heartbeat-interval-ms');
  const report = num(values['node-status-report-ms'], 'node-status-report-ms');
  if (report !== undefined) kubelet['nodeStatusReportMs'] = report;
  if (probe !== undefined) kubelet['probeIntervalMs'] = probe;
  if (grace !== undefined) kubelet['notReadyGraceMs'] = grace;
  if (heartbeat !== undefined) kubelet['heartbeatIntervalMs'] = heartbeat;
  const watchWindow = num(values['watch-window'], 'watch-window');
  const standin = await startStandin({
    port: num(values.port, 'port') ?? 0,
    tls: values['plain-http'] !== true,
    trackUpdateManagers: values['no-update-managers'] !== true,
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values['git-version'] !== undefined ? { gitVersion: values['git-version'] } : {}),
    ...(watchWindow !== undefined ? { watchWindow } : {}),
    nodes,
    kubelet,
  });
  const kubeconfigOut = values['kubeconfig-out'];
  const pidFile = values['pid-file'];
  const infoFile = values['info-file'];
  if (kubeconfigOut !== undefined) await standin.writeKubeconfig(kubeconfigOut);
  if (pidFile !== undefined) await writeFile(pidFile, `${process.pid}\n`);
  if (infoFile !== undefined) await writeFile(infoFile, `${JSON.stringify({ url: standin.url, port: standin.port, pid: process.pid }, null, 2)}\n`);
  log('listening', { url: standin.url, pid: process.pid, nodes: nodes.map((n) => n.name), kubeconfig: kubeconfigOut ?? null });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    void standin
      .stop()
      .then(() => (pidFile !== undefined ? rm(pidFile, { force: true }) : undefined))
      .then(() => (infoFile !== undefined ? rm(infoFile, { force: true }) : undefined))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  log('failed to start', { error: err instanceof Error ? err.message : String(err) });
  console.error(`kube-apiserver-standin: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(1);
});
