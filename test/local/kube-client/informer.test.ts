// vmstation's own list/watch informer (src/adapters/kube/informer.ts), which the power manager
// uses instead of client-node's to stay inside its memory budget, held against client-node's
// ListWatch on the same stand-in through the same changes and faults: both caches must end equal
// to the server's list every time. Also the KubeClient calls' outcomes (404, 429, Status messages).
import { CoreV1Api, KubeConfig, makeInformer, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, keepInformerRunning } from '../../../src/adapters/kube/client.js';
import { ListWatchInformer } from '../../../src/adapters/kube/informer.js';
import { loadConnection } from '../../../src/adapters/kube/kubeconfig.js';
import { KubeApiError, KubeRest } from '../../../src/adapters/kube/rest.js';
import { slimPod } from '../../../src/adapters/kube/slim.js';
import { startTestStandin, waitFor, type TestStandin } from '../kube-standin/helpers.js';

let t: TestStandin;
let core: CoreV1Api;
let kc: KubeConfig;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  t = await startTestStandin({ nodes: [{ name: 'masternode', roles: ['control-plane'], probe: false }], bookmarkIntervalMs: 200 });
  kc = new KubeConfig();
  kc.loadFromFile(t.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
});
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  t.standin.faults.clear();
  const pods = await core.listNamespacedPod({ namespace: 'default' });
  for (const p of pods.items) await core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: 'default', gracePeriodSeconds: 0 });
});
afterAll(async () => t?.stop());

function pod(name: string, labels: Record<string, string> = {}): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { nodeName: 'masternode', containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m' } } }] } };
}

function ours(pageSize = 500) {
  const inf = new ListWatchInformer<V1Pod>({ rest: new KubeRest(loadConnection({ kubeconfig: t.kubeconfig })), path: '/api/v1/namespaces/default/pods', slim: slimPod, pageSize, watchTimeoutSeconds: () => 30 });
  const events: string[] = [];
  inf.on('add', (p) => events.push(`add ${p.metadata?.name}`));
  inf.on('update', (p) => events.push(`update ${p.metadata?.name}`));
  inf.on('delete', (p) => events.push(`delete ${p.metadata?.name}`));
  stops.push(() => inf.stop());
  return { inf, events };
}

function theirs() {
  const inf = makeInformer(kc, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default' }));
  stops.push(() => inf.stop());
  return inf;
}

/** name@resourceVersion of each cached pod, sorted: what a cache must agree on. */
const view = (pods: readonly V1Pod[]) => pods.map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`).sort();
async function serverView(): Promise<string[]> {
  return view((await core.listNamespacedPod({ namespace: 'default' })).items);
}
async function allAgree(a: { list(): readonly V1Pod[] }, b: { list(): readonly V1Pod[] }): Promise<void> {
  await waitFor('caches to match the server', async () => {
    const server = await serverView();
    return JSON.stringify(view(a.list())) === JSON.stringify(server) && JSON.stringify(view(b.list())) === JSON.stringify(server);
  });
}

describe('ListWatchInformer (vmstation) next to client-node ListWatch', () => {
  it('lists in pages, then follows creates, updates and deletes as client-node does', async () => {
    for (let i = 0; i < 7; i++) await core.createNamespacedPod({ namespace: 'default', body: pod(`p${i}`) });
    t.standin.clearRequests();
    const { inf, events } = ours(3);
    const cn = theirs();
    await Promise.all([inf.start(), cn.start()]);
    expect(inf.list()).toHaveLength(7);
    const lists = t.standin.requests().filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.userAgent === 'vmstation-power-manager' && !r.query.includes('watch'));
    expect(lists.map((r) => new URLSearchParams(r.query).has('continue'))).toEqual([false, true, true]);
    expect(lists.every((r) => new URLSearchParams(r.query).get('limit') === '3')).toBe(true);

    await core.patchNamespacedPod({ name: 'p1', namespace: 'default', body: { metadata: { labels: { changed: 'yes' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.deleteNamespacedPod({ name: 'p2', namespace: 'default', gracePeriodSeconds: 0 });
    await core.createNamespacedPod({ namespace: 'default', body: pod('p7') });
    await allAgree(inf, cn);
    expect(events).toContain('update p1');
    expect(events).toContain('delete p2');
    expect(events).toContain('add p7');
    expect(inf.get('p1', 'default')?.metadata?.labels).toEqual({ changed: 'yes' });
    // Slimmed: only what the power manager reads is cached.
    expect(inf.get('p1', 'default')?.metadata?.managedFields).toBeUndefined();
    expect(inf.get('p1', 'default')?.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '100m' });
  });

  it('re-watches from its last version after a dropped watch, and re-lists after 410 Gone', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('a') });
    const { inf, events } = ours();
    const cn = theirs();
    await Promise.all([inf.start(), cn.start()]);
    t.standin.faults.dropWatches('/pods');
    await core.createNamespacedPod({ namespace: 'default', body: pod('b') });
    await allAgree(inf, cn);

    // The next watches get 410 and the history is forgotten: both must re-list and catch up.
    t.standin.faults.expireNextWatches(2, '/pods');
    t.standin.faults.dropWatches('/pods');
    await core.deleteNamespacedPod({ name: 'a', namespace: 'default', gracePeriodSeconds: 0 });
    await core.createNamespacedPod({ namespace: 'default', body: pod('c') });
    await allAgree(inf, cn);
    expect(events).toEqual(expect.arrayContaining(['add a', 'add b', 'delete a', 'add c']));
  });

  it('announces what a re-list finds gone while it was stopped', async () => {
    await core.createNamespacedPod({ namespace: 'default', body: pod('keep') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('gone') });
    const { inf, events } = ours();
    await inf.start();
    await inf.stop();
    await core.deleteNamespacedPod({ name: 'gone', namespace: 'default', gracePeriodSeconds: 0 });
    t.standin.faults.expireNextWatches(1, '/pods');
    await inf.start();
    await waitFor('the delete', () => Promise.resolve(events.includes('delete gone')));
    expect(view(inf.list())).toEqual(await serverView());
  });

  it("reports a 500 on 'error' and stops; keepInformerRunning restarts it from its last version", async () => {
    t.standin.clearRequests();
    const { inf, events } = ours();
    const errors: unknown[] = [];
    let stopped = false;
    stops.push(() => Promise.resolve(void (stopped = true)));
    keepInformerRunning(inf, { delay: () => 50, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), isStopped: () => stopped, onError: (err) => errors.push(err) });
    await inf.start();
    t.standin.faults.add({ kind: 'error', status: 500, watch: true, path: '/pods', count: 2 });
    t.standin.faults.dropWatches('/pods');
    await waitFor('two errors', () => Promise.resolve(errors.length >= 2));
    expect(errors[0]).toBeInstanceOf(KubeApiError);
    expect((errors[0] as KubeApiError).status).toBe(500);
    await core.createNamespacedPod({ namespace: 'default', body: pod('after') });
    await waitFor('the pod created after the errors', () => Promise.resolve(events.includes('add after')));
    // Resumed from its version: no second full list was needed.
    const lists = t.standin.requests().filter((r) => r.path === '/api/v1/namespaces/default/pods' && r.userAgent === 'vmstation-power-manager' && !r.query.includes('watch'));
    expect(lists.length).toBe(1);
  });
});

// Issue #17: an informer callback that threw, or an event slim() could not take, was thrown from
// the watch stream's 'data' handler and stopped the whole power manager.
describe('ListWatchInformer contains failures', () => {
  it('runs the other callbacks, keeps its cache and reports a callback that throws', async () => {
    const reported: string[] = [];
    const inf = new ListWatchInformer<V1Pod>({
      rest: new KubeRest(loadConnection({ kubeconfig: t.kubeconfig })),
      path: '/api/v1/namespaces/default/pods',
      slim: slimPod,
      watchTimeoutSeconds: () => 30,
      onCallbackError: (err, where) => reported.push(`${where.verb} ${where.path}: ${(err as Error).message}`),
    });
    stops.push(() => inf.stop());
    const seen: string[] = [];
    inf.on('add', (p) => {
      if (p.metadata?.name === 'boom') throw new Error('callback bug');
    });
    inf.on('change', (p) => seen.push(p.metadata?.name ?? ''));
    await core.createNamespacedPod({ namespace: 'default', body: pod('listed') });
    await inf.start();
    await core.createNamespacedPod({ namespace: 'default', body: pod('boom') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('after') });
    await waitFor('the pod after the failing callback', () => Promise.resolve(seen.includes('after')));
    expect([...new Set(seen)]).toEqual(['listed', 'boom', 'after']);
    expect(inf.list().map((p) => p.metadata?.name).sort()).toEqual(['after', 'boom', 'listed']);
    expect(reported).toEqual(['add /api/v1/namespaces/default/pods: callback bug']);
  });

  it('ends the watch with an error (the owner restarts it) when an event cannot be applied, and recovers', async () => {
    const inf = new ListWatchInformer<V1Pod>({
      rest: new KubeRest(loadConnection({ kubeconfig: t.kubeconfig })),
      path: '/api/v1/namespaces/default/pods',
      slim: (p) => {
        if (p.metadata?.name === 'poison') throw new Error('cannot slim this object');
        return slimPod(p);
      },
      watchTimeoutSeconds: () => 30,
    });
    const events: string[] = [];
    inf.on('change', (p) => events.push(p.metadata?.name ?? ''));
    const errors: string[] = [];
    let stopped = false;
    stops.push(() => Promise.resolve(void (stopped = true)), () => inf.stop());
    keepInformerRunning(inf, { delay: () => 50, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), isStopped: () => stopped, onError: (err) => errors.push((err as Error).message) });
    await inf.start();
    await core.createNamespacedPod({ namespace: 'default', body: pod('poison') });
    await waitFor('the watch error', () => Promise.resolve(errors.length > 0));
    expect(errors[0]).toBe('watch /api/v1/namespaces/default/pods: an event could not be applied: cannot slim this object');
    await core.deleteNamespacedPod({ name: 'poison', namespace: 'default', gracePeriodSeconds: 0 });
    await core.createNamespacedPod({ namespace: 'default', body: pod('healthy') });
    await waitFor('the informer back on its feet', () => Promise.resolve(events.includes('healthy')));
    expect(inf.list().map((p) => p.metadata?.name)).toEqual(['healthy']);
  });
});

describe('KubeClient', () => {
  it('turns 404 into undefined or "gone", and keeps the Status message of other errors', async () => {
    const kube = new KubeClient({ kubeconfig: t.kubeconfig });
    expect(await kube.getNode('no-such-node')).toBeUndefined();
    expect(await kube.getLease('default', 'no-such-lease')).toBeUndefined();
    expect(await kube.evictPod('default', 'no-such-pod')).toEqual({ outcome: 'gone' });
    const err = await kube.patchNode('no-such-node', { metadata: { labels: { a: 'b' } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(404);
    expect((err as KubeApiError).message).toBe('nodes "no-such-node" not found');
    const patched = await kube.patchNode('masternode', { metadata: { annotations: { 'vmstation.io/test': 'x' } } });
    expect(patched.metadata?.annotations?.['vmstation.io/test']).toBe('x');
    await kube.patchNode('masternode', { metadata: { annotations: { 'vmstation.io/test': null } } });
    expect((await kube.getNode('masternode'))?.metadata?.annotations?.['vmstation.io/test']).toBeUndefined();
    kube.close();
  });

  it('creates and replaces a Lease with optimistic concurrency (409 on a stale version)', async () => {
    const kube = new KubeClient({ kubeconfig: t.kubeconfig });
    const created = await kube.createLease('default', { metadata: { name: 'kube-client-test' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } });
    const renewed = await kube.replaceLease('default', { ...created, spec: { ...created.spec, holderIdentity: 'b' } });
    expect(renewed.spec?.holderIdentity).toBe('b');
    const stale = await kube.replaceLease('default', { ...created, spec: { ...created.spec, holderIdentity: 'c' } }).catch((e: unknown) => e);
    expect((stale as KubeApiError).status).toBe(409);
    kube.close();
  });
});
