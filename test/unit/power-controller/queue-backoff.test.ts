import { describe, expect, it } from 'vitest';
import { backoffDelay, backoffSequence, WAKE_BACKOFF } from '../../../src/power/controller/backoff.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { NodeWorkQueue } from '../../../src/power/controller/queue.js';

describe('capped exponential backoff', () => {
  it('doubles from the initial delay and stops at the cap', () => {
    expect(backoffSequence(WAKE_BACKOFF, 6)).toEqual([5000, 10000, 20000, 40000, 60000, 60000]);
    expect(backoffSequence({ initialMs: 1000, factor: 2, maxMs: 3000 }, 4)).toEqual([1000, 2000, 3000, 3000]);
    expect(backoffDelay({ initialMs: 250, factor: 2, maxMs: 2000 }, 1)).toBe(250);
  });
});

describe('ManualClock', () => {
  it('resolves sleeps in deadline order when advanced, without real waiting', async () => {
    const clock = new ManualClock(0);
    const order: number[] = [];
    void clock.sleep(300).then(() => order.push(300));
    void clock.sleep(100).then(() => order.push(100));
    await clock.advance(200);
    expect(order).toEqual([100]);
    await clock.advance(100);
    expect(order).toEqual([100, 300]);
    expect(clock.now()).toBe(300);
    expect(clock.sleeps).toEqual([300, 100]);
  });
});

describe('NodeWorkQueue', () => {
  const deferred = () => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };

  it('runs jobs of one node one after another, and different nodes in parallel', async () => {
    const q = new NodeWorkQueue();
    const log: string[] = [];
    const a1 = deferred();
    q.enqueue('a', 'sleep', async () => {
      log.push('a1 start');
      await a1.promise;
      log.push('a1 end');
    });
    q.enqueue('a', 'wake', async () => void log.push('a2'));
    q.enqueue('b', 'wake', async () => void log.push('b1'));
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a1 start', 'b1']);
    expect(q.active().map((j) => `${j.node}:${j.key}`)).toEqual(['a:sleep']);
    expect(q.waiting('a').map((j) => j.key)).toEqual(['wake']);
    a1.resolve();
    await q.idle();
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it('does not queue a job whose key is already waiting or running', async () => {
    const q = new NodeWorkQueue();
    const gate = deferred();
    let runs = 0;
    const job = async () => {
      runs++;
      await gate.promise;
    };
    expect(q.enqueue('a', 'wake', job)).toBe(true);
    expect(q.enqueue('a', 'wake', job)).toBe(false);
    expect(q.enqueue('a', 'sleep', job)).toBe(true);
    expect(q.enqueue('a', 'sleep', job)).toBe(false);
    gate.resolve();
    await q.idle();
    expect(runs).toBe(2);
  });

  it('reports a failing job and carries on with the next', async () => {
    const errors: string[] = [];
    const q = new NodeWorkQueue(Date.now, (job, err) => errors.push(`${job.node}/${job.key}: ${(err as Error).message}`));
    let ran = false;
    q.enqueue('a', 'x', () => Promise.reject(new Error('boom')));
    q.enqueue('a', 'y', async () => void (ran = true));
    await q.idle();
    expect(errors).toEqual(['a/x: boom']);
    expect(ran).toBe(true);
  });
});
