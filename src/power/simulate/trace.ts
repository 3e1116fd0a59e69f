// Workload traces for the power simulator: one JSON object per line.
//   {"kind":"header","start":ISO,"end":ISO,"bootSeconds":{"node":45}}      first line
//   {"t":ISO,"kind":"pod-start","pod":"ns/name","node":"node"}              a workload needing that node
//   {"t":ISO,"kind":"pod-stop","pod":"ns/name"}
//   {"t":ISO,"kind":"request","app":"jellyfin","seconds":600}               users of an app needing its node
//   {"t":ISO,"kind":"wake-fails","node":"node","count":2}                   (test aid) the next N wake attempts do nothing
// Blank lines and lines starting with # are ignored. Events must be in time order.

export interface TraceHeader {
  start: number;
  end: number;
  /** Real boot time per node (wake command -> Ready); nodes not listed use their policy bootSeconds. */
  bootSeconds: Record<string, number>;
}

export type TraceEvent =
  | { line: number; t: number; kind: 'pod-start'; pod: string; node: string }
  | { line: number; t: number; kind: 'pod-stop'; pod: string }
  | { line: number; t: number; kind: 'request'; app: string; seconds: number }
  | { line: number; t: number; kind: 'wake-fails'; node: string; count: number };

export interface Trace {
  header: TraceHeader;
  events: TraceEvent[];
}

/** What a trace may name: the cluster's nodes and its apps (with the node each runs on). */
export interface TraceContext {
  nodes: ReadonlySet<string>;
  apps: ReadonlyMap<string, { node: string | undefined }>;
}

export class TraceError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'TraceError';
  }
}

type Json = Record<string, unknown>;

function time(obj: Json, key: string, line: number): number {
  const v = obj[key];
  if (typeof v !== 'string') throw new TraceError(line, `"${key}" must be an ISO time string such as "2026-03-02T19:00:00Z"`);
  // Require an explicit zone so a trace means the same thing everywhere.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) throw new TraceError(line, `"${key}": ${JSON.stringify(v)} is not an ISO time with a zone (e.g. "2026-03-02T19:00:00Z")`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new TraceError(line, `"${key}": ${JSON.stringify(v)} is not a valid time`);
  return ms;
}

function str(obj: Json, key: string, line: number): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) throw new TraceError(line, `"${key}" must be a non-empty string`);
  return v;
}

function positive(obj: Json, key: string, line: number, integer: boolean): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) throw new TraceError(line, `"${key}" must be a positive ${integer ? 'whole ' : ''}number`);
  return v;
}

function knownKeys(obj: Json, allowed: readonly string[], line: number): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw new TraceError(line, `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
}

function node(obj: Json, key: string, line: number, ctx: TraceContext): string {
  const n = str(obj, key, line);
  if (!ctx.nodes.has(n)) throw new TraceError(line, `node "${n}" is not in the cluster file (nodes: ${[...ctx.nodes].sort().join(', ')})`);
  return n;
}

const podPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export function parseTrace(text: string, ctx: TraceContext): Trace {
  let header: TraceHeader | undefined;
  const events: TraceEvent[] = [];
  const running = new Map<string, number>();
  let last = -Infinity;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw new TraceError(line, `not valid JSON: ${(err as Error).message}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TraceError(line, 'each line must be a JSON object');
    const o = obj as Json;
    const kind = o.kind;
    if (!header) {
      if (kind !== 'header') throw new TraceError(line, 'the first line must be the header: {"kind":"header","start":...,"end":...,"bootSeconds":{...}}');
      knownKeys(o, ['kind', 'start', 'end', 'bootSeconds'], line);
      const start = time(o, 'start', line);
      const end = time(o, 'end', line);
      if (end <= start) throw new TraceError(line, '"end" must be after "start"');
      const boot: Record<string, number> = {};
      const b = o.bootSeconds ?? {};
      if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new TraceError(line, '"bootSeconds" must be an object of node name to seconds');
      for (const [n, s] of Object.entries(b as Json)) {
        if (!ctx.nodes.has(n)) throw new TraceError(line, `bootSeconds names node "${n}", which is not in the cluster file`);
        if (typeof s !== 'number' || !(s > 0)) throw new TraceError(line, `bootSeconds.${n} must be a positive number`);
        boot[n] = s;
      }
      header = { start, end, bootSeconds: boot };
      last = start;
      continue;
    }
    if (kind === 'header') throw new TraceError(line, 'only the first line may be a header');
    const t = time(o, 't', line);
    if (t < header.start || t > header.end) throw new TraceError(line, `"t" ${new Date(t).toISOString()} is outside the trace (${new Date(header.start).toISOString()} .. ${new Date(header.end).toISOString()})`);
    if (t < last) throw new TraceError(line, `events must be in time order: ${new Date(t).toISOString()} comes after ${new Date(last).toISOString()}`);
    last = t;
    switch (kind) {
      case 'pod-start': {
        knownKeys(o, ['t', 'kind', 'pod', 'node'], line);
        const pod = str(o, 'pod', line);
        if (!podPattern.test(pod)) throw new TraceError(line, `"pod" must be "<namespace>/<name>" in lower case, got ${JSON.stringify(pod)}`);
        if (running.has(pod)) throw new TraceError(line, `pod ${pod} already started on line ${running.get(pod)} and has not stopped`);
        running.set(pod, line);
        events.push({ line, t, kind, pod, node: node(o, 'node', line, ctx) });
        break;
      }
      case 'pod-stop': {
        knownKeys(o, ['t', 'kind', 'pod'], line);
        const pod = str(o, 'pod', line);
        if (!running.has(pod)) throw new TraceError(line, `pod ${pod} stops but never started`);
        running.delete(pod);
        events.push({ line, t, kind, pod });
        break;
      }
      case 'request': {
        knownKeys(o, ['t', 'kind', 'app', 'seconds'], line);
        const app = str(o, 'app', line);
        const known = ctx.apps.get(app);
        if (!known) throw new TraceError(line, `app "${app}" is not in spec.apps (apps: ${[...ctx.apps.keys()].sort().join(', ') || 'none'})`);
        if (!known.node) throw new TraceError(line, `app "${app}" has no node in spec.apps, so no node serves its requests`);
        events.push({ line, t, kind, app, seconds: positive(o, 'seconds', line, false) });
        break;
      }
      case 'wake-fails': {
        knownKeys(o, ['t', 'kind', 'node', 'count'], line);
        events.push({ line, t, kind, node: node(o, 'node', line, ctx), count: positive(o, 'count', line, true) });
        break;
      }
      default:
        throw new TraceError(line, `unknown kind ${JSON.stringify(kind)} (expected pod-start, pod-stop, request or wake-fails)`);
    }
  }
  if (!header) throw new TraceError(1, 'empty trace: the first line must be the header');
  return { header, events };
}
