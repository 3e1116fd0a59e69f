// The demand-profile learner (profile.ts) and the predictive-wake stage of decide() (predict.ts):
// slots in the policy's time zone, the evidence sentence, the weekday/time-of-day bases, bounded
// size, strict causality, unused predicted wakes going back to sleep, and nothing at all when
// predict is off.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/power/core/decide.js';
import { nextPredictedWake, predictWake } from '../../../src/power/core/predict.js';
import { emptyProfile, forecast, HISTORY_DAYS, localSlot, observeUntil, OUTCOMES_KEPT, recordDemand, recordPredictedWake, recordSleep, type DemandProfile } from '../../../src/power/core/profile.js';
import type { PredictPolicy } from '../../../src/power/core/types.js';
import { asleep, controlPlane, examplePolicy, MIN, node, observed } from './fixtures.js';

const DAY = 86_400_000;
const THURSDAY = Date.parse('2026-03-05T00:00:00Z'); // a Thursday
const PREDICT: PredictPolicy = { threshold: 0.6, unusedAfterSeconds: 30 * 60 };
const NODE = 'storagenodet3500';

/** Six past Thursdays, demand at 18:50 on all but the third most recent, watched every day until `until`. */
function thursdays(until: number, tz = 'UTC'): DemandProfile {
  let p = emptyProfile(tz);
  for (let week = 6; week >= 1; week--) {
    const day = THURSDAY - week * 7 * DAY;
    p = observeUntil(p, NODE, day);
    if (week !== 3) p = recordDemand(p, NODE, day + (18 * 60 + 50) * MIN);
  }
  return observeUntil(p, NODE, until);
}

describe('demand profile', () => {
  it('puts a demand in the 15-minute slot of its local time, in the policy time zone', () => {
    const t = Date.parse('2026-03-05T17:50:00Z'); // 18:50 in Berlin (CET, +1)
    expect(localSlot(t, 'UTC')).toEqual({ day: Math.floor(t / DAY), weekday: 4, slot: 71 });
    expect(localSlot(t, 'Europe/Berlin')).toEqual({ day: Math.floor(t / DAY), weekday: 4, slot: 75 });
    // After the summer-time change (2026-03-29) Berlin is +2.
    expect(localSlot(Date.parse('2026-04-02T16:50:00Z'), 'Europe/Berlin').slot).toBe(75);
  });

  it('names the evidence: "demand started 18:45-19:15 on 5 of the last 6 Thursdays", weighting recent weeks more', () => {
    const now = THURSDAY + (18 * 60 + 44) * MIN;
    const f = forecast(thursdays(now), NODE, now, THURSDAY + (18 * 60 + 45) * MIN, THURSDAY + (19 * 60 + 15) * MIN);
    expect(f?.evidence).toBe('demand started 18:45-19:15 on 5 of the last 6 Thursdays');
    expect(f?.basis).toBe('weekday');
    // Weights 0.7^0..0.7^5; the miss is the third most recent week (weight 0.49).
    const weights = [1, 0.7, 0.49, 0.343, 0.2401, 0.16807];
    const total = weights.reduce((a, b) => a + b, 0);
    expect(f?.chance).toBeCloseTo((total - 0.49) / total, 10);
  });

  it('falls back to time of day across all days while there is one week or less of the same weekday', () => {
    let p = emptyProfile('UTC');
    const monday = Date.parse('2026-03-02T00:00:00Z');
    for (let d = 0; d < 3; d++) p = recordDemand(p, NODE, monday + d * DAY + (7 * 60 + 5) * MIN);
    p = observeUntil(p, NODE, monday + 3 * DAY);
    const now = monday + 3 * DAY + 6 * 60 * MIN;
    const f = forecast(p, NODE, now, monday + 3 * DAY + 7 * 60 * MIN, monday + 3 * DAY + (7 * 60 + 15) * MIN);
    expect(f).toEqual({ basis: 'time of day', chance: 1, evidence: 'demand started 07:00-07:15 on 3 of the last 3 days' });
    // With a single past day there is no forecast at all.
    const young = observeUntil(recordDemand(emptyProfile('UTC'), NODE, monday + 7 * 60 * MIN), NODE, monday + DAY);
    expect(forecast(young, NODE, monday + DAY, monday + DAY + 7 * 60 * MIN, monday + DAY + 8 * 60 * MIN)).toBeUndefined();
  });

  it('needs one whole slot inside the window', () => {
    const now = THURSDAY + 18 * 60 * MIN;
    expect(forecast(thursdays(now), NODE, now, THURSDAY + (18 * 60 + 46) * MIN, THURSDAY + (18 * 60 + 59) * MIN)).toBeUndefined();
  });

  it('a predicted wake is settled by the next demand (used) or by a sleep (a miss), and only once', () => {
    let p = recordPredictedWake(thursdays(THURSDAY), NODE, THURSDAY + 18 * 60 * MIN, 'weekday');
    expect(recordSleep(p, NODE, THURSDAY + 19 * 60 * MIN).nodes[NODE]?.outcomes).toEqual([{ at: THURSDAY + 19 * 60 * MIN, used: false, basis: 'weekday' }]);
    p = recordDemand(p, NODE, THURSDAY + (18 * 60 + 20) * MIN);
    expect(p.nodes[NODE]?.outcomes).toEqual([{ at: THURSDAY + (18 * 60 + 20) * MIN, used: true, basis: 'weekday' }]);
    expect(recordSleep(p, NODE, THURSDAY + 20 * 60 * MIN)).toBe(p);
  });

  it('property: stays within its fixed size whatever it is fed', () => {
    const event = fc.record({ kind: fc.constantFrom('demand', 'wake', 'sleep'), minute: fc.integer({ min: 0, max: 400 * 24 * 60 }), node: fc.constantFrom('a', 'b') });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 400 }), (events) => {
        let p = emptyProfile('Europe/Berlin');
        for (const e of [...events].sort((x, y) => x.minute - y.minute)) {
          const t = THURSDAY + e.minute * MIN;
          p = e.kind === 'demand' ? recordDemand(p, e.node, t) : e.kind === 'wake' ? recordPredictedWake(p, e.node, t, 'weekday') : recordSleep(p, e.node, t);
        }
        for (const h of Object.values(p.nodes)) {
          expect(h.days.length).toBeLessThanOrEqual(HISTORY_DAYS);
          expect(h.outcomes.length).toBeLessThanOrEqual(OUTCOMES_KEPT);
          for (const d of h.days) expect(d).toMatch(/^[0-9a-f]{24}$/);
        }
        // Per node: 56 days of 24 hex digits and 16 outcomes, whatever the input.
        expect(JSON.stringify(p).length).toBeLessThanOrEqual(100 + 2 * (30 + HISTORY_DAYS * 27 + OUTCOMES_KEPT * 60 + 80));
      }),
      { numRuns: 60 },
    );
  });

  it('property: strictly causal: demand at or after the start of the forecast day never changes it', () => {
    const past = fc.array(fc.integer({ min: 0, max: 34 * 24 * 60 - 1 }), { maxLength: 120 });
    const later = fc.array(fc.integer({ min: 0, max: 10 * 24 * 60 }), { maxLength: 40 });
    fc.assert(
      fc.property(past, later, later, fc.integer({ min: 0, max: 24 * 60 - 1 }), fc.integer({ min: 1, max: 8 }), (before, a, b, nowMinute, slots) => {
        const start = THURSDAY - 35 * DAY;
        const now = THURSDAY + nowMinute * MIN;
        const build = (after: number[]) => {
          let p = emptyProfile('UTC');
          for (const m of [...before].sort((x, y) => x - y)) p = recordDemand(p, NODE, start + m * MIN);
          p = observeUntil(p, NODE, now);
          // Later the same day (even before `now`) and on the following days: not read.
          for (const m of [...after].sort((x, y) => x - y)) p = recordDemand(p, NODE, THURSDAY + m * MIN);
          return p;
        };
        const from = now + 60_000;
        const to = from + slots * 15 * MIN;
        expect(forecast(build(a), NODE, now, from, to)).toEqual(forecast(build(b), NODE, now, from, to));
      }),
      { numRuns: 150 },
    );
  });
});

describe('predictive wake stage', () => {
  const now = THURSDAY + (18 * 60 + 44) * MIN; // Ready at 18:45 with a 60 s boot
  const nodes = () => [controlPlane('masternode'), asleep(NODE, { power: { state: 'asleep', since: now - 3 * 60 * MIN, reason: 'idle', attempts: 0 } }), node('homelab', { lastActivityAt: now })];

  it('wakes a sleeping node ahead, with the evidence in the reason', () => {
    const d = decide(observed({ nodes: nodes(), demandProfile: thursdays(now) }), examplePolicy({ predict: PREDICT }), now);
    const wake = d.actions.find((a) => a.node === NODE);
    expect(wake).toMatchObject({ kind: 'wake', source: 'predicted' });
    expect(wake?.reason).toBe('predicted demand: demand started 18:45-19:15 on 5 of the last 6 Thursdays (chance 83 % >= 60 %); waking 1m boot ahead');
  });

  it('does not wake when the chance is below the threshold, nor a day early', () => {
    expect(decide(observed({ nodes: nodes(), demandProfile: thursdays(now) }), examplePolicy({ predict: { ...PREDICT, threshold: 0.9 } }), now).actions).toEqual([]);
    const wednesday = now - DAY;
    expect(decide(observed({ nodes: nodes(), demandProfile: thursdays(wednesday) }), examplePolicy({ predict: PREDICT }), wednesday).actions).toEqual([]);
  });

  it('stops predicting for a node whose recent predicted wakes went mostly unused', () => {
    let p = thursdays(now - 10 * DAY);
    for (let i = 0; i < 4; i++) p = recordSleep(recordPredictedWake(p, NODE, now - (9 - i) * DAY, 'weekday'), NODE, now - (9 - i) * DAY + 30 * MIN);
    p = observeUntil(p, NODE, now);
    expect(predictWake(p, PREDICT, NODE, 60, now)).toBeUndefined();
    // Outcomes from the time-of-day fallback do not condemn the weekday forecast.
    let q = thursdays(now - 10 * DAY);
    for (let i = 0; i < 4; i++) q = recordSleep(recordPredictedWake(q, NODE, now - (9 - i) * DAY, 'time of day'), NODE, now - (9 - i) * DAY + 30 * MIN);
    expect(predictWake(observeUntil(q, NODE, now), PREDICT, NODE, 60, now)?.basis).toBe('weekday');
  });

  it('sends a node woken ahead and unused back to sleep after unusedAfter, not before, and not once it was used', () => {
    const wokeAt = now;
    const p = recordPredictedWake(thursdays(now), NODE, wokeAt, 'weekday');
    const awake = (over = {}) => [controlPlane('masternode'), node(NODE, { power: { state: 'awake', since: wokeAt + MIN, reason: 'woken (predicted)', attempts: 0 }, controllerObservedSince: wokeAt - DAY, ...over }), node('homelab', { lastActivityAt: now })];
    // unusedAfter 20m, shorter than idleAfter 30m: only the stage can put it to sleep at 20m.
    const policy = examplePolicy({ predict: { ...PREDICT, unusedAfterSeconds: 20 * 60 } });
    const early = decide(observed({ nodes: awake(), demandProfile: p }), policy, wokeAt + 20 * MIN);
    expect(early.actions).toEqual([]);
    expect(early.skipped.find((s) => s.node === NODE)?.reason).toContain('< idleAfter 30m');
    const due = decide(observed({ nodes: awake(), demandProfile: p }), policy, wokeAt + 21 * MIN);
    expect(due.actions).toEqual([{ kind: 'sleep', node: NODE, reason: 'woken ahead by prediction and unused for 20m >= predict.unusedAfter 20m: back to sleep (a miss for the learner)', evict: [] }]);
    const used = decide(observed({ nodes: awake({ lastActivityAt: wokeAt + 10 * MIN }), demandProfile: p }), policy, wokeAt + 21 * MIN);
    expect(used.actions).toEqual([]);
  });

  it('is on by default: the example (no predict in its file) resolves to threshold 0.6, unusedAfter 30m', () => {
    expect(examplePolicy().predict).toEqual({ threshold: 0.6, unusedAfterSeconds: 30 * 60 });
  });

  it('property: with predict off, the profile changes nothing and nothing is woken as predicted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 * 24 * 60 }), fc.boolean(), (minute, awakeNode) => {
        const t = THURSDAY - 3 * DAY + minute * MIN;
        const ns = [controlPlane('masternode'), awakeNode ? node(NODE) : asleep(NODE), node('homelab', { lastActivityAt: t - 5 * MIN })];
        const policy = examplePolicy({ predict: undefined });
        const withProfile = decide(observed({ nodes: ns, demandProfile: recordPredictedWake(thursdays(t), NODE, t - 40 * MIN, 'weekday') }), policy, t);
        const without = decide(observed({ nodes: ns }), policy, t);
        expect(withProfile).toEqual(without);
        expect(withProfile.actions.some((a) => a.kind === 'wake' && a.source === 'predicted')).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('nextPredictedWake finds the first minute the stage would wake the node', () => {
    const p = thursdays(THURSDAY + 12 * 60 * MIN);
    expect(nextPredictedWake(p, PREDICT, NODE, 60, THURSDAY + 12 * 60 * MIN)).toEqual({ at: THURSDAY + (18 * 60 + 29) * MIN, reason: expect.stringContaining('demand started 18:30-19:00 on 5 of the last 6 Thursdays') as string });
  });
});
