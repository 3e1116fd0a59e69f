// What the sleep and wake executors share: a named step that failed in a known way, running a
// sequence of named steps, and polling a probe with capped backoff on the injected clock.
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';

/** A step that failed in a way the executor handles (retry, roll back); `kind` labels the failure metric. */
export class StepFailure extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

export interface NamedStep<C> {
  name: string;
  run(ctx: C): Promise<void>;
}

/** Runs the steps in order; `onStep` hears each name before it runs (the executor logs and keeps it). */
export async function runSteps<C>(steps: ReadonlyArray<NamedStep<C>>, ctx: C, onStep: (name: string) => void): Promise<void> {
  for (const step of steps) {
    onStep(step.name);
    await step.run(ctx);
  }
}

/** Polls `probe` with capped backoff until it succeeds (true) or the deadline passes (false); rejects on abort. */
export async function poll(clock: Clock, backoff: BackoffPolicy, probe: () => Promise<boolean>, deadline: number, signal: AbortSignal): Promise<boolean> {
  for (let retry = 1; ; retry++) {
    if (signal.aborted) throw signal.reason as Error;
    if (await probe()) return true;
    const left = deadline - clock.now();
    if (left <= 0) return false;
    await clock.sleep(Math.min(left, backoffDelay(backoff, retry)), signal);
  }
}
