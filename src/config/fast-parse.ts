// The fast path of the schema stage: the cluster schema compiled ahead of time into a plain table
// (src/config/data/cluster-schema.fast.ts, generated from ClusterSchema by compile-schema.ts) and
// this small interpreter of it. It exists for start-up time (issue 16 §7): importing zod and
// building the schema cost more than a whole bare Node start, and a valid file needs neither.
//
// It answers only "valid, and here is exactly what zod's safeParse would return", or "ask zod":
// on any doubt (an invalid value, a refinement it cannot run, a key it is not sure about) it
// returns undefined and the caller runs zod, which alone writes the error messages. So it can
// never invent a message, and a file zod refuses can never pass (test/unit/config/fast-parse.test.ts
// proves both over every fixture and property-generated inputs, and that the table is current).
//
// Each rule below mirrors zod 4's own (node_modules/zod/v4/core/schemas.js, checks.js): objects
// build their output in the schema's key order, `.default` returns its value unparsed,
// `.prefault` parses it, a union takes its first option that passes, strings are measured in code
// points.

/** A check of a leaf, as zod runs it after the type test. */
export type FastCheck =
  | { k: 'regex'; p: number }
  | { k: 'min'; n: number }
  | { k: 'max'; n: number }
  | { k: 'gt'; n: number; inclusive: boolean }
  | { k: 'lt'; n: number; inclusive: boolean }
  | { k: 'int' }
  /** A `.refine` (a function): the fast path cannot run it, so reaching one means "ask zod". */
  | { k: 'custom' };

/** zod's optin/optout of an object's field: whether the key may be absent, and what absence yields. */
export interface FastField {
  key: string;
  node: FastNode;
  optin?: 'optional' | 'defaulted';
  optout?: 'optional';
}

export type FastNode = { checks?: FastCheck[] } & (
  | { t: 'string' }
  | { t: 'number' }
  | { t: 'boolean' }
  /** z.enum and z.literal: the allowed values. */
  | { t: 'values'; values: ReadonlyArray<string | number | boolean | null> }
  | { t: 'array'; element: FastNode }
  /** A strict object (unknown keys are refused). */
  | { t: 'object'; fields: FastField[] }
  | { t: 'record'; key: FastNode; value: FastNode }
  | { t: 'optional'; inner: FastNode }
  | { t: 'default'; value: unknown; inner: FastNode }
  | { t: 'prefault'; value: unknown; inner: FastNode }
  | { t: 'union'; options: FastNode[] }
);

export interface FastSchema {
  /** Regular expressions, by index from `regex` checks: [source, flags]. */
  patterns: ReadonlyArray<readonly [string, string]>;
  root: FastNode;
}

/** "Not accepted here": the value fails, or may fail, the schema. */
const FAIL: unique symbol = Symbol('fail');
type Out = unknown;

/** Thrown when a refinement is reached: the answer is zod's alone (a union must not try its next option). */
class AskZod extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** zod's util.isPlainObject, for records. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  const ctor = (v as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const proto = (ctor as { prototype?: unknown }).prototype;
  return isObject(proto) && Object.prototype.hasOwnProperty.call(proto, 'isPrototypeOf');
}

export class FastParser {
  private readonly regexes: Array<RegExp | undefined>;

  constructor(private readonly schema: FastSchema) {
    this.regexes = new Array<RegExp | undefined>(schema.patterns.length);
  }

  /** zod's parsed data when the value is valid; undefined when zod must decide (and explain). */
  parse(value: unknown): { data: unknown } | undefined {
    try {
      const out = this.run(this.schema.root, value);
      return out === FAIL ? undefined : { data: out };
    } catch (err) {
      if (err instanceof AskZod) return undefined;
      throw err;
    }
  }

  private regex(i: number): RegExp {
    const [source, flags] = this.schema.patterns[i] ?? ['(?!)', ''];
    return (this.regexes[i] ??= new RegExp(source, flags));
  }

  private run(node: FastNode, v: unknown): Out | typeof FAIL {
    const out = this.shape(node, v);
    if (out === FAIL || !node.checks) return out;
    return node.checks.every((c) => this.check(c, out)) ? out : FAIL;
  }

  private check(c: FastCheck, v: unknown): boolean {
    const length = (x: unknown) => (typeof x === 'string' ? [...x].length : (x as unknown[]).length);
    switch (c.k) {
      case 'regex': {
        const re = this.regex(c.p);
        re.lastIndex = 0;
        return re.test(v as string);
      }
      case 'min':
        return length(v) >= c.n;
      case 'max':
        return length(v) <= c.n;
      case 'gt':
        return c.inclusive ? (v as number) >= c.n : (v as number) > c.n;
      case 'lt':
        return c.inclusive ? (v as number) <= c.n : (v as number) < c.n;
      case 'int':
        return Number.isSafeInteger(v);
      case 'custom':
        throw new AskZod();
    }
  }

  private shape(node: FastNode, v: unknown): Out | typeof FAIL {
    switch (node.t) {
      case 'string':
        return typeof v === 'string' ? v : FAIL;
      case 'number':
        return typeof v === 'number' && Number.isFinite(v) ? v : FAIL;
      case 'boolean':
        return typeof v === 'boolean' ? v : FAIL;
      case 'values':
        return node.values.includes(v as string) ? v : FAIL;
      case 'array':
        return this.array(node.element, v);
      case 'object':
        return this.object(node.fields, v);
      case 'record':
        return this.record(node.key, node.value, v);
      case 'optional':
        return v === undefined ? undefined : this.run(node.inner, v);
      case 'default': {
        if (v === undefined) return structuredClone(node.value);
        const out = this.run(node.inner, v);
        return out === undefined ? structuredClone(node.value) : out;
      }
      case 'prefault':
        return this.run(node.inner, v === undefined ? structuredClone(node.value) : v);
      case 'union':
        for (const option of node.options) {
          const out = this.run(option, v);
          if (out !== FAIL) return out;
        }
        return FAIL;
    }
  }

  private array(element: FastNode, v: unknown): Out | typeof FAIL {
    if (!Array.isArray(v)) return FAIL;
    const out: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = this.run(element, v[i]);
      if (item === FAIL) return FAIL;
      out[i] = item;
    }
    return out;
  }

  /** zod's $ZodObject with catchall never (strictObject) and its handlePropertyResult. */
  private object(fields: readonly FastField[], v: unknown): Out | typeof FAIL {
    if (!isObject(v)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const { key, node, optin, optout } of fields) {
      const present = key in v;
      if (!present && optout === 'optional' && optin === 'optional') continue;
      const r = this.run(node, v[key]);
      if (r === FAIL) {
        if (optin !== undefined && optout === 'optional' && !present) continue;
        return FAIL;
      }
      if (!present && optin === undefined) return FAIL;
      if (r !== undefined) out[key] = r;
      else if (present || (optin === 'defaulted' && optout !== 'optional')) out[key] = undefined;
    }
    for (const key in v) if (!fields.some((f) => f.key === key)) return FAIL;
    return out;
  }

  /** zod's $ZodRecord with a key schema that is not a list of values (a pattern). */
  private record(keyNode: FastNode, valueNode: FastNode, v: unknown): Out | typeof FAIL {
    if (!isPlainObject(v)) return FAIL;
    const out: Record<string, unknown> = {};
    for (const key of Reflect.ownKeys(v)) {
      if (key === '__proto__' || !Object.prototype.propertyIsEnumerable.call(v, key)) continue;
      if (typeof key !== 'string') throw new AskZod();
      if (this.run(keyNode, key) === FAIL) return FAIL;
      const value = this.run(valueNode, v[key]);
      if (value === FAIL) return FAIL;
      out[key] = value;
    }
    return out;
  }
}
