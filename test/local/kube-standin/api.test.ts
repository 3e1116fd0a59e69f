// The stand-in's REST semantics over raw HTTPS: Status shapes, optimistic concurrency, selectors,
// pagination, watches, finalizers, dry-run, CRDs, events.k8s.io, discovery and the fault
// endpoints under /_standin/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standinControl } from '../../../lab/kube-apiserver-standin/control-client.js';
import { api, startTestStandin, waitFor, type TestStandin } from './helpers.js';

let t: TestStandin;
beforeAll(async () => {
  t = await startTestStandin({ nodes: [{ name: 'n1', probe: false, roles: ['worker'] }], bookmarkIntervalMs: 100 });
});
afterAll(async () => {
  await t.stop();
});

const cm = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels, ...extra },
  data: { k: name },
});

describe('status codes and Status objects', () => {
  it('404, 409 AlreadyExists, 409 Conflict on a stale resourceVersion, 422 on a bad name, 400 on a kind mismatch', async () => {
    const missing = await api(t, 'GET', '/api/v1/namespaces/default/configmaps/nope');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'configmaps' }, code: 404 });
    const deployMissing = await api(t, 'GET', '/apis/apps/v1/namespaces/default/deployments/nope');
    expect(deployMissing.json()).toMatchObject({ message: 'deployments.apps "nope" not found', details: { name: 'nope', group: 'apps', kind: 'deployments' } });

    const created = await api(t, 'POST', '/api/v1/namespaces/default/configmaps', cm('a'));
    expect(created.status).toBe(201);
    const obj = created.json<{ metadata: { uid: string; resourceVersion: string; creationTimestamp: string } }>();
    expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(obj.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await api(t, 'POST', '/api/v1/namespaces/default/configmaps', cm('a'))).json()).toMatchObject({ code: 409, reason: 'AlreadyExists', message: 'configmaps "a" already exists' });

    const updated = await api(t, 'PUT', '/api/v1/namespaces/default/configmaps/a', { ...cm('a'), metadata: { name: 'a', resourceVersion: obj.metadata.resourceVersion }, data: { k: 'v2' } });
    expect(updated.status).toBe(200);
    const stale = await api(t, 'PUT', '/api/v1/namespaces/default/configmaps/a', { ...cm('a'), metadata: { name: 'a', resourceVersion: obj.metadata.resourceVersion }, data: { k: 'v3' } });
    expect(stale.status).toBe(409);
    expect(stale.json()).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again',
    });
    const bad = await api(t, 'POST', '/api/v1/namespaces/default/configmaps', cm('Bad_Name'));
    expect(bad.status).toBe(422);
    expect(bad.json()).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'metadata.name' }] } });
    expect((await api(t, 'POST', '/api/v1/namespaces/default/configmaps', { ...cm('x'), kind: 'Secret' })).status).toBe(400);
    expect((await api(t, 'POST', '/api/v1/namespaces/nowhere/configmaps', cm('x'))).json()).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
    expect((await api(t, 'GET', '/api/v1/nodes?fieldSelector=spec.bogus=1')).json()).toMatchObject({ code: 400, message: 'field label not supported: spec.bogus' });
  });

  it('keeps the resourceVersion on a no-op update and bumps generation only for spec changes', async () => {
    const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
    const created = (await api(t, 'POST', '/apis/apps/v1/namespaces/default/deployments', dep)).json<{ metadata: { resourceVersion: string; generation: number } }>();
    expect(created.metadata.generation).toBe(1);
    const labelled = (await api(t, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/d', { metadata: { labels: { x: 'y' } } }, { 'content-type': 'application/merge-patch+json' })).json<{ metadata: { generation: number; resourceVersion: string } }>();
    expect(labelled.metadata.generation).toBe(1);
    const same = (await api(t, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/d', { metadata: { labels: { x: 'y' } } }, { 'content-type': 'application/merge-patch+json' })).json<{ metadata: { resourceVersion: string } }>();
    expect(same.metadata.resourceVersion).toBe(labelled.metadata.resourceVersion);
    const scaled = (await api(t, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/d', { spec: { replicas: 3 } }, { 'content-type': 'application/strategic-merge-patch+json' })).json<{ metadata: { generation: number } }>();
    expect(scaled.metadata.generation).toBe(2);
    await waitFor('status observed generation 2', async () => (await api(t, 'GET', '/apis/apps/v1/namespaces/default/deployments/d')).json<{ status?: { observedGeneration?: number; readyReplicas?: number } }>().status?.readyReplicas === 3);
    // A main-resource write cannot change status.
    const tampered = (await api(t, 'PATCH', '/apis/apps/v1/namespaces/default/deployments/d', { status: { readyReplicas: 0 } }, { 'content-type': 'application/merge-patch+json' })).json<{ status: { readyReplicas: number } }>();
    expect(tampered.status.readyReplicas).toBe(3);
    const dryRun = (await api(t, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/d?dryRun=All')).status;
    expect(dryRun).toBe(200);
    expect((await api(t, 'GET', '/apis/apps/v1/namespaces/default/deployments/d')).status).toBe(200);
    expect((await api(t, 'DELETE', '/apis/apps/v1/namespaces/default/deployments/d')).json()).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'd', group: 'apps', kind: 'deployments' } });
  });

  it('holds an object with finalizers until the last one is removed', async () => {
    await api(t, 'POST', '/api/v1/namespaces/default/configmaps', cm('fin', {}, { finalizers: ['vmstation.io/cleanup'] }));
    const deleting = (await api(t, 'DELETE', '/api/v1/namespaces/default/configmaps/fin')).json<{ metadata: { deletionTimestamp?: string } }>();
    expect(deleting.metadata.deletionTimestamp).toBeDefined();
    expect((await api(t, 'GET', '/api/v1/namespaces/default/configmaps/fin')).status).toBe(200);
    await api(t, 'PATCH', '/api/v1/namespaces/default/configmaps/fin', [{ op: 'remove', path: '/metadata/finalizers' }], { 'content-type': 'application/json-patch+json' });
    expect((await api(t, 'GET', '/api/v1/namespaces/default/configmaps/fin')).status).toBe(404);
  });
});

describe('lists', () => {
  it('filters by label and field selectors and pages with limit/continue', async () => {
    for (let i = 0; i < 5; i++) await api(t, 'POST', '/api/v1/namespaces/default/configmaps', cm(`page-${i}`, { tier: i % 2 === 0 ? 'even' : 'odd', page: 'yes' }));
    const names = async (q: string): Promise<string[]> => (await api(t, 'GET', `/api/v1/namespaces/default/configmaps?${q}`)).json<{ items: Array<{ metadata: { name: string } }> }>().items.map((i) => i.metadata.name);
    expect(await names('labelSelector=tier%3Deven')).toEqual(['page-0', 'page-2', 'page-4']);
    expect(await names('labelSelector=page%3Dyes,tier%20notin%20(even)')).toEqual(['page-1', 'page-3']);
    expect(await names('labelSelector=page,!tier')).toEqual([]);
    expect(await names('fieldSelector=metadata.name%3Dpage-3')).toEqual(['page-3']);
    expect(await names('fieldSelector=metadata.name!%3Dpage-3&labelSelector=page')).toEqual(['page-0', 'page-1', 'page-2', 'page-4']);
    const first = (await api(t, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=page&limit=2')).json<{ items: unknown[]; metadata: { continue: string; remainingItemCount: number } }>();
    expect(first.items).toHaveLength(2);
    expect(first.metadata.remainingItemCount).toBe(3);
    const second = (await api(t, 'GET', `/api/v1/namespaces/default/configmaps?labelSelector=page&limit=2&continue=${encodeURIComponent(first.metadata.continue)}`)).json<{ items: Array<{ metadata: { name: string } }> }>();
    expect(second.items.map((i) => i.metadata.name)).toEqual(['page-2', 'page-3']);
  });
});

describe('watch', () => {
  it('streams events from a resourceVersion, turns selector exits into DELETED, sends bookmarks', async () => {
    const list = (await api(t, 'GET', '/api/v1/namespaces/default/configmaps')).json<{ metadata: { resourceVersion: string } }>();
    await api(t, 'POST', '/api/v1/namespaces/default/configmaps', cm('w1', { watch: 'me' }));
    await api(t, 'PATCH', '/api/v1/namespaces/default/configmaps/w1', { metadata: { labels: { watch: 'not-me' } } }, { 'content-type': 'application/merge-patch+json' });
    const res = await api(t, 'GET', `/api/v1/namespaces/default/configmaps?watch=1&labelSelector=watch%3Dme&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=1`);
    const events = res.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name?: string; resourceVersion: string } } });
    expect(events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED w1', 'DELETED w1']);
    expect(events.some((e) => e.type === 'BOOKMARK')).toBe(true);
  });

  it('starts with synthetic ADDED events without a resourceVersion, and sendInitialEvents ends with the bookmark', async () => {
    const res = await api(t, 'GET', '/api/v1/nodes?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1');
    const events = res.text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name?: string; annotations?: Record<string, string> } } });
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'n1' } } });
    expect(events[1]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
  });
});

describe('custom resources and events.k8s.io', () => {
  it('serves a CRD’s resources at once and marks it Established', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'powerpolicies.vmstation.io' },
      spec: {
        group: 'vmstation.io',
        scope: 'Namespaced',
        names: { plural: 'powerpolicies', singular: 'powerpolicy', kind: 'PowerPolicy', listKind: 'PowerPolicyList' },
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    expect((await api(t, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    const cr = await api(t, 'POST', '/apis/vmstation.io/v1alpha1/namespaces/default/powerpolicies', { apiVersion: 'vmstation.io/v1alpha1', kind: 'PowerPolicy', metadata: { name: 'p' }, spec: { idleAfter: '30m' } });
    expect(cr.status).toBe(201);
    expect(cr.json()).toMatchObject({ metadata: { generation: 1 }, spec: { idleAfter: '30m' } });
    await waitFor('Established', async () =>
      (await api(t, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/powerpolicies.vmstation.io')).json<{ status?: { conditions?: Array<{ type: string; status: string }> } }>().status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'),
    );
    const groups = (await api(t, 'GET', '/apis')).json<{ groups: Array<{ name: string }> }>().groups.map((g) => g.name);
    expect(groups).toContain('vmstation.io');
    expect((await api(t, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/powerpolicies.vmstation.io')).status).toBe(200);
    expect((await api(t, 'GET', '/apis/vmstation.io/v1alpha1/namespaces/default/powerpolicies')).status).toBe(404);
  });

  it('shows an events.k8s.io/v1 Event as a core/v1 Event too', async () => {
    await api(t, 'POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'sleep.1' },
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'vmstation.io/power',
      reportingInstance: 'power-0',
      action: 'Sleep',
      reason: 'Sleeping',
      regarding: { kind: 'Node', name: 'n1' },
      note: 'idle 34m > 30m',
      type: 'Normal',
    });
    const core = (await api(t, 'GET', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dn1,reason%3DSleeping')).json<{ items: Array<Record<string, unknown>> }>();
    expect(core.items).toHaveLength(1);
    expect(core.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'Event', message: 'idle 34m > 30m', involvedObject: { kind: 'Node', name: 'n1' }, reportingComponent: 'vmstation.io/power' });
  });
});

describe('discovery', () => {
  it('answers legacy and aggregated discovery, with pods/eviction as policy/v1 Eviction', async () => {
    const v1 = (await api(t, 'GET', '/api/v1')).json<{ resources: Array<{ name: string; group?: string; version?: string; kind: string }> }>();
    expect(v1.resources.find((r) => r.name === 'pods/eviction')).toMatchObject({ group: 'policy', version: 'v1', kind: 'Eviction' });
    const agg = await api(t, 'GET', '/apis', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    expect(agg.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const coordination = agg.json<{ items: Array<{ metadata: { name: string }; versions: Array<{ resources: Array<{ resource: string }> }> }> }>().items.find((i) => i.metadata.name === 'coordination.k8s.io');
    expect(coordination?.versions[0]?.resources.map((r) => r.resource)).toEqual(['leases']);
    expect((await api(t, 'GET', '/version')).json()).toMatchObject({ major: '1', minor: '35', gitVersion: 'v1.35.4' });
  });
});

describe('fault injection over HTTP', () => {
  it('answers 500 to the next N matching requests, delays, and drops watches', async () => {
    expect((await api(t, 'POST', '/_standin/faults', { kind: 'error', count: 2, method: 'GET', path: '/configmaps' })).status).toBe(201);
    const r1 = await api(t, 'GET', '/api/v1/namespaces/default/configmaps');
    expect(r1.status).toBe(500);
    expect(r1.json()).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect((await api(t, 'GET', '/api/v1/nodes')).status).toBe(200);
    expect((await api(t, 'GET', '/api/v1/namespaces/default/configmaps')).status).toBe(500);
    expect((await api(t, 'GET', '/api/v1/namespaces/default/configmaps')).status).toBe(200);

    await api(t, 'POST', '/_standin/faults', { kind: 'error', status: 429, count: 1 });
    const throttled = await api(t, 'GET', '/api/v1/nodes');
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');

    await api(t, 'POST', '/_standin/faults', { kind: 'delay', delayMs: 300, count: 1, path: '/api/v1/nodes' });
    const started = Date.now();
    expect((await api(t, 'GET', '/api/v1/nodes')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const watch = api(t, 'GET', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=0');
    await waitFor('one open watch', async () => (await api(t, 'GET', '/_standin/faults')).json<{ openWatches: number }>().openWatches === 1);
    expect((await api(t, 'POST', '/_standin/faults/drop-watches', {})).json()).toEqual({ dropped: 1 });
    expect((await watch).status).toBe(200);

    await api(t, 'POST', '/_standin/faults/expire-watches', { count: 1 });
    const expired = await api(t, 'GET', '/api/v1/nodes?watch=1&resourceVersion=0');
    expect(JSON.parse(expired.text)).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
    expect((await api(t, 'DELETE', '/_standin/faults')).json()).toEqual({ rules: [] });
    const stats = (await api(t, 'GET', '/_standin/stats')).json<{ objects: Record<string, number>; rssBytes: number }>();
    expect(stats.objects['/nodes']).toBe(1);
    expect(stats.rssBytes).toBeGreaterThan(0);
  });
});

describe('control client', () => {
  it('drives the fault endpoints with the URL and CA from the kubeconfig', async () => {
    const control = await standinControl(t.kubeconfig);
    const rule = await control.addFault({ kind: 'error', status: 503, count: 1, path: '/api/v1/nodes' });
    expect(rule).toMatchObject({ kind: 'error', status: 503, remaining: 1 });
    expect((await api(t, 'GET', '/api/v1/nodes')).status).toBe(503);
    expect((await control.faults()).rules).toEqual([]);
    await control.expireWatches(1, '/api/v1/nodes');
    expect(JSON.parse((await api(t, 'GET', '/api/v1/nodes?watch=1')).text)).toMatchObject({ type: 'ERROR', object: { code: 410 } });
    await control.compact();
    expect(await control.dropWatches()).toBe(0);
    expect((await control.requests()).some((r) => r.path === '/api/v1/nodes' && r.status === 503)).toBe(true);
    expect(await control.stats()).toMatchObject({ objects: { '/nodes': 1 } });
    await control.clearFaults();
  });
});
