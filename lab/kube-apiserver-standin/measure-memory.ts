// Measures the stand-in with a large cluster: N nodes (kubelet emulator without probes), M pods
// created through the object API, bound by the binder and started by the kubelet emulator; then
// a full list over HTTPS and a watch. Prints JSON figures (RSS, heap, timings).
//   node --import tsx lab/kube-apiserver-standin/measure-memory.ts [--nodes 1000] [--pods 30000]
import { execFile } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { startStandin } from './index.js';

const { values } = parseArgs({ options: { nodes: { type: 'string' }, pods: { type: 'string' }, 'no-update-managers': { type: 'boolean' } } });
const nodeCount = Number(values.nodes ?? 1000);
const podCount = Number(values.pods ?? 30000);

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

const run = promisify(execFile);

/** Fetches with curl in another process, so the client's memory is not counted as the server's. */
async function get(url: string, caFile: string): Promise<{ bytes: number; ms: number }> {
  const { stdout } = await run('curl', ['-sS', '--cacert', caFile, '-H', 'Accept: application/json', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', url], { maxBuffer: 1024 * 1024 });
  const [bytes, seconds] = stdout.trim().split(' ');
  return { bytes: Number(bytes), ms: Math.round(Number(seconds) * 1000) };
}

async function main(): Promise<void> {
  const base = process.memoryUsage();
  const trackUpdateManagers = process.argv.includes('--no-update-managers') ? false : true;
  const standin = await startStandin({ kubelet: { heartbeatIntervalMs: 10_000 }, trackUpdateManagers });
  const t0 = performance.now();
  for (let i = 0; i < nodeCount; i++) {
    standin.kubelet.addNode({ name: `node-${String(i).padStart(4, '0')}`, roles: ['worker'], probe: false, labels: { 'vmstation.io/pool': `pool-${i % 10}` } });
  }
  const nodesMs = Math.round(performance.now() - t0);
  const pods = standin.type('', 'v1', 'pods');
  const namespaces = standin.type('', 'v1', 'namespaces');
  for (let n = 0; n < 30; n++) standin.ops.create(namespaces, undefined, { metadata: { name: `team-${n}` } });
  const t1 = performance.now();
  for (let i = 0; i < podCount; i++) {
    const ns = `team-${i % 30}`;
    standin.ops.create(
      pods,
      ns,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `app-${i}`,
          labels: { app: `app-${i % 300}`, 'pod-template-hash': 'abc123' },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${i % 300}-abc123`, uid: `00000000-0000-0000-0000-${String(i % 300).padStart(12, '0')}`, controller: true, blockOwnerDeletion: true }],
        },
        spec: {
          nodeSelector: { 'vmstation.io/pool': `pool-${i % 10}` },
          containers: [{ name: 'app', image: 'registry.example/app:1.0', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '10m', memory: '16Mi' } }, env: [{ name: 'MODE', value: 'prod' }] }],
        },
      },
      { fieldManager: 'kube-controller-manager' },
    );
    // Let the binder and kubelet emulator keep up, as they would with a real stream of creates.
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  const createMs = Math.round(performance.now() - t1);
  const t2 = performance.now();
  for (;;) {
    const running = standin.ops.list(pods, undefined, { fieldSelector: [{ field: 'status.phase', op: 'eq', value: 'Running' }], limit: 1 }).remainingItemCount ?? 0;
    if (running + 1 >= podCount) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const settleMs = Math.round(performance.now() - t2);
  global.gc?.();
  const loaded = process.memoryUsage();
  const dir = await mkdtemp(join(tmpdir(), 'standin-measure-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, standin.caCert ?? '');
  const list = await get(`${standin.url}/api/v1/pods`, caFile);
  const nodeList = await get(`${standin.url}/api/v1/nodes`, caFile);
  const afterList = process.memoryUsage();
  const byNode = await get(`${standin.url}/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-0001`, caFile);
  const podsOnNode = standin.ops.list(pods, undefined, { fieldSelector: [{ field: 'spec.nodeName', op: 'eq', value: 'node-0001' }] }).items.length;
  await standin.stop();
  await rm(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify(
      {
        nodes: nodeCount,
        trackUpdateManagers,
        pods: podCount,
        resourceVersion: standin.ops.store.currentRevision(),
        timingsMs: { registerNodes: nodesMs, createPods: createMs, bindAndRunAllPods: settleMs, listAllPodsHttps: list.ms, listNodesHttps: nodeList.ms, listPodsOfOneNode: byNode.ms },
        listBytes: { pods: list.bytes, nodes: nodeList.bytes },
        podsOnNode0001: podsOnNode,
        memoryMB: {
          rssBefore: mb(base.rss),
          rssLoaded: mb(loaded.rss),
          heapUsedLoaded: mb(loaded.heapUsed),
          rssAfterFullLists: mb(afterList.rss),
        },
      },
      null,
      2,
    ),
  );
}

void main();
