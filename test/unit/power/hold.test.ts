// Issue 13 section 4: a maintenance hold wakes every held node and keeps every one of them awake,
// with the hold's reason, until it is released or its time passes. The decision is decide()'s: one
// wake stage and the first sleep gate (src/power/core/hold.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, PIPELINE } from '../../../src/power/core/decide.js';
import { activeHold, activeHolds, holdChanges } from '../../../src/power/core/hold.js';
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

describe('holdChanges (what the controller tells in Events)', () => {
  const m = (entries: Array<[string, MaintenanceHold[]]>) => new Map(entries);
  const manual = hold({ id: 'manual', reason: 'disk swap', until: T0 + 30 * MIN });
  const run = hold({ id: 'deploy-9', until: T0 + 240 * MIN });

  it('a hold in force for the first time is taken; one gone before its end is released; one past its end is expired', () => {
    expect(holdChanges(m([]), m([['homelab', [manual]], ['masternode', []]]), T0)).toEqual([{ node: 'homelab', kind: 'taken', hold: manual }]);
    expect(holdChanges(m([['homelab', [manual, run]]]), m([['homelab', [run]]]), T0 + MIN)).toEqual([{ node: 'homelab', kind: 'released', hold: manual }]);
    // Past its end: expired whether the annotation still records it or someone removed it since.
    expect(holdChanges(m([['homelab', [manual, run]]]), m([['homelab', [manual, run]]]), T0 + 30 * MIN)).toEqual([{ node: 'homelab', kind: 'expired', hold: manual }]);
    expect(holdChanges(m([['homelab', [manual]]]), m([['homelab', []]]), T0 + 31 * MIN)).toEqual([{ node: 'homelab', kind: 'expired', hold: manual }]);
  });

  it('nothing changed says nothing; a hold taken again with a later end is announced again; a deleted Node gives nothing', () => {
    expect(holdChanges(m([['homelab', [manual]]]), m([['homelab', [manual]]]), T0 + MIN)).toEqual([]);
    const longer = { ...manual, until: T0 + 90 * MIN };
    expect(holdChanges(m([['homelab', [manual]]]), m([['homelab', [longer]]]), T0 + MIN)).toEqual([{ node: 'homelab', kind: 'taken', hold: longer }]);
    expect(holdChanges(m([['node4', [manual]]]), m([['homelab', []]]), T0 + MIN)).toEqual([]);
    // Recorded but already past its end when first seen (a crashed run's, seen after a restart): nothing to announce.
    expect(holdChanges(m([]), m([['homelab', [{ ...manual, until: T0 - MIN }]]]), T0)).toEqual([]);
  });

  it('each hold is announced once and ends once, over any sequence of looks', () => {
    const step = fc.record({ present: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), advanceMin: fc.integer({ min: 0, max: 40 }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        const all = [hold({ id: 'a', until: T0 + 20 * MIN }), hold({ id: 'b', until: T0 + 60 * MIN }), hold({ id: 'c', until: T0 + 200 * MIN })];
        let before = new Map<string, MaintenanceHold[]>();
        let now = T0;
        const taken = new Map<string, number>();
        const ended = new Map<string, number>();
        for (const s of steps) {
          now += s.advanceMin * MIN;
          const recorded = new Map([['homelab', all.filter((_, i) => s.present[i])]]);
          for (const c of holdChanges(before, recorded, now)) (c.kind === 'taken' ? taken : ended).set(c.hold.id, ((c.kind === 'taken' ? taken : ended).get(c.hold.id) ?? 0) + 1);
          before = new Map([...recorded].map(([n, hs]) => [n, hs.filter((h) => h.until > now)]));
          // At every moment, announced minus ended is exactly the holds in force.
          for (const h of all) expect((taken.get(h.id) ?? 0) - (ended.get(h.id) ?? 0), h.id).toBe(before.get('homelab')!.some((x) => x.id === h.id) ? 1 : 0);
        }
      }),
      { numRuns: Number(process.env.POWER_PROPERTY_RUNS ?? 200) },
    );
  });
});
