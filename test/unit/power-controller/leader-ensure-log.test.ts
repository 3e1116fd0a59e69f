import { PassThrough } from 'node:stream';
import type { V1Lease, V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../../src/config/validate.js';
import { POWER_ANNOTATIONS, parsePowerRequest } from '../../../src/power/controller/annotations.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { ensureAwake } from '../../../src/power/controller/ensure-awake.js';
import { LeaderElector, type LeaseApi } from '../../../src/power/controller/leader.js';
import { jsonLogger, silentLogger } from '../../../src/power/controller/log.js';

/** An in-memory Lease store with the API server's optimistic concurrency (409 on a stale resourceVersion). */
class LeaseStore implements LeaseApi {
  lease: V1Lease | undefined;
  private rv = 0;
  async getLease(): Promise<V1Lease | undefined> {
    return this.lease && structuredClone(this.lease);
  }
  async createLease(_ns: string, lease: V1Lease): Promise<V1Lease> {
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
  async replaceLease(_ns: string, lease: V1Lease): Promise<V1Lease> {
    if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

describe('leader election', () => {
  const elector = (store: LeaseApi, clock: ManualClock, identity: string) =>
    new LeaderElector(store, { namespace: 'vmstation-system', name: 'vmstation-power-manager', identity, leaseDurationSeconds: 15, renewIntervalMs: 5000, clock, log: silentLogger });

  it('lets one replica lead, the other takes over only after the lease expires', async () => {
    const clock = new ManualClock(0);
    const store = new LeaseStore();
    const a = elector(store, clock, 'a');
    const b = elector(store, clock, 'b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await clock.advance(10_000);
    expect(await a.tryAcquireOrRenew()).toBe(true); // renewed
    await clock.advance(14_000);
    expect(await b.tryAcquireOrRenew()).toBe(false); // 14 s after the renewal: still held
    // a stops renewing (crashed): 16 s after its last renewal b takes the Lease.
    await clock.advance(2_000);
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(store.lease?.spec?.holderIdentity).toBe('b');
    expect(store.lease?.spec?.leaseTransitions).toBe(1);
    // a comes back: it has not renewed within the lease duration, so it no longer thinks it leads.
    expect(a.isLeader()).toBe(false);
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('loses the race on a stale resourceVersion (409) instead of overwriting', async () => {
    const clock = new ManualClock(0);
    const store = new LeaseStore();
    const a = elector(store, clock, 'a');
    await a.tryAcquireOrRenew();
    await clock.advance(20_000); // expired
    const b = elector(store, clock, 'b');
    const c = elector(store, clock, 'c');
    // b and c both read the expired lease; only the first write wins.
    const stale = await store.getLease();
    const origGet = store.getLease.bind(store);
    store.getLease = async () => structuredClone(stale);
    const [rb, rc] = [await b.tryAcquireOrRenew(), await c.tryAcquireOrRenew()];
    store.getLease = origGet;
    expect([rb, rc]).toEqual([true, false]);
    expect(store.lease?.spec?.holderIdentity).toBe('b');
  });

  it('releases the lease on stop so the other replica takes over at once', async () => {
    const clock = new ManualClock(0);
    const store = new LeaseStore();
    const a = elector(store, clock, 'a');
    await a.tryAcquireOrRenew();
    await a.release();
    expect(store.lease?.spec?.holderIdentity).toBe('');
    expect(await elector(store, clock, 'b').tryAcquireOrRenew()).toBe(true);
  });
});

describe('ensureAwake', () => {
  const cluster = validateText({
    file: 'c.yaml',
    text: `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: t }
spec:
  network: { subnet: 10.78.0.0/24 }
  nodes:
    - { name: cp, address: 10.78.0.63, os: debian-12, roles: [control-plane] }
    - { name: a, address: 10.78.0.61, mac: "02:00:0a:4e:00:3d", os: debian-12, roles: [worker], power: { autoSleep: true } }
    - { name: b, address: 10.78.0.62, mac: "02:00:0a:4e:00:3e", os: debian-12, roles: [worker], power: { autoSleep: true } }
`,
  }).cluster!;

  function fakeKube(nodes: Record<string, { state?: string; ready: boolean }>) {
    const patches: Array<{ node: string; patch: unknown }> = [];
    const node = (name: string): V1Node | undefined => {
      const n = nodes[name];
      if (!n) return undefined;
      return { metadata: { name, annotations: n.state ? { [POWER_ANNOTATIONS.state]: n.state, [POWER_ANNOTATIONS.since]: '2026-01-01T00:00:00Z', [POWER_ANNOTATIONS.reason]: n.state === 'failed' ? 'not Ready after 3 wake attempts' : 'x' } : {} }, status: { conditions: [{ type: 'Ready', status: n.ready ? 'True' : 'False' }] } };
    };
    return {
      patches,
      kube: {
        getNode: async (name: string) => node(name),
        patchNode: async (name: string, patch: object) => {
          patches.push({ node: name, patch });
          return node(name) as V1Node;
        },
      },
    };
  }

  it('leaves awake nodes alone, requests wakes for the others and reports each outcome', async () => {
    const clock = new ManualClock(0);
    const nodes: Record<string, { state?: string; ready: boolean }> = { cp: { ready: true }, a: { state: 'asleep', ready: false }, b: { state: 'asleep', ready: false } };
    const { kube, patches } = fakeKube(nodes);
    const run = ensureAwake(cluster, ['cp', 'a', 'b', 'ghost'], { kube, clock, timeoutMs: 10_000, pollMs: 1000 });
    let settled = false;
    void run.then(() => (settled = true));
    // One second at a time, once the waiters sleep on the clock (their API calls take event-loop turns).
    for (let second = 1; !settled && second <= 12; second++) {
      while (clock.pending() === 0 && !settled) await new Promise((r) => setImmediate(r));
      for (let turn = 0; turn < 20; turn++) await new Promise((r) => setImmediate(r)); // the other waiter too
      if (second === 3) nodes['a'] = { state: 'awake', ready: true };
      if (second === 5) nodes['b'] = { state: 'failed', ready: false };
      await clock.advance(1000);
    }
    const results = await run;
    expect(results).toEqual([
      { node: 'cp', ok: true, state: 'awake', woken: false, message: 'awake and Ready' },
      { node: 'a', ok: true, state: 'awake', woken: true, message: 'woken: awake and Ready' },
      { node: 'b', ok: false, state: 'failed', woken: true, message: 'not Ready after 3 wake attempts' },
      { node: 'ghost', ok: false, state: 'unknown', woken: false, message: 'not in the cluster file' },
    ]);
    const requested = patches.map((p) => ({ node: p.node, req: parsePowerRequest((p.patch as { metadata: { annotations: Record<string, string> } }).metadata.annotations) }));
    expect(requested.map((r) => `${r.node}:${r.req?.action}:${r.req?.source}`)).toEqual(['a:wake:preflight', 'b:wake:preflight']);
  });

  it('gives up at the timeout and says the power manager may not be running', async () => {
    const clock = new ManualClock(0);
    const { kube } = fakeKube({ a: { state: 'asleep', ready: false } });
    const run = ensureAwake(cluster, ['a'], { kube, clock, timeoutMs: 5000, pollMs: 1000 });
    let settled = false;
    void run.then(() => (settled = true));
    // Advance only once ensureAwake waits on the clock (its API calls take event-loop turns).
    while (!settled) {
      while (clock.pending() === 0 && !settled) await new Promise((r) => setImmediate(r));
      await clock.advance(1000);
    }
    const [r] = await run;
    expect(r).toMatchObject({ ok: false, state: 'asleep', woken: true });
    expect(r!.message).toContain('is the power manager running?');
  });
});

describe('JSON logs', () => {
  it('write one JSON object per line and redact secret-looking fields', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const log = jsonLogger(out, { now: () => 0, base: { component: 'test' } });
    log.info('hello', { node: 'a', token: 'sekret-value', authorization: 'Bearer x', bmcPassword: 'p' });
    log.debug('not shown');
    const line = JSON.parse(text.trim()) as Record<string, unknown>;
    expect(line).toEqual({ time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'hello', component: 'test', node: 'a', token: '[redacted]', authorization: '[redacted]', bmcPassword: '[redacted]' });
    expect(text).not.toContain('sekret');
  });
});
