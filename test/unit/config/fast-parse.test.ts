// AGREEMENT of validate's fast path (the compiled table in src/config/data/cluster-schema.fast.ts,
// interpreted by src/config/fast-parse.ts) with zod, the oracle: on every input the fast path
// either declines, or accepts with exactly zod's parsed data (same values, same key order). It
// must decline every input zod refuses, and accept every input zod accepts unless the input
// reaches a refinement (a `.refine` function the table cannot carry). Checked over every fixture
// and example, and over inputs property-generated from them.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileSchema, fastSchemaModule } from '../../../src/config/compile-schema.js';
import { CLUSTER_FAST_SCHEMA } from '../../../src/config/data/cluster-schema.fast.js';
import { FastParser, type FastNode } from '../../../src/config/fast-parse.js';
import { ClusterSchema } from '../../../src/config/schema.js';
import { parseSource, toData } from '../../../src/config/source.js';
import { validateText, validateTextWithZod } from '../../../src/config/validate.js';
import { validateTextFast } from '../../../src/config/validate-fast.js';

const root = path.resolve(import.meta.dirname, '../../..');
const tablePath = path.join(root, 'src/config/data/cluster-schema.fast.ts');
const parser = new FastParser(CLUSTER_FAST_SCHEMA);

const fixtureFiles = [
  ...['valid', 'invalid', 'warnings'].flatMap((d) =>
    readdirSync(path.join(root, 'test/fixtures', d))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join('test/fixtures', d, f)),
  ),
  'examples/vmstation.yaml',
].sort();

function dataOf(file: string): unknown {
  const { source } = parseSource(file, readFileSync(path.join(root, file), 'utf8'));
  const converted = toData(source);
  return 'data' in converted ? converted.data : undefined;
}

/** Whether the fast path may decline this input although zod accepts it: it holds a value checked by a refinement. */
function reachesRefinement(value: unknown): boolean {
  const refined = (node: FastNode, v: unknown): boolean => {
    if (v === undefined) return false;
    if (node.checks?.some((c) => c.k === 'custom')) return true;
    switch (node.t) {
      case 'array':
        return Array.isArray(v) && v.some((x) => refined(node.element, x));
      case 'object':
        return typeof v === 'object' && v !== null && node.fields.some((f) => refined(f.node, (v as Record<string, unknown>)[f.key]));
      case 'record':
        return typeof v === 'object' && v !== null && Object.values(v).some((x) => refined(node.value, x));
      case 'optional':
      case 'default':
      case 'prefault':
        return refined(node.inner, v);
      case 'union':
        return node.options.some((o) => refined(o, v));
      default:
        return false;
    }
  };
  return refined(CLUSTER_FAST_SCHEMA.root, value);
}

/** The agreement itself, for one input; true when zod accepted it. */
function expectAgreement(input: unknown): boolean {
  const zod = ClusterSchema.safeParse(structuredClone(input));
  const fast = parser.parse(structuredClone(input));
  if (!zod.success) {
    expect(fast, 'the fast path accepted an input zod refuses').toBeUndefined();
    return false;
  }
  if (fast === undefined) {
    expect(reachesRefinement(input), 'the fast path declined an input zod accepts, without a refinement in it').toBe(true);
    return true;
  }
  expect(fast.data).toStrictEqual(zod.data);
  expect(JSON.stringify(fast.data)).toBe(JSON.stringify(zod.data));
  return true;
}

describe('the compiled schema', () => {
  it('is what compile-schema.ts makes of ClusterSchema today (UPDATE_GOLDEN=1 rewrites it)', () => {
    const expected = fastSchemaModule(compileSchema(ClusterSchema));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(tablePath, expected);
    expect(readFileSync(tablePath, 'utf8')).toBe(expected);
  });

  it('carries the refinement of ignoreUserAgents (so a test below can decline on it)', () => {
    expect(JSON.stringify(CLUSTER_FAST_SCHEMA)).toContain('"k":"custom"');
  });
});

describe('fast path and zod agree on every fixture', () => {
  it('has fixtures of each kind', () => {
    expect(fixtureFiles.filter((f) => f.includes('/invalid/')).length).toBeGreaterThanOrEqual(30);
    expect(fixtureFiles.filter((f) => f.includes('/warnings/')).length).toBeGreaterThan(5);
  });

  it.each(fixtureFiles)('%s: same acceptance and parsed data', (file) => {
    expectAgreement(dataOf(file));
  });

  it.each(fixtureFiles)('%s: validateText gives the same result as zod alone', (file) => {
    const input = { file, text: readFileSync(path.join(root, file), 'utf8') };
    expect(validateText(input)).toStrictEqual(validateTextWithZod(input));
  });

  it('the fast path answers for every valid, warning and example file, and declines every schema-invalid one', () => {
    const answered = fixtureFiles.filter((file) => validateTextFast({ file, text: readFileSync(path.join(root, file), 'utf8') }) !== undefined);
    for (const file of fixtureFiles.filter((f) => !f.includes('/invalid/'))) expect(answered).toContain(file);
    // A file whose YAML is broken or is not a mapping is answered without the schema stage.
    const schemaRefused = fixtureFiles.filter((file) => {
      const { problems } = parseSource(file, readFileSync(path.join(root, file), 'utf8'));
      const data = dataOf(file);
      return !problems.some((p) => p.severity === 'error') && data !== null && typeof data === 'object' && !Array.isArray(data) && !ClusterSchema.safeParse(data).success;
    });
    expect(schemaRefused.length).toBeGreaterThanOrEqual(25);
    for (const file of schemaRefused) expect(answered).not.toContain(file);
  });

  it('declines a value under a refinement, and zod then refuses it with its message', () => {
    const base = dataOf('examples/vmstation.yaml') as { spec: { apps: Array<Record<string, unknown>> } };
    const bad = structuredClone(base);
    (bad.spec.apps[0] as Record<string, unknown>).ignoreUserAgents = ['('];
    expect(parser.parse(bad)).toBeUndefined();
    expect(ClusterSchema.safeParse(bad).success).toBe(false);
  });
});

// ---- property-generated inputs ----------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value inside `v` (objects and lists), the root included. */
function pathsOf(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  const here = [at];
  if (Array.isArray(v)) return [...here, ...v.flatMap((x, i) => pathsOf(x, [...at, i]))];
  if (v && typeof v === 'object') return [...here, ...Object.entries(v).flatMap(([k, x]) => pathsOf(x, [...at, k]))];
  return here;
}

/** Keys the schema knows anywhere, so generated objects hit real fields as well as unknown ones. */
const schemaKeys = [...new Set(JSON.stringify(CLUSTER_FAST_SCHEMA).match(/"key":"[^"]+"/g)?.map((m) => m.slice(7, -1)) ?? [])];

/** Values shaped like the cluster file's: near misses of patterns, bounds and types. */
const leaf: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>('', 'x', '30m', '1h30m', '30x', 'UTC', 'Europe/Berlin', '192.168.4.10', '192.168.4.0/24', '300.1.1.1', '02:00:c0:a8:04:3f', 'masternode', 'Master', 'debian-12', 'worker', 'control-plane', 'wol', '20Gi', 'off', 'a@b.co', 'not mail', 'https://ntfy.sh', '/var/lib/x', '~/.ssh/id', '0 1 * * *', 'true', 'kubespray', 'calico'),
  fc.constantFrom<Json>(0, 1, -1, 0.5, 1.5, 30000, 30096, 32768, 65535, 65536, 1e21, Number.NaN, Number.POSITIVE_INFINITY, -Infinity, true, false, null),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double({ noNaN: false }),
);
const value: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...schemaKeys), fc.string({ maxLength: 6 })), tie('v'), { maxKeys: 3 }),
  ),
})).v;

const bases = fixtureFiles.map(dataOf).filter((d): d is Json => d !== undefined && d !== null && typeof d === 'object');
/** zod's outputs are valid inputs too, with every default written out: mutating them reaches defaulted fields. */
const basesWithDefaults = bases.map((b) => ClusterSchema.safeParse(b)).flatMap((r) => (r.success ? [JSON.parse(JSON.stringify(r.data)) as Json] : []));

const mutation = fc.record({
  base: fc.nat(),
  withDefaults: fc.boolean(),
  at: fc.nat(),
  op: fc.constantFrom('set', 'delete', 'add-key'),
  key: fc.oneof(fc.constantFrom(...schemaKeys), fc.string({ maxLength: 6 })),
  value,
});

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** One mutation, of `onto` when given (a copy of it), else of the base fixture `m` picks. */
function mutate(m: Mutation, onto?: unknown): unknown {
  const pool = m.withDefaults ? basesWithDefaults : bases;
  const doc = structuredClone(onto ?? pool[m.base % pool.length]) as Json;
  const paths = pathsOf(doc);
  const at = paths[m.at % paths.length] ?? [];
  if (at.length === 0) return m.op === 'set' ? m.value : doc;
  const parent = at.slice(0, -1).reduce<Json>((v, k) => (v as Record<string, Json>)[k] as Json, doc) as Record<string | number, Json>;
  const last = at[at.length - 1] as string | number;
  if (m.op === 'set') parent[last] = m.value;
  else if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, Json>)[m.key] = m.value;
  }
  return doc;
}

describe('fast path and zod agree on property-generated inputs', () => {
  it('one mutation of a fixture (a value replaced, a key or item removed, a key added)', () => {
    let accepted = 0;
    let runs = 0;
    fc.assert(
      fc.property(mutation, (m) => {
        runs++;
        if (expectAgreement(mutate(m))) accepted++;
      }),
      { numRuns: 600 },
    );
    // Both sides of the agreement are exercised, not only refusals.
    expect(accepted).toBeGreaterThan(runs / 10);
    expect(accepted).toBeLessThan(runs);
  });

  it('a leaf (a number, a text, a flag) replaced by a near miss', () => {
    const leafMutation = fc.record({ base: fc.nat(), withDefaults: fc.boolean(), at: fc.nat(), value: leaf });
    fc.assert(
      fc.property(leafMutation, ({ base, withDefaults, at, value: v }) => {
        const pool = withDefaults ? basesWithDefaults : bases;
        const doc = structuredClone(pool[base % pool.length]);
        const leaves = pathsOf(doc).filter((p) => {
          const x = p.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], doc);
          return x === null || typeof x !== 'object';
        });
        const target = leaves[at % leaves.length];
        if (!target || target.length === 0) return;
        const parent = target.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], doc) as Record<string | number, unknown>;
        parent[target[target.length - 1] as string | number] = v;
        expectAgreement(doc);
      }),
      { numRuns: 1000 },
    );
  });

  it('two mutations of a fixture', () => {
    fc.assert(
      fc.property(mutation, mutation, (a, b) => {
        const once = mutate(a);
        if (once !== null && typeof once === 'object') expectAgreement(mutate(b, once));
      }),
      { numRuns: 200 },
    );
  });

  it('arbitrary values at the root', () => {
    fc.assert(
      fc.property(value, (v) => {
        expectAgreement(v);
      }),
      { numRuns: 200 },
    );
  });
});
