// A clock tests move by hand, for code that takes a Clock (src/power/controller/clock.ts): sleeps
// resolve when advance() passes their deadline, and every requested delay is kept so a test can
// assert an exact backoff sequence without waiting.
import type { Clock } from '../../src/power/controller/clock.js';

/** A clock tests move by hand: `sleep` resolves when `advance` passes its deadline. */
export class ManualClock implements Clock {
  private t: number;
  private waiters: Array<{ at: number; resolve: () => void }> = [];
  /** Every sleep requested, in order (tests assert backoff sequences on it). */
  readonly sleeps: number[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal?.reason as Error);
      };
      const w = {
        at: this.t + ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.waiters.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves time forward, resolving sleeps that are due (in deadline order). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.waiters.filter((w) => w.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      this.waiters = this.waiters.filter((w) => w !== due);
      due.resolve();
      // Let the woken task run up to its next await.
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }

  pending(): number {
    return this.waiters.length;
  }
}
