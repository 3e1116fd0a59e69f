// Issue 13 section 4: a maintenance hold wakes every held node and keeps every one of them awake,
// with the hold's reason, until it is released or its time passes. The decision is decide()'s: one
// wake stage and the first sleep gate (src/power/core/hold.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, PIPELINE } from '../../../src/power/core/decide.js';
import { activeHold, activeHolds } from '../../../src/power/core/hold.js';
import { SLEEP_GATES } from '../../../src/power/core/sleeps.js';
import { POWER_STATES, type MaintenanceHold } from '../../../src/power/core/types.js';
import { asleep, examplePolicy, exampleNodes, MIN, node, observed, T0 } from './fixtures.js';

const hold = (over: Partial<MaintenanceHold> = {}): MaintenanceHold => ({ id: 'deploy-1', reason: 'vmstation deploy of homelab (upgrade to 1.35.4)', until: T0 + 60 * MIN, ...over });
const until = new Date(T0 + 60 * MIN).toISOString();

describe('maintenance hold in decide()', () => {
  it('is a stage of the pipeline and the first sleep gate, asked for people\'s requests too', () => {
    expect(PIPELINE.map((s) => s.name)).toContain('wake wishes: maintenance holds');
    expect(SLEEP_GATES[0]).toMatchObject({ name: 'no maintenance hold', requests: true });
  });

  it('wakes held sleeping nodes, with the reason, and keeps an idle awake one from sleeping', () => {
    const policy = examplePolicy({ maxConcurrentTransitions: 2 });
    const nodes = exampleNodes({ storagenodet3500: asleep('storagenodet3500', { holds: [hold()] }), homelab: { holds: [hold()] } });
    // Without the hold: homelab (idle all day) would sleep and storagenodet3500 stay asleep.
    const free = decide(observed({ nodes: nodes.map((n) => ({ ...n, holds: undefined })) }), policy, T0);
    expect(free.actions.map((a) => [a.kind, a.node])).toEqual([['sleep', 'homelab']]);
    const d = decide(observed({ nodes }), policy, T0);
    expect(d.actions).toEqual([{ kind: 'wake', node: 'storagenodet3500', source: 'maintenance', reason: `maintenance hold (vmstation deploy of homelab (upgrade to 1.35.4)) until ${until}`, drivers: ['wol'], attempt: 1 }]);
    expect(d.skipped).toContainEqual({ node: 'homelab', reason: `stays awake: maintenance hold (vmstation deploy of homelab (upgrade to 1.35.4)) until ${until}` });
  });

  it('rolls back a node that is draining when the hold comes, and refuses a person\'s sleep request with the hold as the reason', () => {
    const draining = node('homelab', { unschedulable: true, cordonedByPowerManager: true, power: { state: 'draining', since: T0 - MIN, reason: 'idle', attempts: 0 }, holds: [hold()] });
    const d = decide(observed({ nodes: exampleNodes({ homelab: draining }) }), examplePolicy(), T0);
    expect(d.actions).toContainEqual(expect.objectContaining({ kind: 'cancel-sleep', node: 'homelab' }));
    const held = exampleNodes({ storagenodet3500: { holds: [hold()] } });
    const r = decide(observed({ nodes: held, sleepRequests: [{ node: 'storagenodet3500', source: 'manual', at: T0 - 1000, reason: 'by hand' }] }), examplePolicy(), T0);
    expect(r.requests).toEqual([{ node: 'storagenodet3500', action: 'sleep', outcome: 'refused', reason: expect.stringContaining('maintenance hold (vmstation deploy') }]);
    expect(r.actions.filter((a) => a.kind === 'sleep').map((a) => a.node)).toEqual(['homelab']);
  });

  it('retries a failed node at once (a person waits on maintenance), and names a node no driver can wake', () => {
    const failed = asleep('homelab', { power: { state: 'failed', since: T0 - MIN, reason: 'no answer', attempts: 3 }, holds: [hold()] });
    const d = decide(observed({ nodes: exampleNodes({ homelab: failed }) }), examplePolicy(), T0);
    expect(d.actions).toContainEqual(expect.objectContaining({ kind: 'retry-wake', node: 'homelab' }));
    const policy = examplePolicy();
    policy.nodes = { ...policy.nodes, homelab: { ...policy.nodes['homelab']!, usableDrivers: [], unusableDrivers: ['wol: no mac'] } };
    const n = decide(observed({ nodes: exampleNodes({ homelab: asleep('homelab', { holds: [hold()] }) }) }), policy, T0);
    expect(n.skipped).toContainEqual({ node: 'homelab', reason: `maintenance hold (vmstation deploy of homelab (upgrade to 1.35.4)) until ${until}: no configured driver can wake it (wol: no mac)` });
  });

  it('expires at its time: from `until` on, the node sleeps again as if there were none (a crashed run\'s hold)', () => {
    const nodes = exampleNodes({ homelab: { holds: [hold()] }, storagenodet3500: { holds: [hold()] } });
    const policy = examplePolicy({ maxConcurrentTransitions: 2 });
    expect(decide(observed({ nodes }), policy, T0 + 60 * MIN - 1).actions).toEqual([]);
    expect(decide(observed({ nodes }), policy, T0 + 60 * MIN).actions.map((a) => [a.kind, a.node])).toEqual([['sleep', 'homelab'], ['sleep', 'storagenodet3500']]);
    const sleeping = exampleNodes({ homelab: asleep('homelab', { holds: [hold({ until: T0 })] }), storagenodet3500: asleep('storagenodet3500') });
    expect(decide(observed({ nodes: sleeping }), policy, T0).actions).toEqual([]);
  });

  it('takes the hold lasting longest when several are on a node; expired ones are ignored', () => {
    const n = { holds: [hold({ id: 'a', until: T0 - 1 }), hold({ id: 'b', until: T0 + 5 * MIN }), hold({ id: 'c', until: T0 + 9 * MIN })] };
    expect(activeHold(n, T0)?.id).toBe('c');
    expect(activeHolds(n, T0).map((h) => h.id)).toEqual(['b', 'c']);
    expect(activeHold(n, T0 + 9 * MIN)).toBeUndefined();
  });
});

describe('maintenance hold properties', () => {
  const arb = fc.record({
    states: fc.tuple(...['masternode', 'storagenodet3500', 'homelab'].map(() => fc.constantFrom(...POWER_STATES))),
    ready: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
    holdMin: fc.tuple(...[0, 1, 2].map(() => fc.option(fc.integer({ min: -120, max: 120 }), { nil: undefined }))),
    idleMin: fc.integer({ min: 0, max: 600 }),
    sleepRequest: fc.boolean(),
    limit: fc.integer({ min: 1, max: 3 }),
  });

  it('no sleep decision for a node while its hold is active, and every expired or absent hold changes nothing', () => {
    fc.assert(
      fc.property(arb, (w) => {
        const names = ['masternode', 'storagenodet3500', 'homelab'];
        const nodes = exampleNodes().map((n, i) => ({
          ...n,
          ready: w.ready[i]!,
          power: { state: w.states[i]!, since: T0 - w.idleMin * MIN, reason: 'generated', attempts: 1 },
          lastActivityAt: T0 - w.idleMin * MIN,
          controllerObservedSince: T0 - 600 * MIN,
          holds: w.holdMin[i] === undefined ? undefined : [hold({ id: `h${i}`, until: T0 + w.holdMin[i]! * MIN })],
        }));
        const sleepRequests = w.sleepRequest ? names.map((n) => ({ node: n, source: 'manual' as const, at: T0 - 1000, reason: 'test' })) : [];
        const policy = examplePolicy({ maxConcurrentTransitions: w.limit });
        const d = decide(observed({ nodes, sleepRequests }), policy, T0);
        for (const [i, n] of nodes.entries()) {
          const held = w.holdMin[i] !== undefined && w.holdMin[i]! > 0;
          if (held) {
            expect(d.actions.some((a) => a.node === n.name && a.kind === 'sleep'), `${n.name} slept while held`).toBe(false);
            expect(d.requests.some((r) => r.node === n.name && r.action === 'sleep' && r.outcome === 'done' && n.power.state === 'awake'), `${n.name}: sleep request done while held`).toBe(false);
          }
        }
        // An expired hold is the same as none at all.
        const none = decide(observed({ nodes: nodes.map((n, i) => (w.holdMin[i] !== undefined && w.holdMin[i]! <= 0 ? { ...n, holds: undefined } : n)), sleepRequests }), policy, T0);
        expect(d).toEqual(none);
      }),
      { numRuns: Number(process.env.POWER_PROPERTY_RUNS ?? 200) },
    );
  });
});
