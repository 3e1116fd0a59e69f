// plan --observe: reachability per node and what the cluster reports (the Kubernetes API
// stand-in, in-process), fed to the pure planner.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { observe, observeCluster } from '../../../src/deploy/observe.js';
import { planDeploy } from '../../../src/deploy/plan.js';
import { loadClusterFile } from '../../unit/deploy/helpers.js';

const cluster = loadClusterFile('examples/vmstation.yaml');

describe('observe', () => {
  let standin: Standin;
  let kubeconfig: string;
  beforeAll(async () => {
    standin = await startStandin({ nodes: cluster.spec.nodes.map((n) => ({ name: n.name, roles: n.roles, probe: false })) });
    kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'observe-')), 'kubeconfig');
    await standin.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await standin?.stop();
  });

  it('reads the version and the Nodes; nothing when there is no kubeconfig', async () => {
    await new Promise((r) => setTimeout(r, 300)); // the kubelet emulator registers the Nodes
    const c = await observeCluster(kubeconfig);
    expect(c?.version).toBe('v1.35.4');
    expect(c?.nodes.map((n) => [n.name, n.ready, n.version]).sort()).toEqual([
      ['homelab', true, 'v1.35.4'],
      ['masternode', true, 'v1.35.4'],
      ['storagenodet3500', true, 'v1.35.4'],
    ]);
    expect(await observeCluster('/nonexistent/kubeconfig')).toBeUndefined();
  });

  it('an asleep sleeper gets a wake step; an up-to-date cluster has nothing to change', async () => {
    const observed = await observe(cluster, kubeconfig, (address) => Promise.resolve(address !== '192.168.4.61'));
    expect(observed.nodes).toEqual({ masternode: { power: 'awake' }, storagenodet3500: { power: 'asleep' }, homelab: { power: 'awake' } });
    const plan = planDeploy({ cluster, manifests: [], observed });
    expect(plan.phases[0]!.steps.map((s) => s.id)).toEqual(['preflight/wake-storagenodet3500', 'preflight/checks']);
    expect(plan.changes?.[0]?.reason).toMatch(/^nothing to change: the cluster runs Kubernetes 1\.35\.4/);
    expect(plan.phases.find((p) => p.id === 'kubernetes')!.steps.map((s) => s.action.kind)).toEqual(['playbook', 'record-nodes']);
  });
});
