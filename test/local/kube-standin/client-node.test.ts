// The stand-in against @kubernetes/client-node@1 as the power manager uses it: informers on
// nodes and pods (events, reconnect after a dropped watch and after 410 Gone), the Eviction API
// (201 and 429 with a PDB), Leases with optimistic concurrency, merge patches of annotations.
import { CoordinationV1Api, CoreV1Api, KubeConfig, makeInformer, PatchStrategy, PolicyV1Api, setHeaderOptions, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestStandin, waitFor, type TestStandin } from './helpers.js';

let t: TestStandin;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  t = await startTestStandin({
    nodes: [
      { name: 'masternode', roles: ['control-plane'], probe: false },
      { name: 'worker-a', roles: ['worker'], probe: false, labels: { 'vmstation.io/storage': 'true' } },
    ],
  });
  kc = new KubeConfig();
  kc.loadFromFile(t.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await t.stop();
});

function pod(name: string, labels: Record<string, string>, nodeSelector?: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeSelector ? { nodeSelector } : {}) },
  };
}

describe('informers', () => {
  it('receive node and pod events, and resume after a dropped watch and after 410 Gone', async () => {
    const nodeInformer = makeInformer(kc, '/api/v1/nodes', () => core.listNode());
    const podInformer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const podEvents: string[] = [];
    const errors: unknown[] = [];
    podInformer.on('add', (p: V1Pod) => podEvents.push(`add ${p.metadata?.name}`));
    podInformer.on('update', (p: V1Pod) => podEvents.push(`update ${p.metadata?.name} ${p.status?.phase}`));
    podInformer.on('delete', (p: V1Pod) => podEvents.push(`delete ${p.metadata?.name}`));
    podInformer.on('error', (e: unknown) => errors.push(e));
    let connects = 0;
    podInformer.on('connect', () => connects++);
    await nodeInformer.start();
    await podInformer.start();
    expect(nodeInformer.list().map((n: V1Node) => n.metadata?.name).sort()).toEqual(['masternode', 'worker-a']);

    await core.createNamespacedPod({ namespace: 'default', body: pod('p1', { app: 'x' }, { 'vmstation.io/storage': 'true' }) });
    // The binder places it and the kubelet emulator runs it: add, then updates up to Running.
    await waitFor('p1 Running in the informer cache', () => podInformer.get('p1', 'default')?.status?.phase === 'Running');
    expect(podEvents[0]).toBe('add p1');
    expect(podInformer.get('p1', 'default')?.spec?.nodeName).toBe('worker-a');

    // A dropped watch: the informer re-watches from its last resourceVersion and misses nothing.
    const before = connects;
    expect(t.standin.faults.dropWatches('/api/v1/pods')).toBeGreaterThanOrEqual(1);
    await core.createNamespacedPod({ namespace: 'default', body: pod('p2', { app: 'x' }) });
    await waitFor('p2 in the cache after the drop', () => podInformer.get('p2', 'default') !== undefined);
    expect(connects).toBeGreaterThan(before);

    // 410 Gone: while the watch is down, other writes move the revision on and the history is
    // compacted (as etcd does); the re-watch from the informer's resourceVersion gets 410 Expired
    // and the informer re-lists.
    const lists = (): number => t.standin.requests().filter((r) => r.method === 'GET' && r.path === '/api/v1/pods' && !r.query.includes('watch')).length;
    const listsBefore = lists();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'bump' } } });
    t.standin.faults.compact();
    t.standin.faults.dropWatches('/api/v1/pods');
    await waitFor('a re-list after 410', () => lists() > listsBefore);
    const watches = t.standin.requests().filter((r) => r.path === '/api/v1/pods' && r.query.includes('watch'));
    expect(watches.length).toBeGreaterThanOrEqual(3);
    await core.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
    await waitFor('p1 deleted from the cache', () => podInformer.get('p1', 'default') === undefined);
    expect(podEvents).toContain('delete p1');
    // The same through the fault API: the next watch is answered 410 at once.
    const listsBefore2 = lists();
    t.standin.faults.expireNextWatches(1, '/api/v1/pods');
    t.standin.faults.dropWatches('/api/v1/pods');
    await waitFor('a re-list after the injected 410', () => lists() > listsBefore2);
    await core.createNamespacedPod({ namespace: 'default', body: pod('p3', { app: 'x' }) });
    await waitFor('p3 in the cache', () => podInformer.get('p3', 'default') !== undefined);

    // A node change reaches the node informer.
    const coreNodes = kc.makeApiClient(CoreV1Api);
    await coreNodes.patchNode(
      { name: 'worker-a', body: { metadata: { annotations: { 'vmstation.io/power-state': 'draining' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor('annotation in the node informer', () => nodeInformer.get('worker-a')?.metadata?.annotations?.['vmstation.io/power-state'] === 'draining');
    expect(errors).toEqual([]);
    await podInformer.stop();
    await nodeInformer.stop();
  });

  it('an injected 500 on the re-watch stops the informer (client-node behaviour); start() resumes it', async () => {
    const informer = makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
    const errors: Array<{ statusCode?: number }> = [];
    informer.on('error', (e: { statusCode?: number }) => errors.push(e));
    await informer.start();
    t.standin.faults.add({ kind: 'error', status: 500, count: 1, path: '/api/v1/namespaces/default/configmaps', watch: true });
    t.standin.faults.dropWatches('/api/v1/namespaces/default/configmaps');
    await waitFor('the error callback', () => errors.length > 0);
    expect(errors[0]?.statusCode).toBe(500);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-500' } } });
    await new Promise((r) => setTimeout(r, 300));
    expect(informer.get('after-500', 'default')).toBeUndefined();
    await informer.start();
    await waitFor('after-500 in the cache once restarted', () => informer.get('after-500', 'default') !== undefined);
    await informer.stop();
  });

  it('gets the 410 Expired ERROR event shape on a watch from a too old resourceVersion', async () => {
    t.standin.faults.compact();
    const res = await api(t, 'GET', '/api/v1/pods?watch=1&resourceVersion=1');
    expect(res.status).toBe(200);
    const line = JSON.parse(res.text.trim()) as { type: string; object: { kind: string; code: number; reason: string; message: string } };
    expect(line.type).toBe('ERROR');
    expect(line.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect(line.object.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
  });
});

describe('Eviction API', () => {
  it('evicts (201) while the PDB allows it, then answers 429 TooManyRequests', async () => {
    for (const n of ['e1', 'e2']) await core.createNamespacedPod({ namespace: 'default', body: pod(n, { app: 'evict' }, { 'vmstation.io/storage': 'true' }) });
    const policy = kc.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: 'default',
      body: { metadata: { name: 'evict-pdb' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'evict' } } } },
    });
    await waitFor('both pods Ready', async () => {
      const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=evict' });
      return pods.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2;
    });
    await waitFor('PDB allows one disruption', async () => (await policy.readNamespacedPodDisruptionBudget({ name: 'evict-pdb', namespace: 'default' })).status?.disruptionsAllowed === 1);
    await core.createNamespacedPodEviction({ name: 'e1', namespace: 'default', body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'e1', namespace: 'default' } } });
    await expect(core.readNamespacedPod({ name: 'e1', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
    const refused = await core
      .createNamespacedPodEviction({ name: 'e2', namespace: 'default', body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'e2', namespace: 'default' } } })
      .then(() => undefined, (e: unknown) => e as { code: number; body: string });
    expect(refused?.code).toBe(429);
    const status = JSON.parse(refused?.body ?? '{}') as { reason: string; message: string; details: { causes: Array<{ reason: string; message: string }> } };
    expect(status.reason).toBe('TooManyRequests');
    expect(status.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(status.details.causes[0]).toEqual({ reason: 'DisruptionBudget', message: 'The disruption budget evict-pdb needs 1 healthy pods and has 1 currently' });
    await waitFor('PDB status recomputed', async () => (await policy.readNamespacedPodDisruptionBudget({ name: 'evict-pdb', namespace: 'default' })).status?.currentHealthy === 1);
  });
});

describe('Leases for leader election', () => {
  it('create, renew with the current resourceVersion, and 409 for a stale one', async () => {
    const coord = kc.makeApiClient(CoordinationV1Api);
    const created = await coord.createNamespacedLease({
      namespace: 'kube-system',
      body: { metadata: { name: 'vmstation-power' }, spec: { holderIdentity: 'replica-a', leaseDurationSeconds: 15, acquireTime: new Date(), renewTime: new Date() } },
    });
    expect(created.spec?.holderIdentity).toBe('replica-a');
    const renewed = await coord.replaceNamespacedLease({
      name: 'vmstation-power',
      namespace: 'kube-system',
      body: { ...created, spec: { ...created.spec, renewTime: new Date() } },
    });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
    // replica-b still holds the old copy: its takeover must fail.
    const stale = await coord
      .replaceNamespacedLease({ name: 'vmstation-power', namespace: 'kube-system', body: { ...created, spec: { ...created.spec, holderIdentity: 'replica-b' } } })
      .then(() => undefined, (e: unknown) => e as { code: number; body: string });
    expect(stale?.code).toBe(409);
    expect(JSON.parse(stale?.body ?? '{}')).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    const dup = await coord.createNamespacedLease({ namespace: 'kube-system', body: { metadata: { name: 'vmstation-power' }, spec: {} } }).then(() => undefined, (e: unknown) => e as { code: number });
    expect(dup?.code).toBe(409);
    expect((await coord.readNamespacedLease({ name: 'vmstation-power', namespace: 'kube-system' })).spec?.holderIdentity).toBe('replica-a');
  });
});

describe('patches', () => {
  it('merge-patches node annotations and removes one with null; strategic patch cordons', async () => {
    const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await core.patchNode({ name: 'worker-a', body: { metadata: { annotations: { 'vmstation.io/power-state': 'asleep', 'vmstation.io/since': '2026-01-01T00:00:00Z' } } } }, opts);
    let node = await core.patchNode({ name: 'worker-a', body: { metadata: { annotations: { 'vmstation.io/since': null } } } }, opts);
    expect(node.metadata?.annotations?.['vmstation.io/power-state']).toBe('asleep');
    expect(node.metadata?.annotations?.['vmstation.io/since']).toBeUndefined();
    node = await core.patchNode({ name: 'worker-a', body: { spec: { unschedulable: true } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    expect(node.spec?.unschedulable).toBe(true);
    node = await core.patchNode({ name: 'worker-a', body: [{ op: 'remove', path: '/spec/unschedulable' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    expect(node.spec?.unschedulable).toBeUndefined();
    const managers = node.metadata?.managedFields?.map((m) => `${m.manager}/${m.operation}`) ?? [];
    expect(managers).toContain('kubelet/Update');
  });
});
