// keepInformerRunning's restart schedule, pure: the exact delay sequence and when it starts over,
// with a manual clock, as client-node tests its own ListWatch with a fake watch. The informer here
// is a scripted stand-in (named as one): it counts start() calls and the test fails it by emitting
// 'error', which is how the real ListWatchInformer reports a failed list or watch (its start()
// never rejects). test/local/kube-client/informer-backoff.test.ts runs the same schedule with the
// real informer against the Kubernetes API stand-in.
import { describe, expect, it } from 'vitest';
import { INFORMER_BACKOFF_RESET_MS, keepInformerRunning } from '../../../src/adapters/kube/client.js';
import type { CachedInformer } from '../../../src/adapters/kube/informer.js';
import { backoffDelay, INFORMER_BACKOFF } from '../../../src/power/controller/backoff.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/** A scripted informer: start() only counts; fail() reports an error as the real one does. */
class ScriptedInformer implements CachedInformer<never> {
  starts = 0;
  private onError: Array<(err: unknown) => void> = [];
  on(verb: string, cb: (x: never) => void): void {
    if (verb === 'error') this.onError.push(cb as (err: unknown) => void);
  }
  start(): Promise<void> {
    this.starts += 1;
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  get(): undefined {
    return undefined;
  }
  list(): never[] {
    return [];
  }
  fail(message = 'watch /api/v1/pods: 500'): void {
    for (const cb of this.onError) cb(new Error(message));
  }
}

function running(start = 0) {
  const clock = new ManualClock(start);
  const informer = new ScriptedInformer();
  const delays: Array<{ retry: number; delayMs: number }> = [];
  let stopped = false;
  keepInformerRunning(informer, {
    delay: (retry) => backoffDelay(INFORMER_BACKOFF, retry),
    sleep: (ms) => clock.sleep(ms),
    now: () => clock.now(),
    isStopped: () => stopped,
    onError: (_err, retry, delayMs) => delays.push({ retry, delayMs }),
  });
  return { clock, informer, delays, stop: () => (stopped = true) };
}

/** Fails the informer, then lets exactly the scheduled delay pass (the restart happens at its end). */
async function failAndWait(r: ReturnType<typeof running>): Promise<number> {
  const startsBefore = r.informer.starts;
  r.informer.fail();
  const delay = r.delays.at(-1)!.delayMs;
  // One millisecond short of the delay: no restart yet.
  await r.clock.advance(delay - 1);
  expect(r.informer.starts).toBe(startsBefore);
  await r.clock.advance(1);
  expect(r.informer.starts).toBe(startsBefore + 1);
  return delay;
}

describe('informer restart backoff (keepInformerRunning, manual clock)', () => {
  it('the policy is 0.5 s doubling to a 30 s cap, reset after two quiet minutes (client-go reflector)', () => {
    expect(INFORMER_BACKOFF).toEqual({ initialMs: 500, factor: 2, maxMs: 30_000 });
    expect(INFORMER_BACKOFF_RESET_MS).toBe(120_000);
  });

  it('restarts after exactly 0.5, 1, 2, 4, 8, 16, 30, 30 s while failures keep coming', async () => {
    const r = running();
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) seen.push(await failAndWait(r));
    expect(seen).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(r.delays.map((d) => d.retry)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(r.clock.sleeps).toEqual(seen);
    expect(r.informer.starts).toBe(8);
  });

  it('a failure 119.999 s after the last one keeps backing off; one 120 s after starts over at 0.5 s', async () => {
    const r = running();
    for (let i = 0; i < 3; i++) await failAndWait(r); // 0.5, 1, 2 s; the last failure was at t = 1.5 s
    const lastFailureAt = 1500;
    await r.clock.advance(lastFailureAt + 119_999 - r.clock.now());
    expect(await failAndWait(r)).toBe(4000);
    const fourthFailureAt = lastFailureAt + 119_999;
    await r.clock.advance(fourthFailureAt + 120_000 - r.clock.now());
    expect(await failAndWait(r)).toBe(500);
    expect(await failAndWait(r)).toBe(1000);
    expect(r.delays.map((d) => d.retry)).toEqual([1, 2, 3, 4, 1, 2]);
  });

  it('does not restart an informer that was stopped while it waited', async () => {
    const r = running();
    r.informer.fail();
    expect(r.clock.pending()).toBe(1);
    r.stop();
    await r.clock.advance(60_000);
    expect(r.informer.starts).toBe(0);
  });
});
