// The executor state machine the controller and the simulator share: what each step records, when
// the cordon changes, which Event it gives, and which actions complete at once.
import { describe, expect, it } from 'vitest';
import { applyStep, instantStep, type PowerRecord, type Step } from '../../../src/power/core/lifecycle.js';
import type { Action } from '../../../src/power/core/types.js';
import { T0 } from './fixtures.js';

const rec = (over: Partial<PowerRecord> = {}): PowerRecord => ({ state: 'awake', since: T0 - 3_600_000, reason: 'initial', attempts: 0, cordonedByPowerManager: false, ...over });
const NOW = T0;

describe('applyStep', () => {
  it('a whole sleep: draining (cordoned by us), suspending, asleep; the cordon is held while asleep', () => {
    const draining = applyStep(rec(), { step: 'drain-started', reason: 'idle 31m', alreadyCordoned: false }, NOW)!;
    expect(draining).toEqual({ record: rec({ state: 'draining', since: NOW, reason: 'idle 31m', cordonedByPowerManager: true }), cordon: true, event: { type: 'Normal', kind: 'draining', message: 'awake -> draining: idle 31m' } });
    const suspending = applyStep(draining.record, { step: 'drained', pods: 2 }, NOW + 1)!;
    expect(suspending.record).toMatchObject({ state: 'suspending', since: NOW + 1, reason: 'drained 2 pods; suspending over SSH', cordonedByPowerManager: true });
    expect(suspending.cordon).toBeUndefined();
    const asleep = applyStep(suspending.record, { step: 'suspended', reason: 'idle 31m' }, NOW + 2)!;
    expect(asleep).toMatchObject({ record: { state: 'asleep', reason: 'suspended: idle 31m', cordonedByPowerManager: true }, cordon: undefined, event: { kind: 'asleep' } });
  });

  it('a node someone else cordoned is not cordoned again, and not uncordoned by a rollback', () => {
    const draining = applyStep(rec(), { step: 'drain-started', reason: 'manual request', alreadyCordoned: true }, NOW)!;
    expect(draining.cordon).toBeUndefined();
    expect(draining.record.cordonedByPowerManager).toBe(false);
    const back = applyStep(draining.record, { step: 'sleep-aborted', reason: 'sleep aborted: PDB' }, NOW + 1)!;
    expect(back).toEqual({ record: rec({ state: 'awake', since: NOW + 1, reason: 'sleep aborted: PDB' }), cordon: undefined, event: { type: 'Warning', kind: 'sleepAborted', message: 'draining -> awake: sleep aborted: PDB' } });
  });

  it('a rollback of our own drain uncordons', () => {
    const ours = rec({ state: 'draining', cordonedByPowerManager: true });
    expect(applyStep(ours, { step: 'sleep-aborted', reason: 'cancelled' }, NOW)).toMatchObject({ record: { state: 'awake', cordonedByPowerManager: false, attempts: 0 }, cordon: false });
  });

  it('a wake: attempts counted from the trigger, latency from the trigger, uncordon of our cordon', () => {
    const asleep = rec({ state: 'asleep', cordonedByPowerManager: true });
    const first = applyStep(asleep, { step: 'wake-attempt', reason: 'manual wake request: x', source: 'manual', attempt: 1, of: 3, triggeredAt: NOW - 2000 }, NOW)!;
    expect(first.record).toMatchObject({ state: 'waking', attempts: 1, wakeTriggeredAt: NOW - 2000, wakeSource: 'manual', reason: 'manual wake request: x (attempt 1 of 3)' });
    const second = applyStep(first.record, { step: 'wake-attempt', reason: 'manual wake request: x', source: 'manual', attempt: 2, of: 3, lastError: 'TCP 22 did not answer', triggeredAt: NOW - 2000 }, NOW + 60_000)!;
    expect(second.record.reason).toBe('manual wake request: x (attempt 2 of 3; last: TCP 22 did not answer)');
    expect(second.event.message).toMatch(/^waking -> waking: /);
    const woken = applyStep(second.record, { step: 'woken', source: 'manual', attempt: 2, triggeredAt: NOW - 2000 }, NOW + 90_000)!;
    expect(woken).toEqual({
      record: { state: 'awake', since: NOW + 90_000, reason: 'woken (manual): Ready 92.0 s after the trigger, attempt 2', attempts: 0, cordonedByPowerManager: false, wakeTriggeredAt: undefined, wakeSource: undefined, lastWakeLatencySeconds: 92 },
      cordon: false,
      event: { type: 'Normal', kind: 'awake', message: 'waking -> awake: woken (manual): Ready 92.0 s after the trigger, attempt 2' },
      wakeLatencySeconds: 92,
    });
  });

  it('attempts used up: failed keeps the attempt count (decide() says how many) and forgets the trigger', () => {
    const waking = rec({ state: 'waking', attempts: 3, wakeTriggeredAt: NOW - 1000 });
    expect(applyStep(waking, { step: 'wake-failed', reason: 'not Ready after 3 wake attempts' }, NOW)).toMatchObject({ record: { state: 'failed', attempts: 3, wakeTriggeredAt: undefined }, event: { type: 'Warning', kind: 'failed' } });
  });

  it('marked awake after a wake the executor did not see finish still measures the latency', () => {
    const waking = rec({ state: 'waking', attempts: 1, wakeTriggeredAt: NOW - 45_000, cordonedByPowerManager: true });
    expect(applyStep(waking, { step: 'marked-awake', reason: 'Ready again after waking' }, NOW)).toMatchObject({ record: { state: 'awake', lastWakeLatencySeconds: 45 }, cordon: false, wakeLatencySeconds: 45 });
    expect(applyStep(rec({ state: 'asleep' }), { step: 'marked-awake', reason: 'woken by hand' }, NOW)?.wakeLatencySeconds).toBeUndefined();
  });

  it('uncordon changes only the cordon and the reason, and does nothing when the cordon is not ours', () => {
    const left = rec({ cordonedByPowerManager: true });
    expect(applyStep(left, { step: 'uncordoned', reason: 'awake but still cordoned' }, NOW)).toEqual({
      record: { ...left, reason: 'awake but still cordoned', cordonedByPowerManager: false },
      cordon: false,
      event: { type: 'Normal', kind: 'uncordoned', message: 'awake but still cordoned' },
    });
    expect(applyStep(rec(), { step: 'uncordoned', reason: 'x' }, NOW)).toBeUndefined();
  });

  it('keeps the fields it does not own (the controller keeps its energy figure beside the record)', () => {
    const withEnergy = { ...rec({ state: 'asleep' }), energySavedKwh: 1.5 };
    const step: Step = { step: 'marked-awake', reason: 'x' };
    expect(applyStep(withEnergy, step, NOW)?.record.energySavedKwh).toBe(1.5);
  });
});

describe('instantStep', () => {
  it('maps each action that completes at once to its step, and leaves sleeps and wakes to their executors', () => {
    const actions: Action[] = [
      { kind: 'cancel-sleep', node: 'n', reason: 'r' },
      { kind: 'mark-awake', node: 'n', reason: 'r' },
      { kind: 'mark-asleep', node: 'n', reason: 'r' },
      { kind: 'mark-failed', node: 'n', reason: 'r', attempts: 3 },
      { kind: 'uncordon', node: 'n', reason: 'r' },
      { kind: 'sleep', node: 'n', reason: 'r', evict: [] },
      { kind: 'wake', node: 'n', reason: 'r', source: 'manual', drivers: ['wol'], attempt: 1 },
      { kind: 'retry-wake', node: 'n', reason: 'r', source: 'gateway', drivers: ['wol'], attempt: 2 },
    ];
    expect(actions.map((a) => instantStep(a)?.step)).toEqual(['sleep-aborted', 'marked-awake', 'marked-asleep', 'wake-failed', 'uncordoned', undefined, undefined, undefined]);
  });
});
