// Day two through runDeploy and its edges: one confirmation for a rename, refusals before any
// step, a failed upgrade stopping with the nodes done and not done; the drain (Eviction API,
// PodDisruptionBudgets) against a scripted client; the removal inventory read by the real
// ansible-inventory.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { isScalar, parseDocument, visit } from 'yaml';
import { UNSAFE_TAG } from '../../../src/util/ansible-yaml.js';
import { unwrapUnsafe } from '../../helpers/ansible-unsafe.js';
import { describe, expect, it } from 'vitest';
import type { EvictionOutcome } from '../../../src/adapters/kube/client.js';
import { drainNode, podsToDrain } from '../../../src/deploy/changes/drain.js';
import { runDayTwoStep, writeLeavingInventory } from '../../../src/deploy/changes/execute.js';
import type { StepRunner } from '../../../src/deploy/executor.js';
import type { DeployedNode, ObservedCluster } from '../../../src/deploy/plan.js';
import { runDeploy } from '../../../src/deploy/run.js';
import { VmstationError } from '../../../src/errors.js';
import { renderCluster } from '../../../src/render/index.js';
import { exampleWith, loadClusterFile } from '../../unit/deploy/helpers.js';

const example = loadClusterFile('examples/vmstation.yaml');
const ready = (name: string, version: string, roles: string[], address: string) => ({ name, ready: true, version, roles, address });
const cluster135 = (v = 'v1.35.4'): ObservedCluster => ({
  version: v,
  nodes: [ready('masternode', v, ['control-plane'], '192.168.4.63'), ready('storagenodet3500', v, ['worker'], '192.168.4.61'), ready('homelab', v, ['worker'], '192.168.4.62')],
});

function where() {
  const dir = mkdtempSync(path.join(tmpdir(), 'day-two-run-'));
  return { renderDir: path.join(dir, 'render'), stateFile: path.join(dir, 'state.json'), logsDir: path.join(dir, 'logs') };
}

async function deploy(cluster: typeof example, observed: ObservedCluster, runStep: StepRunner, opts: { yes: boolean; input?: string; deployed?: DeployedNode[]; at?: ReturnType<typeof where> }) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const input = new PassThrough();
  if (opts.input !== undefined) input.end(opts.input);
  const result = await runDeploy({
    cluster,
    artifacts: renderCluster(cluster),
    ...(opts.at ?? where()),
    selection: {},
    yes: opts.yes,
    dryRun: false,
    out,
    input,
    tty: false,
    runStep,
    observed: { nodes: {}, cluster: observed, ...(opts.deployed ? { deployed: opts.deployed } : {}) },
  }).catch((e: unknown) => e);
  return { result, text };
}

describe('day two through deploy', () => {
  it('a renamed node asks for yes once, then removes the old name and adds the new one', async () => {
    const renamed = exampleWith((t) => t.replace('- name: homelab', '- name: homelab2'));
    const ran: string[] = [];
    const r = await deploy(renamed, cluster135(), (s) => (ran.push(s.id), Promise.resolve('ok')), { yes: false, input: 'yes\n' });
    expect(r.result).not.toBeInstanceOf(Error);
    expect(r.text.match(/Type yes to deploy/g)).toHaveLength(1);
    expect(r.text).toContain('homelab is now called homelab2 (same address 192.168.4.62): that is one removal plus one addition');
    const k = ran.filter((s) => s.startsWith('kubernetes/'));
    expect(k.indexOf('kubernetes/remove-homelab-kubespray')).toBeLessThan(k.indexOf('kubernetes/add-workers'));
  });

  it('takes a maintenance hold on every node for the run and releases it, also when the run fails', async () => {
    const calls: string[] = [];
    const hold = {
      take: (r: { reason: string; nodes: readonly string[]; maxMs: number }) => {
        calls.push(`take ${r.reason} [${r.nodes.join(', ')}] ${r.maxMs}`);
        return Promise.resolve({ notes: [], release: () => (calls.push('release'), Promise.resolve()) });
      },
    };
    const out = new PassThrough();
    const failing: StepRunner = (s) => (calls.push(s.id), s.id === 'kubernetes/upgrade-control-plane' ? Promise.reject(new VmstationError({ code: 'x', message: 'x', exitCode: 3 })) : Promise.resolve('ok'));
    const r = await runDeploy({ cluster: example, artifacts: renderCluster(example), ...where(), selection: { phase: 'kubernetes' }, yes: true, dryRun: false, out, input: new PassThrough(), tty: false, runStep: failing, observed: { nodes: {}, cluster: cluster135('v1.34.3') }, hold }).catch((e: unknown) => e);
    expect(r).toBeInstanceOf(VmstationError);
    expect(calls[0]).toBe('take vmstation deploy of vmstation-homelab (upgrade to 1.35.4) [masternode, storagenodet3500, homelab] 14400000');
    expect(calls.at(-1)).toBe('release');
    expect(calls.indexOf('kubernetes/upgrade-control-plane')).toBeGreaterThan(0);
  });

  it('a refused change stops before any step, with the reason and how to fix it', async () => {
    const ran: string[] = [];
    const r = await deploy(example, cluster135('v1.33.5'), (s) => (ran.push(s.id), Promise.resolve('ok')), { yes: true });
    expect(ran).toEqual([]);
    expect(r.result).toBeInstanceOf(VmstationError);
    const e = r.result as VmstationError;
    expect([e.code, e.exitCode]).toEqual(['upgrade-skips-minor', 1]);
    expect(e.message).toContain('(1.33 → 1.34 → 1.35)');
  });

  it('a failed upgrade halfway names the nodes done and not done; the next run plans only the rest', async () => {
    const at = where();
    const r = await deploy(example, cluster135('v1.34.3'), (s) => (s.id === 'kubernetes/upgrade-homelab-kubespray' ? Promise.reject(new VmstationError({ code: 'kubespray-task-failed', message: 'injected', exitCode: 3 })) : Promise.resolve('ok')), { yes: true, at });
    const e = r.result as VmstationError;
    expect(e.exitCode).toBe(3);
    expect(e.details).toContain('upgraded to 1.35.4: masternode, storagenodet3500');
    expect(e.details).toContain('not upgraded yet: homelab (run deploy again: it plans only these)');
    const half: ObservedCluster = { version: 'v1.35.4', nodes: cluster135('v1.35.4').nodes.map((n) => (n.name === 'homelab' ? { ...n, version: 'v1.34.3' } : n)) };
    const ran: string[] = [];
    const again = await deploy(example, half, (s) => (ran.push(s.id), Promise.resolve('ok')), { yes: true, at });
    expect(again.text).toContain('resuming from phase kubernetes');
    expect(ran.filter((s) => s.includes('upgrade'))).toEqual(['kubernetes/upgrade-homelab-kubespray', 'kubernetes/upgrade-homelab-ready']);
  });
});

const pod = (name: string, owner?: string, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: { name, namespace: 'apps', ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner, name: `${name}-owner`, uid: 'u', controller: true }] } : {}), ...extra },
  spec: { nodeName: 'node4', containers: [{ name: 'c' }] },
  status: { phase: 'Running' },
});

function fakeKube(pods: V1Pod[], evict: (name: string) => EvictionOutcome) {
  const calls: string[] = [];
  let clock = 0;
  return {
    calls,
    deps: {
      kube: {
        patchNode: (name: string, patch: object) => (calls.push(`patch ${name} ${JSON.stringify(patch)}`), Promise.resolve({})),
        listPodsOnNode: () => Promise.resolve(pods),
        evictPod: (_ns: string, name: string) => {
          calls.push(`evict ${name}`);
          const r = evict(name);
          if (r.outcome === 'evicted') pods.splice(pods.findIndex((p) => p.metadata?.name === name), 1);
          return Promise.resolve(r);
        },
      },
      now: () => clock,
      sleep: (ms: number) => ((clock += ms), Promise.resolve()),
      timeoutMs: 10_000,
      retryMs: 5000,
    },
  };
}

describe('drain (Eviction API, PodDisruptionBudgets)', () => {
  it('cordons, evicts what a drain moves (not DaemonSet or mirror pods), and reports', async () => {
    const pods = [pod('web-1', 'ReplicaSet'), pod('agent', 'DaemonSet'), pod('static', 'Node'), pod('bare')];
    expect(podsToDrain(pods).map((p) => p.name)).toEqual(['bare', 'web-1']);
    const f = fakeKube(pods, () => ({ outcome: 'evicted' }));
    expect(await drainNode('node4', f.deps)).toBe('node4 cordoned and drained (2 pod(s) evicted)');
    expect(f.calls).toEqual(['patch node4 {"spec":{"unschedulable":true}}', 'evict bare', 'evict web-1']);
  });

  it('a budget that keeps refusing stops the drain at the timeout, names the pod, and uncordons', async () => {
    const f = fakeKube([pod('db-0', 'StatefulSet')], () => ({ outcome: 'blocked', message: "Cannot evict pod as it would violate the pod's disruption budget." }));
    const err = (await drainNode('node4', f.deps).catch((e: unknown) => e)) as VmstationError;
    expect(err).toBeInstanceOf(VmstationError);
    expect([err.code, err.exitCode]).toEqual(['drain-blocked', 3]);
    expect(err.message).toBe('cannot drain node4: a PodDisruptionBudget refuses to evict apps/db-0');
    expect(err.details).toEqual(["apps/db-0: Cannot evict pod as it would violate the pod's disruption budget."]);
    // Retried every 5 s until the 10 s timeout, then uncordoned.
    expect(f.calls.filter((c) => c.startsWith('evict'))).toHaveLength(3);
    expect(f.calls.at(-1)).toBe('patch node4 {"spec":{"unschedulable":null}}');
  });
});

describe('waiting for a Node', () => {
  const env = (node: object | undefined) => {
    let clock = 0;
    return {
      cluster: example,
      kube: () => ({ getNode: () => Promise.resolve(node), patchNode: () => Promise.resolve({}), listPodsOnNode: () => Promise.resolve([]), evictPod: () => Promise.resolve({ outcome: 'evicted' as const }), deleteNode: () => Promise.resolve(true) }) as never,
      deployedNodesFile: '/nonexistent',
      now: () => clock,
      sleep: (ms: number) => ((clock += ms), Promise.resolve()),
      nodeWaitTimeoutMs: 10_000,
    };
  };
  const readyNode = (kubelet: string) => ({ status: { nodeInfo: { kubeletVersion: kubelet }, conditions: [{ type: 'Ready', status: 'True' }] } });

  it('takes RKE2\'s kubelet build (v1.35.4+rke2r1) as the version, and times out naming what it saw', async () => {
    expect(await runDayTwoStep({ kind: 'wait-node', node: 'w1', version: 'v1.35.4' }, env(readyNode('v1.35.4+rke2r1')), () => undefined)).toBe('w1 Ready on v1.35.4+rke2r1');
    const err = (await runDayTwoStep({ kind: 'wait-node', node: 'w1', version: 'v1.35.4' }, env(readyNode('v1.34.3')), () => undefined).catch((e: unknown) => e)) as VmstationError;
    expect([err.code, err.exitCode, err.message]).toEqual(['node-not-ready', 3, 'w1 is not Ready on v1.35.4 after 10 s (Ready, kubelet v1.34.3)']);
  });
});

describe('the inventory a removal runs with', () => {
  it("Kubespray: the leaving node is back in its groups, after the nodes that stay, every value still !unsafe, and the real ansible-inventory reads it", async () => {
    // kubespray@v2.31.0:docs/operations/nodes.md: "With the old node still in the inventory, run
    // remove-node.yml"; "you can't remove the first node in your kube_control_plane".
    const inv = renderCluster(example).find((a) => a.path === 'kubespray/inventory.yaml')!;
    const renderDir = mkdtempSync(path.join(tmpdir(), 'inv-'));
    mkdirSync(path.join(renderDir, 'kubespray'));
    writeFileSync(path.join(renderDir, inv.path), inv.content);
    // A key path holding Jinja: Ansible must read it as written, never run it.
    const rel = await writeLeavingInventory(renderDir, 'kubespray', inv.path, [
      { name: 'oldcp', address: '192.168.4.70', roles: ['control-plane'], etcd: true, ssh: { user: 'admin', port: 2222, privateKey: "/k/{{ lookup('pipe', 'id') }}" } },
    ]);
    const file = path.join(renderDir, rel);
    // Every string, the rendered nodes' and the leaving node's, is still !unsafe (it was written
    // untagged before: read without the tag and serialized as plain YAML).
    const untagged: string[] = [];
    visit(parseDocument(readFileSync(file, 'utf8'), { customTags: [{ tag: UNSAFE_TAG, resolve: (s: string) => s }] }), {
      Pair(_, pair) {
        if (isScalar(pair.value) && typeof pair.value.value === 'string' && pair.value.tag !== UNSAFE_TAG) untagged.push(String(pair.key));
      },
    });
    expect(untagged).toEqual([]);
    expect(readFileSync(file, 'utf8')).toContain("ansible_ssh_private_key_file: !unsafe /k/{{ lookup('pipe', 'id') }}\n");
    const listed = JSON.parse(execFileSync('ansible-inventory', ['-i', file, '--list'], { encoding: 'utf8' })) as Record<string, { hosts?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    expect(listed['kube_control_plane']?.hosts).toEqual(['masternode', 'oldcp']);
    expect(listed['etcd']?.hosts).toEqual(['masternode', 'oldcp']);
    expect(listed['kube_node']?.hosts).not.toContain('oldcp');
    // ansible-inventory shows an unsafe string as {__ansible_unsafe: value}: the tag reached Ansible.
    expect(listed._meta.hostvars['oldcp']?.['ansible_host']).toEqual({ __ansible_unsafe: '192.168.4.70' });
    expect(unwrapUnsafe(listed._meta.hostvars['oldcp'])).toMatchObject({ ansible_host: '192.168.4.70', ansible_port: 2222, ansible_user: 'admin', ansible_become: true, access_ip: '192.168.4.70' });
  });
});
