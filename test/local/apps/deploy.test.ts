// Deployed apps go through the deploy like every manifest: manifests/apps.yaml is applied in the
// infrastructure phase, and when an app leaves the cluster file its objects are pruned, except its
// claims and namespace (they hold data). Applied with server-side apply to the Kubernetes API
// stand-in (lab/kube-apiserver-standin, in-process on 127.0.0.1), which reports the rollout done
// (it runs no pods: see its README).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { ObjectClient } from '../../../src/adapters/kube/apply.js';
import { applyManifests, countOutcomes, pruneManifests } from '../../../src/deploy/manifests.js';
import { manifestPhase, planDeploy } from '../../../src/deploy/plan.js';
import { renderCluster } from '../../../src/render/index.js';
import { clusterFromText, loadClusterFile, REPO } from '../../unit/deploy/helpers.js';

const cluster = loadClusterFile('examples/vmstation.yaml');
const manifests = (c = cluster) => renderCluster(c).filter((a) => a.path.startsWith('manifests/')).map((a) => ({ path: a.path, content: a.content, component: a.component }));

describe('deployed apps in the deploy', () => {
  it('applies manifests/apps.yaml in the infrastructure phase (which ran nothing before)', () => {
    expect(manifestPhase('apps')).toBe('infrastructure');
    const plan = planDeploy({ cluster, manifests: manifests() });
    const infra = plan.phases.find((p) => p.id === 'infrastructure')!;
    expect(infra.skipped).toBeUndefined();
    expect(infra.steps.map((s) => s.action)).toEqual([{ kind: 'apply-manifests', files: ['manifests/apps.yaml'] }]);
    // The prune step keeps what is rendered, apps.yaml included.
    const prune = plan.phases.find((p) => p.id === 'power')!.steps.find((s) => s.action.kind === 'prune')!;
    expect(prune.action).toMatchObject({ keep: expect.arrayContaining(['manifests/apps.yaml']) });
  });

  describe('against the Kubernetes API stand-in', () => {
    let standin: Standin;
    let client: ObjectClient;
    const deps = () => ({
      client,
      secrets: (name: string) => Promise.resolve(({ 'grafana-admin-password': 'x-not-checked', 'power-api-token': 'y-not-checked' } as Record<string, string>)[name]),
      readLocal: () => Promise.resolve('test\n'),
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 20))),
      now: Date.now,
      pollMs: 20,
      rolloutTimeoutMs: 20_000,
    });

    beforeAll(async () => {
      standin = await startStandin({ nodes: cluster.spec.nodes.map((n) => ({ name: n.name, roles: n.roles, labels: n.labels, probe: false })) });
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'standin-kc-')), 'kubeconfig');
      await standin.writeKubeconfig(file);
      const kc = new KubeConfig();
      kc.loadFromFile(file);
      client = new ObjectClient(kc);
    });
    afterAll(async () => {
      await standin?.stop();
    });

    it('creates the namespace, claims, Deployment and Service, and waits for Jellyfin to roll out', async () => {
      const apps = manifests().filter((m) => m.path === 'manifests/apps.yaml');
      const report = await applyManifests(cluster, apps, deps());
      expect(countOutcomes(report).created).toBe(4);
      expect(report.rollouts.map((r) => `${r.ref.kind}/${r.ref.namespace}/${r.ref.name}`)).toEqual(['Deployment/default/jellyfin']);
      // The stand-in runs no ReplicaSet controller (no pods): the stored template carries the label.
      const stored = (await client.read({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'jellyfin', namespace: 'default' })) as { spec: { template: { metadata: { labels: Record<string, string> } } } } | undefined;
      expect(stored!.spec.template.metadata.labels['vmstation.io/sleep-ok']).toBe('true');
    });

    it('prunes the Deployment and Service of an app removed from the file, keeping its claims', async () => {
      const text = readFileSync(`${REPO}examples/vmstation.yaml`, 'utf8').replace(/ {2}apps:\n[\s\S]*?(?=\n {2}secrets:)/, '  apps: []');
      const without = clusterFromText(text);
      const files = manifests(without);
      expect(files.some((f) => f.path === 'manifests/apps.yaml')).toBe(false);
      const pruned = await pruneManifests(without, files, { client });
      expect(pruned.map((r) => `${r.kind}/${r.namespace}/${r.name}`).sort()).toEqual(['Deployment/default/jellyfin', 'Service/default/jellyfin']);
      expect(await client.read({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'jellyfin', namespace: 'default' })).toBeUndefined();
      // Data is never pruned: the claims (Jellyfin's library database) stay.
      for (const claim of ['jellyfin-config', 'jellyfin-cache']) expect(await client.read({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: claim, namespace: 'default' }), claim).toBeDefined();
    });
  });
});
