// The demand profile as ConfigMap data (src/power/core/profile-codec.ts): it reads back exactly,
// stays bounded whatever it learned, and a corrupt, oversized or foreign ConfigMap is ignored with
// a sentence saying why (never a throw). The pure feed of the learner (src/power/core/demand.ts):
// which pods are demand, and what decide()'s predictions do to the profile.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { learnFromDecision, nextPredictedWakes, podDemandStarts, predictableNodes } from '../../../src/power/core/demand.js';
import { emptyProfile, HISTORY_DAYS, observeUntil, OUTCOMES_KEPT, recordDemand, recordPredictedWake, recordSleep, type DemandProfile } from '../../../src/power/core/profile.js';
import { MAX_NODE_ENTRY_BYTES, MAX_PROFILE_BYTES, parseProfile, PROFILE_FORMAT, serializeProfile } from '../../../src/power/core/profile-codec.js';
import type { Decision, Policy } from '../../../src/power/core/types.js';
import { examplePolicy, MIN, pod } from './fixtures.js';

const DAY = 86_400_000;
const MONDAY = Date.parse('2026-03-02T00:00:00Z');
const NODE = 'storagenodet3500';

/** Two weeks of demand at 19:00 every day, one used and one unused predicted wake, one pending. */
function learned(tz = 'UTC'): DemandProfile {
  let p = emptyProfile(tz);
  for (let d = 0; d < 14; d++) p = recordDemand(p, NODE, MONDAY + d * DAY + 19 * 60 * MIN);
  p = recordPredictedWake(p, NODE, MONDAY + 8 * DAY + 18 * 60 * MIN, 'weekday');
  p = recordDemand(p, NODE, MONDAY + 8 * DAY + 19 * 60 * MIN);
  p = recordPredictedWake(p, NODE, MONDAY + 9 * DAY + 18 * 60 * MIN, 'time of day');
  p = recordSleep(p, NODE, MONDAY + 9 * DAY + 18 * 60 * MIN + 31 * MIN);
  p = recordPredictedWake(p, NODE, MONDAY + 14 * DAY + 18 * 60 * MIN, 'weekday');
  return observeUntil(p, 'homelab', MONDAY + 14 * DAY);
}

describe('demand profile ConfigMap codec', () => {
  it('reads back exactly what it wrote, one key per node plus format and time zone', () => {
    const p = learned('Europe/Berlin');
    const { data, omitted } = serializeProfile(p, ['homelab', NODE]);
    expect(omitted).toEqual([]);
    expect(Object.keys(data)).toEqual(['format', 'timezone', 'node.homelab', `node.${NODE}`]);
    expect(data['format']).toBe(PROFILE_FORMAT);
    expect(parseProfile(data, 'Europe/Berlin', ['homelab', NODE])).toEqual({ profile: p, problems: [] });
  });

  it('keeps only the nodes asked for, and drops entries of nodes no longer predictable without a warning', () => {
    const p = learned();
    expect(Object.keys(serializeProfile(p, [NODE]).data)).toEqual(['format', 'timezone', `node.${NODE}`]);
    const back = parseProfile(serializeProfile(p, ['homelab', NODE]).data, 'UTC', ['homelab']);
    expect(Object.keys(back.profile.nodes)).toEqual(['homelab']);
    expect(back.problems).toEqual([]);
  });

  it('property: whatever it learned, each node entry fits MAX_NODE_ENTRY_BYTES and reads back equal', () => {
    const event = fc.record({ kind: fc.constantFrom('demand', 'wake', 'sleep'), minute: fc.integer({ min: 0, max: 200 * 24 * 60 }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 600 }), (events) => {
        let p = emptyProfile('UTC');
        for (const e of [...events].sort((x, y) => x.minute - y.minute)) {
          const t = MONDAY + e.minute * MIN;
          p = e.kind === 'demand' ? recordDemand(p, NODE, t) : e.kind === 'wake' ? recordPredictedWake(p, NODE, t, e.minute % 2 ? 'weekday' : 'time of day') : recordSleep(p, NODE, t);
        }
        const { data } = serializeProfile(p, [NODE]);
        for (const [k, v] of Object.entries(data)) if (k.startsWith('node.')) expect(v.length).toBeLessThanOrEqual(MAX_NODE_ENTRY_BYTES);
        expect(parseProfile(data, 'UTC', [NODE]).profile).toEqual(p);
      }),
      { numRuns: 60 },
    );
  });

  it('a full history (56 days, 16 outcomes, a pending wake) still fits, so about 490 nodes fit in one ConfigMap', () => {
    let p = emptyProfile('UTC');
    for (let d = 0; d < HISTORY_DAYS; d++) for (let s = 0; s < 96; s++) p = recordDemand(p, NODE, MONDAY + d * DAY + s * 15 * MIN);
    for (let i = 0; i < OUTCOMES_KEPT; i++) {
      p = recordPredictedWake(p, NODE, MONDAY + (HISTORY_DAYS - 1) * DAY + i * MIN, 'time of day');
      p = recordSleep(p, NODE, MONDAY + (HISTORY_DAYS - 1) * DAY + i * MIN + 1);
    }
    p = recordPredictedWake(p, NODE, MONDAY + HISTORY_DAYS * DAY, 'time of day');
    const entry = serializeProfile(p, [NODE]).data[`node.${NODE}`]!;
    expect(entry.length).toBeLessThanOrEqual(MAX_NODE_ENTRY_BYTES);
    expect(Math.floor(MAX_PROFILE_BYTES / (entry.length + `node.${NODE}`.length))).toBeGreaterThanOrEqual(490);
  });

  it('leaves out the nodes that would pass the ConfigMap budget, last in name order, and says which', () => {
    const entry = serializeProfile(learned(), [NODE]).data[`node.${NODE}`]!;
    const many = Math.ceil(MAX_PROFILE_BYTES / entry.length) + 3;
    const names = Array.from({ length: many }, (_, i) => `w${String(i).padStart(4, '0')}`);
    const p: DemandProfile = { version: 1, timezone: 'UTC', nodes: Object.fromEntries(names.map((n) => [n, learned().nodes[NODE]!])) };
    const { data, omitted } = serializeProfile(p, names);
    const bytes = Object.entries(data).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(bytes).toBeLessThanOrEqual(MAX_PROFILE_BYTES);
    expect(omitted.length).toBeGreaterThan(0);
    expect(omitted).toEqual(names.slice(names.length - omitted.length));
    expect(Object.keys(data).length - 2 + omitted.length).toBe(many);
  });

  it('ignores a corrupt node entry with the reason; the other nodes are kept', () => {
    const { data } = serializeProfile(learned(), ['homelab', NODE]);
    const cases: Array<[string, string]> = [
      ['{not json', 'entry is not JSON'],
      ['[1,2]', 'entry is not an object'],
      ['{"lastDay":-1,"days":"","outcomes":[]}', 'lastDay is not a day number'],
      ['{"lastDay":20500,"days":"00zz00000000000000000000","outcomes":[]}', 'days is not 1 to 56 days of 24 lowercase hex digits'],
      [`{"lastDay":20500,"days":"${'0'.repeat(24 * 57)}","outcomes":[]}`, 'days is not 1 to 56 days of 24 lowercase hex digits'],
      ['{"lastDay":20500,"days":"000000000000000000000000","outcomes":[[1,2,"w"]]}', 'an outcome is not [time, 0|1, "w"|"t"]'],
      ['{"lastDay":20500,"days":"000000000000000000000000","outcomes":[],"pending":"soon"}', 'pending is not [time, "w"|"t"]'],
      ['{"lastDay":20500,"days":"000000000000000000000000","outcomes":[],"extra":1}', 'unknown field extra'],
      [`{"lastDay":20500,"days":"000000000000000000000000","outcomes":[],"pad":"${'x'.repeat(MAX_NODE_ENTRY_BYTES)}"}`, `longer than a bounded history (${MAX_NODE_ENTRY_BYTES})`],
    ];
    for (const [value, why] of cases) {
      const r = parseProfile({ ...data, [`node.${NODE}`]: value }, 'UTC', ['homelab', NODE]);
      expect(Object.keys(r.profile.nodes)).toEqual(['homelab']);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toContain(`node ${NODE}: `);
      expect(r.problems[0]).toContain(why);
      expect(r.problems[0]).toContain('its learning starts over');
    }
    expect(parseProfile({ ...data, stray: 'x' }, 'UTC', [NODE]).problems).toEqual(['key "stray" is not node.NAME; ignored']);
  });

  it('ignores the whole ConfigMap when oversized, of another format, or learned in another time zone', () => {
    const { data } = serializeProfile(learned(), [NODE]);
    const big = parseProfile({ ...data, 'node.x': 'y'.repeat(MAX_PROFILE_BYTES) }, 'UTC', [NODE]);
    expect(big.profile.nodes).toEqual({});
    expect(big.problems[0]).toMatch(/^\d+ bytes is more than a profile can take \(1000000\); ignored, learning starts over$/);
    expect(parseProfile({ ...data, format: 'v0' }, 'UTC', [NODE]).problems).toEqual([`format is "v0", not "${PROFILE_FORMAT}"; ignored, learning starts over`]);
    const tz = parseProfile(data, 'Europe/Berlin', [NODE]);
    expect(tz.profile).toEqual(emptyProfile('Europe/Berlin'));
    expect(tz.problems).toEqual(['learned in time zone "UTC", spec.power.timezone is now "Europe/Berlin"; ignored, learning starts over']);
    // No ConfigMap yet, or an empty one: a fresh profile and nothing to warn about.
    expect(parseProfile(undefined, 'UTC', [NODE])).toEqual({ profile: emptyProfile('UTC'), problems: [] });
    expect(parseProfile({}, 'UTC', [NODE])).toEqual({ profile: emptyProfile('UTC'), problems: [] });
  });

  it('property: never throws on arbitrary data, and what it keeps is bounded', () => {
    const value = fc.oneof(fc.string(), fc.json(), fc.constant('{"lastDay":1,"days":"000000000000000000000000","outcomes":[]}'));
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.constantFrom('format', 'timezone', `node.${NODE}`, 'node.homelab'), fc.string()), value), (raw) => {
        const data = { format: PROFILE_FORMAT, timezone: 'UTC', ...raw };
        const r = parseProfile(data, 'UTC', [NODE, 'homelab']);
        for (const h of Object.values(r.profile.nodes)) {
          expect(h.days.length).toBeLessThanOrEqual(HISTORY_DAYS);
          expect(h.outcomes.length).toBeLessThanOrEqual(OUTCOMES_KEPT);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('what the learner is fed', () => {
  const policy: Policy = { ...examplePolicy(), predict: { threshold: 0.6, unusedAfterSeconds: 1800 } };

  it('only sleepable nodes are predictable', () => {
    expect(predictableNodes(policy)).toEqual(Object.values(policy.nodes).filter((n) => n.autoSleep && n.alwaysOnReasons.length === 0).map((n) => n.name).sort());
    expect(predictableNodes(policy)).toContain(NODE);
    expect(predictableNodes(policy)).not.toContain('masternode');
  });

  it('counts a pod bound to a sleepable node at its creation, but not DaemonSet, ignored-namespace, finished or wake-on-request pods', () => {
    const jellyfin = policy.apps.find((a) => a.name === 'jellyfin')!;
    expect(jellyfin.wakeOnRequest).toBe(true);
    const now = MONDAY + 20 * 60 * MIN;
    const created = MONDAY + 19 * 60 * MIN;
    const pods = [
      pod('default', 'job', { nodeName: NODE, createdAt: created }),
      pod('default', 'ds', { nodeName: NODE, createdAt: created, ownerKind: 'DaemonSet' }),
      pod('monitoring', 'mon', { nodeName: NODE, createdAt: created }),
      pod('default', 'done', { nodeName: NODE, createdAt: created, phase: 'Succeeded' }),
      pod('default', 'gone', { nodeName: NODE, createdAt: created, terminating: true }),
      pod(jellyfin.namespace, 'jellyfin-0', { nodeName: NODE, createdAt: created, labels: { 'app.kubernetes.io/name': 'jellyfin' } }),
      pod('default', 'on-master', { nodeName: 'masternode', createdAt: created }),
      pod('default', 'unbound', { createdAt: created }),
      pod('default', 'skewed', { nodeName: NODE, createdAt: now + 60_000 }),
      pod('default', 'unreadable', { nodeName: NODE, createdAt: 0 }),
    ];
    expect(podDemandStarts(pods, policy, now)).toEqual([
      { node: NODE, at: created, pod: 'default/job' },
      { node: NODE, at: now, pod: 'default/skewed' },
    ]);
  });

  it('a predicted wake is recorded with its basis; a sleep while it is pending is a miss; other actions change nothing', () => {
    let p = emptyProfile('UTC');
    for (let d = 0; d < 8; d++) p = recordDemand(p, NODE, MONDAY + d * DAY + 19 * 60 * MIN);
    const now = MONDAY + 8 * DAY + 18 * 60 * MIN + 40 * MIN;
    p = observeUntil(p, NODE, now);
    const wake: Decision = { actions: [{ kind: 'wake', node: NODE, reason: 'r', source: 'predicted', drivers: ['wol'], attempt: 1 }], skipped: [], active: [], requests: [], problems: [] };
    const a = learnFromDecision(p, policy, wake, now);
    expect(a.predicted).toEqual([NODE]);
    expect(a.profile.nodes[NODE]?.pendingSince).toBe(now);
    expect(a.profile.nodes[NODE]?.pendingBasis).toBe('weekday');
    const sleep: Decision = { ...wake, actions: [{ kind: 'sleep', node: NODE, reason: 'r', evict: [] }] };
    const b = learnFromDecision(a.profile, policy, sleep, now + 31 * MIN);
    expect(b.unused).toEqual([NODE]);
    expect(b.profile.nodes[NODE]?.outcomes).toEqual([{ at: now + 31 * MIN, used: false, basis: 'weekday' }]);
    const other: Decision = { ...wake, actions: [{ kind: 'wake', node: NODE, reason: 'r', source: 'manual', drivers: ['wol'], attempt: 1 }] };
    expect(learnFromDecision(b.profile, policy, other, now + 40 * MIN)).toEqual({ profile: b.profile, predicted: [], unused: [] });
  });

  it('nextPredictedWakes gives each predictable node its next wake ahead, none with predict off', () => {
    let p = emptyProfile('UTC');
    for (let d = 0; d < 8; d++) p = recordDemand(p, NODE, MONDAY + d * DAY + 19 * 60 * MIN);
    const now = MONDAY + 8 * DAY + 12 * 60 * MIN;
    p = observeUntil(p, NODE, now);
    const next = nextPredictedWakes(p, policy, now);
    expect([...next.keys()]).toEqual([NODE]);
    // The first minute whose wait window (Ready 1 min later, then unusedAfter 30 min) holds the 19:00 slot.
    expect(next.get(NODE)).toEqual({ at: MONDAY + 8 * DAY + (18 * 60 + 44) * MIN, reason: 'predicted demand: demand started 18:45-19:15 on 1 of the last 1 Tuesdays (chance 100 % >= 60 %); waking 1m boot ahead' });
    expect(nextPredictedWakes(p, { ...policy, predict: undefined }, now).size).toBe(0);
  });
});
