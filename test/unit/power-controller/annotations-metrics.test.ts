import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { POWER_STATES } from '../../../src/config/schema.js';
import { formatPowerAnnotations, formatPowerRequest, parsePowerAnnotations, parsePowerRequest, POWER_ANNOTATIONS, type PowerAnnotations } from '../../../src/power/controller/annotations.js';
import { WAKE_SOURCES } from '../../../src/power/core/types.js';
import { energySavedKwh, PowerMetrics } from '../../../src/power/controller/metrics.js';

/** What a merge patch of these annotations leaves on the Node (null removes). */
function applied(patch: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null)) as Record<string, string>;
}

describe('power annotations', () => {
  it('round-trip any record exactly (times at millisecond precision)', () => {
    const record = fc.record({
      state: fc.constantFrom(...POWER_STATES),
      since: fc.integer({ min: 0, max: 4_102_444_800_000 }),
      reason: fc.string(),
      attempts: fc.nat({ max: 20 }),
      lastWakeLatencySeconds: fc.option(fc.integer({ min: 0, max: 10_000_000 }).map((n) => n / 1000), { nil: undefined }),
      cordonedByPowerManager: fc.boolean(),
      wakeTriggeredAt: fc.option(fc.integer({ min: 0, max: 4_102_444_800_000 }), { nil: undefined }),
      wakeSource: fc.option(fc.constantFrom(...WAKE_SOURCES), { nil: undefined }),
      energySavedKwh: fc.integer({ min: 0, max: 1e9 }).map((n) => n / 1e6),
    });
    fc.assert(
      fc.property(record, (r: PowerAnnotations) => {
        expect(parsePowerAnnotations(applied(formatPowerAnnotations(r)), 0)).toEqual(r);
      }),
    );
  });

  it('a node never managed is awake since the controller first saw it (no stale timestamp)', () => {
    const r = parsePowerAnnotations({ 'some/other': 'x' }, 1234);
    expect(r).toMatchObject({ state: 'awake', since: 1234, attempts: 0, cordonedByPowerManager: false, energySavedKwh: 0 });
  });

  it('ignores an unknown state and its since', () => {
    const r = parsePowerAnnotations({ [POWER_ANNOTATIONS.state]: 'hibernating', [POWER_ANNOTATIONS.since]: '2020-01-01T00:00:00Z' }, 99);
    expect(r.state).toBe('awake');
    expect(r.since).toBe(99);
  });

  it('reads an unknown wake source as none (a retry is then recorded as the schedule\'s)', () => {
    expect(parsePowerAnnotations({ [POWER_ANNOTATIONS.state]: 'waking', [POWER_ANNOTATIONS.wakeSource]: 'telepathy' }, 0).wakeSource).toBeUndefined();
    expect(parsePowerAnnotations({ [POWER_ANNOTATIONS.state]: 'waking', [POWER_ANNOTATIONS.wakeSource]: 'gateway' }, 0).wakeSource).toBe('gateway');
  });

  it('removes optional keys with null so a merge patch clears them', () => {
    const f = formatPowerAnnotations({ state: 'awake', since: 0, reason: 'r', attempts: 0, cordonedByPowerManager: false, energySavedKwh: 0 });
    expect(f[POWER_ANNOTATIONS.cordoned]).toBeNull();
    expect(f[POWER_ANNOTATIONS.wakeTriggeredAt]).toBeNull();
    expect(f[POWER_ANNOTATIONS.wakeSource]).toBeNull();
    expect(f[POWER_ANNOTATIONS.lastWakeSeconds]).toBeNull();
  });

  it('round-trips power requests and rejects malformed ones', () => {
    const req = { action: 'wake' as const, source: 'preflight' as const, at: Date.UTC(2026, 10, 26, 23, 0), reason: 'deploy needs it' };
    expect(parsePowerRequest({ [POWER_ANNOTATIONS.request]: formatPowerRequest(req) })).toEqual(req);
    expect(parsePowerRequest({ [POWER_ANNOTATIONS.request]: '{"action":"reboot"}' })).toBeUndefined();
    expect(parsePowerRequest({ [POWER_ANNOTATIONS.request]: 'not json' })).toBeUndefined();
  });
});

describe('metrics', () => {
  it('exposes the state gauge as 1 for the current state and 0 for the others', async () => {
    const m = new PowerMetrics();
    m.setState('homelab', 'asleep');
    const text = await m.text();
    expect(text).toContain('vmstation_node_power_state{node="homelab",state="asleep"} 1');
    for (const s of POWER_STATES.filter((x) => x !== 'asleep')) expect(text).toContain(`vmstation_node_power_state{node="homelab",state="${s}"} 0`);
  });

  it('counts transitions, failures, wake latency and energy', async () => {
    const m = new PowerMetrics();
    m.transitions.inc({ node: 'n', from: 'awake', to: 'draining' });
    m.failures.inc({ node: 'n', kind: 'wake' });
    m.wakeLatency.observe({ node: 'n' }, 42);
    m.seedEnergy('n', 1.5);
    const text = await m.text();
    expect(text).toContain('vmstation_power_transitions_total{node="n",from="awake",to="draining"} 1');
    expect(text).toContain('vmstation_power_failures_total{node="n",kind="wake"} 1');
    expect(text).toContain('vmstation_wake_latency_seconds_bucket{le="45",node="n"} 1');
    expect(text).toContain('vmstation_wake_latency_seconds_bucket{le="30",node="n"} 0');
    expect(text).toContain('vmstation_energy_saved_kwh_total{node="n"} 1.5');
  });

  it('computes energy saved from the configured watts', () => {
    // 110 W awake, 5 W asleep, 2 hours: 0.21 kWh.
    expect(energySavedKwh({ awake: 110, asleep: 5 }, 2 * 3_600_000)).toBeCloseTo(0.21, 10);
    expect(energySavedKwh(undefined, 3_600_000)).toBe(0);
  });
});
