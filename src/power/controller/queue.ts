// A per-node serial work queue: jobs for one node run one after another, different nodes in
// parallel. A job whose key is already waiting is not queued twice (a burst of watch events for
// one pending pod gives one wake).
export interface QueuedJob {
  node: string;
  key: string;
  enqueuedAt: number;
  startedAt?: number;
}

type Job = QueuedJob & { run: () => Promise<void> };

export class NodeWorkQueue {
  private readonly lanes = new Map<string, Job[]>();
  private readonly running = new Map<string, Job>();
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onError: (job: QueuedJob, err: unknown) => void = () => undefined,
  ) {}

  /** Queues `run` for `node`; returns false when a job with the same key is already waiting or running. */
  enqueue(node: string, key: string, run: () => Promise<void>): boolean {
    const lane = this.lanes.get(node) ?? [];
    if (lane.some((j) => j.key === key) || this.running.get(node)?.key === key) return false;
    lane.push({ node, key, enqueuedAt: this.now(), run });
    this.lanes.set(node, lane);
    if (!this.running.has(node)) this.next(node);
    return true;
  }

  private next(node: string): void {
    const lane = this.lanes.get(node);
    const job = lane?.shift();
    if (lane && lane.length === 0) this.lanes.delete(node);
    if (!job) {
      this.running.delete(node);
      if (this.running.size === 0 && this.lanes.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    job.startedAt = this.now();
    this.running.set(node, job);
    void job
      .run()
      .catch((err: unknown) => this.onError(job, err))
      .finally(() => {
        this.running.delete(node);
        this.next(node);
      });
  }

  /** Jobs running now, one per node at most. */
  active(): QueuedJob[] {
    return [...this.running.values()].map(({ run: _r, ...j }) => j);
  }

  waiting(node?: string): QueuedJob[] {
    const lanes = node === undefined ? [...this.lanes.values()] : [this.lanes.get(node) ?? []];
    return lanes.flat().map(({ run: _r, ...j }) => j);
  }

  isBusy(node: string): boolean {
    return this.running.has(node) || this.lanes.has(node);
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.lanes.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
