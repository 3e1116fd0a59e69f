// Workload traces for the power simulator: one JSON object per line.
//   {"kind":"header","start":ISO,"end":ISO,"bootSeconds":{"node":45}}      first line
//   {"t":ISO,"kind":"pod-start","pod":"ns/name","node":"node"}              a workload needing that node
//   {"t":ISO,"kind":"pod-stop","pod":"ns/name"}
//   {"t":ISO,"kind":"request","app":"jellyfin","seconds":600}               users of an app needing its node
//   {"t":ISO,"kind":"wake-fails","node":"node","count":2}                   (test aid) the next N wake attempts do nothing
//   {"t":ISO,"kind":"wake-request","node":"node"}                           a person asks for a wake (vmstation power wake)
//   {"t":ISO,"kind":"sleep-request","node":"node"}                          a person asks for a sleep (vmstation power sleep)
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
  | { line: number; t: number; kind: 'wake-fails'; node: string; count: number }
  | { line: number; t: number; kind: 'wake-request' | 'sleep-request'; node: string };

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

/** Reads the header line (the first line). */
function parseHeader(o: Json, line: number, ctx: TraceContext): TraceHeader {
  if (o.kind !== 'header') throw new TraceError(line, 'the first line must be the header: {"kind":"header","start":...,"end":...,"bootSeconds":{...}}');
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
  return { start, end, bootSeconds: boot };
}

interface ParseState {
  ctx: TraceContext;
  /** Pods started and not stopped yet, with the line that started them. */
  running: Map<string, number>;
}

type EventParser = (o: Json, line: number, t: number, st: ParseState) => TraceEvent;

/** One parser per event kind. */
const EVENT_PARSERS: Record<string, EventParser> = {
  'pod-start': (o, line, t, st) => {
    knownKeys(o, ['t', 'kind', 'pod', 'node'], line);
    const pod = str(o, 'pod', line);
    if (!podPattern.test(pod)) throw new TraceError(line, `"pod" must be "<namespace>/<name>" in lower case, got ${JSON.stringify(pod)}`);
    if (st.running.has(pod)) throw new TraceError(line, `pod ${pod} already started on line ${st.running.get(pod)} and has not stopped`);
    st.running.set(pod, line);
    return { line, t, kind: 'pod-start', pod, node: node(o, 'node', line, st.ctx) };
  },
  'pod-stop': (o, line, t, st) => {
    knownKeys(o, ['t', 'kind', 'pod'], line);
    const pod = str(o, 'pod', line);
    if (!st.running.has(pod)) throw new TraceError(line, `pod ${pod} stops but never started`);
    st.running.delete(pod);
    return { line, t, kind: 'pod-stop', pod };
  },
  request: (o, line, t, st) => {
    knownKeys(o, ['t', 'kind', 'app', 'seconds'], line);
    const app = str(o, 'app', line);
    const known = st.ctx.apps.get(app);
    if (!known) throw new TraceError(line, `app "${app}" is not in spec.apps (apps: ${[...st.ctx.apps.keys()].sort().join(', ') || 'none'})`);
    if (!known.node) throw new TraceError(line, `app "${app}" has no node in spec.apps, so no node serves its requests`);
    return { line, t, kind: 'request', app, seconds: positive(o, 'seconds', line, false) };
  },
  'wake-fails': (o, line, t, st) => {
    knownKeys(o, ['t', 'kind', 'node', 'count'], line);
    return { line, t, kind: 'wake-fails', node: node(o, 'node', line, st.ctx), count: positive(o, 'count', line, true) };
  },
  'wake-request': (o, line, t, st) => {
    knownKeys(o, ['t', 'kind', 'node'], line);
    return { line, t, kind: 'wake-request', node: node(o, 'node', line, st.ctx) };
  },
  'sleep-request': (o, line, t, st) => {
    knownKeys(o, ['t', 'kind', 'node'], line);
    return { line, t, kind: 'sleep-request', node: node(o, 'node', line, st.ctx) };
  },
};

function parseLine(raw: string, line: number): Json {
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch (err) {
    throw new TraceError(line, `not valid JSON: ${(err as Error).message}`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new TraceError(line, 'each line must be a JSON object');
  return obj as Json;
}

export function parseTrace(text: string, ctx: TraceContext): Trace {
  let header: TraceHeader | undefined;
  const events: TraceEvent[] = [];
  const st: ParseState = { ctx, running: new Map() };
  let last = -Infinity;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const o = parseLine(raw, line);
    if (!header) {
      header = parseHeader(o, line, ctx);
      last = header.start;
      continue;
    }
    if (o.kind === 'header') throw new TraceError(line, 'only the first line may be a header');
    const t = time(o, 't', line);
    if (t < header.start || t > header.end) throw new TraceError(line, `"t" ${new Date(t).toISOString()} is outside the trace (${new Date(header.start).toISOString()} .. ${new Date(header.end).toISOString()})`);
    if (t < last) throw new TraceError(line, `events must be in time order: ${new Date(t).toISOString()} comes after ${new Date(last).toISOString()}`);
    last = t;
    const parse = typeof o.kind === 'string' && Object.hasOwn(EVENT_PARSERS, o.kind) ? EVENT_PARSERS[o.kind] : undefined;
    if (!parse) throw new TraceError(line, `unknown kind ${JSON.stringify(o.kind)} (expected ${Object.keys(EVENT_PARSERS).join(', ')})`);
    events.push(parse(o, line, t, st));
  }
  if (!header) throw new TraceError(1, 'empty trace: the first line must be the header');
  return { header, events };
}
