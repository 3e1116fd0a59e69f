// The deploy pipeline's path: @kubernetes/client-node's generic KubernetesObjectApi applying
// manifests server-side with field manager `vmstation` (namespace and CRD first, then a custom
// resource and workloads), re-applying with zero changes, waiting for rollouts, and pruning
// by label what is no longer rendered. (The custom kind is not called "Probe": client-node
// serializes a v1 kind named like one of its models, V1Probe, as that model, i.e. as {}.)
import { KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlOk, startTestStandin, waitFor, type TestStandin } from './helpers.js';

let t: TestStandin;
let client: KubernetesObjectApi;

beforeAll(async () => {
  t = await startTestStandin({ nodes: [{ name: 'masternode', roles: ['control-plane'], probe: false }, { name: 'w', roles: ['worker'], probe: false }] });
  const kc = new KubeConfig();
  kc.loadFromFile(t.kubeconfig);
  client = KubernetesObjectApi.makeApiClient(kc);
});
afterAll(async () => {
  await t.stop();
});

const managed = { 'app.kubernetes.io/managed-by': 'vmstation' };
const manifests = (withGrafana: boolean): KubernetesObject[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring', labels: managed } },
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'scrapetargets.monitoring.vmstation.io', labels: managed },
    spec: { group: 'monitoring.vmstation.io', scope: 'Namespaced', names: { plural: 'scrapetargets', singular: 'scrapetarget', kind: 'ScrapeTarget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
  } as KubernetesObject,
  { apiVersion: 'monitoring.vmstation.io/v1', kind: 'ScrapeTarget', metadata: { name: 'jellyfin', namespace: 'monitoring', labels: managed }, spec: { target: 'http://jellyfin:8096' } } as KubernetesObject,
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'prometheus', namespace: 'monitoring', labels: managed },
    spec: { replicas: 1, serviceName: 'prometheus', selector: { matchLabels: { app: 'prometheus' } }, template: { metadata: { labels: { app: 'prometheus' } }, spec: { containers: [{ name: 'prometheus', image: 'prom/prometheus:v3.5.0' }] } } },
  } as KubernetesObject,
  {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'node-exporter', namespace: 'monitoring', labels: managed },
    spec: { selector: { matchLabels: { app: 'node-exporter' } }, template: { metadata: { labels: { app: 'node-exporter' } }, spec: { containers: [{ name: 'node-exporter', image: 'prom/node-exporter:v1.9.1' }] } } },
  } as KubernetesObject,
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'prometheus', namespace: 'monitoring', labels: managed }, spec: { type: 'NodePort', selector: { app: 'prometheus' }, ports: [{ port: 9090, nodePort: 30090 }] } } as KubernetesObject,
  ...(withGrafana
    ? [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'grafana', namespace: 'monitoring', labels: managed },
          spec: { replicas: 1, selector: { matchLabels: { app: 'grafana' } }, template: { metadata: { labels: { app: 'grafana' } }, spec: { containers: [{ name: 'grafana', image: 'grafana/grafana:12.1.0' }] } } },
        } as KubernetesObject,
      ]
    : []),
];

async function applyAll(objs: KubernetesObject[]): Promise<string[]> {
  const rvs: string[] = [];
  for (const o of objs) {
    const r = await client.patch(o, undefined, undefined, 'vmstation', true, PatchStrategy.ServerSideApply);
    rvs.push(r.metadata?.resourceVersion ?? '');
  }
  return rvs;
}

describe('KubernetesObjectApi server-side apply', () => {
  it('applies, re-applies with zero changes, rolls out, and prunes by label', async () => {
    const first = await applyAll(manifests(true));
    expect(first.every((rv) => rv !== '')).toBe(true);
    // Let the emulated controllers write their status (CRD Established, rollouts), then re-apply.
    let last = -1;
    await waitFor('controllers settled', async () => {
      await new Promise((r) => setTimeout(r, 100));
      const now = t.standin.ops.store.currentRevision();
      const settled = now === last;
      last = now;
      return settled;
    });
    const current = await Promise.all(manifests(true).map(async (o) => (await client.read(o as never)).metadata?.resourceVersion ?? ''));
    const second = await applyAll(manifests(true));
    expect(second).toEqual(current);
    expect(t.standin.ops.store.currentRevision()).toBe(last);
    const patches = t.standin.requests().filter((r) => r.method === 'PATCH');
    expect(patches.every((r) => r.contentType === 'application/apply-patch+yaml' && r.query.includes('fieldManager=vmstation') && r.query.includes('force=true'))).toBe(true);

    // Rollouts of the right kind finish (the DaemonSet waits for Ready nodes it may run on).
    expect((await kubectlOk(t, ['-n', 'monitoring', 'rollout', 'status', 'statefulset/prometheus', '--timeout=10s'])).trim()).toContain('partitioned roll out complete: 1 new pods have been updated');
    expect((await kubectlOk(t, ['-n', 'monitoring', 'rollout', 'status', 'daemonset/node-exporter', '--timeout=10s'])).trim()).toBe('daemon set "node-exporter" successfully rolled out');
    expect(await kubectlOk(t, ['-n', 'monitoring', 'get', 'ds', 'node-exporter', '-o', 'jsonpath={.status.desiredNumberScheduled}'])).toBe('1'); // masternode is tainted
    expect((await kubectlOk(t, ['-n', 'monitoring', 'rollout', 'status', 'deployment/grafana', '--timeout=10s'])).trim()).toBe('deployment "grafana" successfully rolled out');
    const probe = await client.read({ apiVersion: 'monitoring.vmstation.io/v1', kind: 'ScrapeTarget', metadata: { name: 'jellyfin', namespace: 'monitoring' } });
    expect((probe as KubernetesObject & { spec: { target: string } }).spec.target).toBe('http://jellyfin:8096');

    // Grafana removed from the render: prune what carries our label and is no longer rendered.
    const rendered = new Set(manifests(false).map((o) => `${o.kind}/${o.metadata?.name}`));
    const pruned: string[] = [];
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet']) {
      const list = await client.list('apps/v1', kind, 'monitoring', undefined, undefined, undefined, undefined, 'app.kubernetes.io/managed-by=vmstation');
      for (const item of list.items) {
        if (rendered.has(`${kind}/${item.metadata?.name}`)) continue;
        await client.delete({ apiVersion: 'apps/v1', kind, metadata: { name: item.metadata?.name ?? '', namespace: 'monitoring' } });
        pruned.push(`${kind}/${item.metadata?.name}`);
      }
    }
    expect(pruned).toEqual(['Deployment/grafana']);
    await waitFor('grafana gone', async () => (await kubectlOk(t, ['-n', 'monitoring', 'get', 'deploy', '-o', 'name'])).trim() === '');
  });
});
