// Fault injection, controllable at runtime through the programmatic API or
// /_standin/faults (a path real clients never use): error answers (500 by default) for the next
// N matching requests, slow answers, abrupt connection resets, dropping open watches, and 410
// Gone on the next watches.

export type FaultKind = 'error' | 'delay' | 'reset';

export interface FaultRuleInput {
  kind: FaultKind;
  /** How many matching requests it affects (default 1; Infinity or -1 for all). */
  count?: number;
  /** HTTP status for kind=error (default 500). */
  status?: number;
  /** Delay for kind=delay (ms). */
  delayMs?: number;
  /** HTTP method to match (GET, POST, ...), any when absent. */
  method?: string;
  /** Substring of the request path to match; a string in /slashes/ is a regular expression. */
  path?: string;
  /** true: only watch requests; false: only non-watch requests. */
  watch?: boolean;
}

export interface FaultRule extends Required<Pick<FaultRuleInput, 'kind'>> {
  id: number;
  remaining: number;
  status: number;
  delayMs: number;
  method: string | undefined;
  path: string | undefined;
  watch: boolean | undefined;
}

export interface FaultDecision {
  delayMs: number;
  errorStatus?: number;
  reset?: boolean;
  ruleIds: number[];
}

export interface WatchHandle {
  path: string;
  /** Ends the watch response cleanly (clients re-watch from their last resourceVersion). */
  close(): void;
}

function matchesPath(pattern: string | undefined, path: string): boolean {
  if (pattern === undefined || pattern === '') return true;
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) return new RegExp(pattern.slice(1, -1)).test(path);
  return path.includes(pattern);
}

export class Faults {
  private rules: FaultRule[] = [];
  private nextId = 1;
  private expireNext: Array<{ remaining: number; path: string | undefined }> = [];
  readonly openWatches = new Set<WatchHandle>();
  private readonly onCompact: () => void;
  injected = 0;

  constructor(onCompact: () => void = () => undefined) {
    this.onCompact = onCompact;
  }

  add(input: FaultRuleInput): FaultRule {
    const count = input.count === undefined ? 1 : input.count < 0 ? Infinity : input.count;
    const rule: FaultRule = {
      id: this.nextId++,
      kind: input.kind,
      remaining: count,
      status: input.status ?? 500,
      delayMs: input.delayMs ?? 0,
      method: input.method?.toUpperCase(),
      path: input.path,
      watch: input.watch,
    };
    this.rules.push(rule);
    return rule;
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  clear(): void {
    this.rules = [];
    this.expireNext = [];
  }

  /** Consumes the rules matching one request and says what to do with it. */
  decide(method: string, path: string, isWatch: boolean): FaultDecision {
    const decision: FaultDecision = { delayMs: 0, ruleIds: [] };
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.method !== undefined && rule.method !== method.toUpperCase()) continue;
      if (rule.watch !== undefined && rule.watch !== isWatch) continue;
      if (!matchesPath(rule.path, path)) continue;
      if (rule.kind === 'delay') decision.delayMs += rule.delayMs;
      else if (rule.kind === 'error') {
        if (decision.errorStatus !== undefined || decision.reset === true) continue;
        decision.errorStatus = rule.status;
      } else {
        if (decision.errorStatus !== undefined || decision.reset === true) continue;
        decision.reset = true;
      }
      rule.remaining -= 1;
      decision.ruleIds.push(rule.id);
      this.injected++;
    }
    this.rules = this.rules.filter((r) => r.remaining > 0);
    return decision;
  }

  /** The next `count` watch requests (matching path) get an ERROR event with 410 Gone. */
  expireNextWatches(count = 1, path?: string): void {
    this.expireNext.push({ remaining: count, path });
  }

  consumeWatchExpiry(path: string): boolean {
    for (const e of this.expireNext) {
      if (e.remaining > 0 && matchesPath(e.path, path)) {
        e.remaining -= 1;
        this.injected++;
        this.expireNext = this.expireNext.filter((x) => x.remaining > 0);
        return true;
      }
    }
    return false;
  }

  /** Closes the open watches (all, or those whose path matches); returns how many. */
  dropWatches(path?: string): number {
    let n = 0;
    for (const w of [...this.openWatches]) {
      if (!matchesPath(path, w.path)) continue;
      w.close();
      n++;
    }
    this.injected += n;
    return n;
  }

  /** Forgets the watch history: clients re-watching from an older resourceVersion get 410. */
  compact(): void {
    this.onCompact();
  }
}
