// Compiles a zod schema into the table the fast path interprets (src/config/fast-parse.ts), and
// writes it as a TypeScript module. test/unit/config/fast-parse.test.ts fails when the committed
// table is not what this produces from ClusterSchema today, and rewrites it with UPDATE_GOLDEN=1.
//
// Anything it does not know how to mirror exactly (a transform, a pipe, a number format other
// than safe integers, a non-JSON default) is an error here, at build time, rather than a fast
// path that silently disagrees with zod.
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { FastCheck, FastField, FastNode, FastSchema } from './fast-parse.js';

interface Def {
  type: string;
  /** Set when the schema is its own check (a format: z.email(), z.int32()). */
  check?: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  defaultValue?: unknown;
  format?: string;
  pattern?: RegExp;
  mode?: string;
}

interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  minimum?: number;
  maximum?: number;
  value?: unknown;
  inclusive?: boolean;
}

interface Internals {
  def: Def;
  optin?: 'optional' | 'defaulted';
  optout?: 'optional';
  values?: Set<unknown>;
  check?: unknown;
}

const internals = (s: z.ZodType) => (s as unknown as { _zod: Internals })._zod;

export function compileSchema(root: z.ZodType): FastSchema {
  const patterns: Array<[string, string]> = [];
  const patternIndex = (re: RegExp): number => {
    const found = patterns.findIndex(([s, f]) => s === re.source && f === re.flags);
    if (found >= 0) return found;
    patterns.push([re.source, re.flags]);
    return patterns.length - 1;
  };

  const check = (c: CheckDef, where: string): FastCheck => {
    // Formats that are a pattern and nothing else (zod's url, for one, also runs the URL parser).
    if (c.check === 'string_format' && (c.format === 'regex' || c.format === 'email') && c.pattern) return { k: 'regex', p: patternIndex(c.pattern) };
    if (c.check === 'min_length' && typeof c.minimum === 'number') return { k: 'min', n: c.minimum };
    if (c.check === 'max_length' && typeof c.maximum === 'number') return { k: 'max', n: c.maximum };
    if ((c.check === 'greater_than' || c.check === 'less_than') && typeof c.value === 'number')
      return { k: c.check === 'greater_than' ? 'gt' : 'lt', n: c.value, inclusive: c.inclusive === true };
    if (c.check === 'number_format' && c.format === 'safeint') return { k: 'int' };
    if (c.check === 'custom') return { k: 'custom' };
    throw new Error(`compile-schema: check ${JSON.stringify(c.check)} (${c.format ?? ''}) at ${where} is not supported by the fast path`);
  };

  const jsonValue = (v: unknown, where: string): unknown => {
    if (v === undefined || !isDeepStrictEqual(JSON.parse(JSON.stringify(v)), v)) throw new Error(`compile-schema: the default at ${where} is not plain JSON`);
    return v;
  };

  const node = (s: z.ZodType, where: string): FastNode => {
    const zod = internals(s);
    const def = zod.def;
    const checks = (def.checks ?? []).map((c) => check(c._zod.def, where));
    // A format schema (z.email(), z.int32()) is its own first check, as zod runs it.
    if (def.check !== undefined) checks.unshift(check({ ...def, check: def.check, value: undefined }, where));
    const withChecks = (n: FastNode): FastNode => (checks.length > 0 ? { ...n, checks } : n);
    switch (def.type) {
      case 'string':
      case 'number':
      case 'boolean':
        return withChecks({ t: def.type });
      case 'enum':
      case 'literal':
        return withChecks({ t: 'values', values: [...(zod.values ?? [])] as Array<string | number | boolean | null> });
      case 'array':
        return withChecks({ t: 'array', element: node(def.element as z.ZodType, `${where}[]`) });
      case 'object':
        return withChecks({ t: 'object', fields: objectFields(def, where) });
      case 'record': {
        const key = node(def.keyType as z.ZodType, `${where} key`);
        if (key.t !== 'string' || internals(def.keyType as z.ZodType).values || def.mode === 'loose') throw new Error(`compile-schema: only records keyed by a string pattern are supported (${where})`);
        return withChecks({ t: 'record', key, value: node(def.valueType as z.ZodType, `${where}.*`) });
      }
      case 'optional':
        if (internals(def.innerType as z.ZodType).optin === 'defaulted') throw new Error(`compile-schema: .optional() around a default at ${where} is not supported`);
        return withChecks({ t: 'optional', inner: node(def.innerType as z.ZodType, where) });
      case 'default':
      case 'prefault':
        return withChecks({ t: def.type, value: jsonValue(def.defaultValue, where), inner: node(def.innerType as z.ZodType, where) });
      case 'union':
        return withChecks({ t: 'union', options: (def.options ?? []).map((o, i) => node(o, `${where}|${i}`)) });
      default:
        throw new Error(`compile-schema: zod type ${JSON.stringify(def.type)} at ${where} is not supported by the fast path`);
    }
  };

  const objectFields = (def: Def, where: string): FastField[] => {
    if (!def.catchall || internals(def.catchall).def.type !== 'never') throw new Error(`compile-schema: only strict objects are supported (${where})`);
    return Object.entries(def.shape ?? {}).map(([key, s]) => {
      if (key === '__proto__') throw new Error(`compile-schema: a key named __proto__ at ${where}`);
      const { optin, optout } = internals(s);
      return { key, node: node(s, `${where}.${key}`), ...(optin ? { optin } : {}), ...(optout ? { optout } : {}) };
    });
  };

  const compiledRoot = node(root, 'the file');
  return { patterns, root: compiledRoot };
}

/** The generated module's text. */
export function fastSchemaModule(schema: FastSchema): string {
  return [
    '// GENERATED from ClusterSchema (src/config/schema.ts) by src/config/compile-schema.ts: do not edit.',
    '// test/unit/config/fast-parse.test.ts fails when it is stale; regenerate with',
    '// UPDATE_GOLDEN=1 npx vitest run --project unit test/unit/config/fast-parse.test.ts',
    "import type { FastSchema } from '../fast-parse.js';",
    '',
    `export const CLUSTER_FAST_SCHEMA: FastSchema = ${JSON.stringify(schema)};`,
    '',
  ].join('\n');
}
