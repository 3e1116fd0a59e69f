// The Kubernetes API stand-in against the real lab hosts, checked with the real kubectl: the
// kubelet emulator keeps each host's Node Ready from its real sshd; a host suspended by its own
// suspend command turns NotReady, a pod needing it is Unschedulable, and a real magic packet
// brings it back: Ready (new bootID), the pod bound and Running.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../kube-apiserver-standin/index.js';
import { nodesFromCluster } from '../kube-apiserver-standin/nodes-file.js';
import { labFixture, labNode, sendMagicPacket, ssh, waitFor, waitForPower, waitForSsh } from './lab-fixture.js';

const NODE = 'storagenodet3500';
let standin: Standin;
let dir: string;
let kubeconfig: string;

function kubectl(args: string[], cfg = kubeconfig): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', cfg, ...args], { env: { ...process.env, KUBECACHEDIR: join(dir, 'cache'), HOME: dir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function suspendCommand(node: string): string {
  const doc = parse(readFileSync(labFixture().clusterFile, 'utf8')) as { spec: { nodes: Array<{ name: string; power?: { suspendCommand?: string } }> } };
  const cmd = doc.spec.nodes.find((n) => n.name === node)?.power?.suspendCommand;
  if (cmd === undefined) throw new Error(`no suspendCommand for ${node} in the lab cluster file`);
  return cmd;
}

beforeAll(async () => {
  const lab = labFixture();
  dir = await mkdtemp(join(tmpdir(), 'kube-standin-lab-'));
  kubeconfig = join(dir, 'kubeconfig');
  standin = await startStandin({
    nodes: nodesFromCluster(parse(readFileSync(lab.clusterFile, 'utf8'))),
    kubelet: { probeIntervalMs: 250, notReadyGraceMs: 1500 },
  });
  await standin.writeKubeconfig(kubeconfig);
});
afterAll(async () => {
  await standin?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the stand-in with the lab hosts', () => {
  it('shows every lab host Ready with its lab address', async () => {
    const lab = labFixture();
    await waitFor('all Ready', async () => {
      const r = await kubectl(['get', 'nodes', '--no-headers']);
      return r.stdout.trim().split('\n').every((l) => /\sReady\s/.test(l)) && r.stdout.trim().split('\n').length === lab.nodes.length ? true : undefined;
    }, 15_000);
    const wide = await kubectl(['get', 'nodes', '-o', 'wide']);
    for (const n of lab.nodes) expect(wide.stdout).toMatch(new RegExp(`${n.name}\\s+Ready\\s+\\S+\\s+\\S+\\s+v1\\.35\\.4\\s+${n.address.replace(/\./g, '\\.')}\\s`));
    if (lab.kubeconfig !== null) {
      // The stand-in `lab up` started answers too.
      const r = await kubectl(['get', 'nodes', '-o', 'name'], lab.kubeconfig);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n').sort()).toEqual(lab.nodes.map((n) => `node/${n.name}`).sort());
    }
  });

  it('turns a suspended host NotReady, keeps a pod for it pending, and binds it after a real magic packet', async () => {
    const bootBefore = (await kubectl(['get', 'node', NODE, '-o', 'jsonpath={.status.nodeInfo.bootID}'])).stdout;
    const r = await ssh(NODE, suspendCommand(NODE));
    expect(r.code, r.stderr).toBe(0);
    await waitForPower(NODE, 'asleep', 30_000);
    await waitFor('NotReady', async () => ((await kubectl(['get', 'node', NODE, '--no-headers'])).stdout.includes('NotReady') ? true : undefined), 10_000);

    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'transcode', namespace: 'default' }, spec: { nodeSelector: { 'vmstation.io/storage': 'true' }, containers: [{ name: 'c', image: 'jellyfin/jellyfin' }] } };
    standin.create(pod);
    const pending = await waitFor('Unschedulable', async () => {
      const out = await kubectl(['get', 'pod', 'transcode', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}']);
      return out.stdout === 'Unschedulable' ? true : undefined;
    }, 10_000);
    expect(pending).toBe(true);

    await sendMagicPacket(labNode(NODE).mac);
    const sshMs = await waitForSsh(NODE, 60_000);
    const readyAt = Date.now();
    await waitFor('Ready', async () => ((await kubectl(['get', 'node', NODE, '--no-headers'])).stdout.match(/\sReady\s/) ? true : undefined), 10_000);
    console.log(`[kube-standin] ${NODE}: SSH back ${sshMs} ms after the magic packet, Node Ready ${Date.now() - readyAt} ms after SSH answered (kubectl polling included)`);
    expect((await kubectl(['get', 'node', NODE, '-o', 'jsonpath={.status.nodeInfo.bootID}'])).stdout).not.toBe(bootBefore);
    await waitFor('transcode Running on the woken host', async () => {
      const out = await kubectl(['get', 'pod', 'transcode', '-o', 'jsonpath={.spec.nodeName} {.status.phase}']);
      return out.stdout === `${NODE} Running` ? true : undefined;
    }, 10_000);
  });
});
