// The lab's Kubernetes API stand-in (named as one: no kube-apiserver runs here) through the real
// kubectl and the lab's kubeconfig: its kubelet emulator follows the hosts' real power state.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../run.js';
import { labFixture, labNode, sendMagicPacket, ssh, waitFor, waitForPower, waitForSsh, ensureAllAwake } from './lab-fixture.js';

const NODE = 'storagenodet3500';

async function kubectl(args: string[]): Promise<string> {
  const lab = labFixture();
  if (!lab.kubeconfig) throw new Error('the lab has no kubeconfig: lab/kube-apiserver-standin is missing');
  // A fresh cache: the kubectl dispatcher picks its client by the server version it cached.
  const r = await run('kubectl', ['--kubeconfig', lab.kubeconfig, ...args], { env: { ...process.env, KUBECACHEDIR: mkdtempSync(join(tmpdir(), 'lab-kubecache-')) }, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const readiness = async (): Promise<Record<string, string>> => {
  const list = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] };
  return Object.fromEntries(list.items.map((n) => [n.metadata.name, n.status.conditions.find((c) => c.type === 'Ready')?.status ?? '?']));
};

describe('Kubernetes API stand-in on the lab', () => {
  beforeAll(() => ensureAllAwake());

  it('lists the three lab hosts as Ready nodes with their lab addresses (kubectl get nodes -o wide)', async () => {
    const lab = labFixture();
    expect(lab.kubeApiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await waitFor('every node Ready', async () => {
      const r = await readiness();
      return Object.keys(r).length === 3 && Object.values(r).every((s) => s === 'True') ? r : undefined;
    }, 30_000);
    const wide = await kubectl(['get', 'nodes', '-o', 'wide']);
    for (const n of lab.nodes) expect(wide).toMatch(new RegExp(`^${n.name}\\s+Ready\\s.*\\s${n.address.replace(/\./g, '\\.')}\\s`, 'm'));
  });

  it('a suspended host goes NotReady (kubelet stops heartbeating), and Ready again after its magic packet', async () => {
    const r = await ssh(NODE, '/usr/local/sbin/lab-suspend');
    expect(r.code).toBe(0);
    await waitForPower(NODE, 'asleep', 30_000);
    await waitFor(`${NODE} NotReady`, async () => ((await readiness())[NODE] === 'Unknown' ? true : undefined), 30_000, 500);
    expect((await kubectl(['get', 'node', NODE]))).toMatch(/NotReady/);
    await sendMagicPacket(labNode(NODE).mac);
    await waitForSsh(NODE);
    await waitFor(`${NODE} Ready`, async () => ((await readiness())[NODE] === 'True' ? true : undefined), 30_000, 500);
  });
});
