// compile-schema.ts refuses, at build time, every zod construct the fast path cannot mirror
// exactly, instead of compiling a table that would disagree with zod.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileSchema } from '../../../src/config/compile-schema.js';
import { FastParser } from '../../../src/config/fast-parse.js';

describe('compileSchema refuses what the fast path cannot mirror', () => {
  it.each([
    ['a transform', z.strictObject({ a: z.string().transform((s) => s.length) }), /zod type "pipe"/],
    ['a non-strict object', z.object({ a: z.string() }), /only strict objects/],
    ['a 32-bit integer format', z.strictObject({ a: z.int32() }), /check "number_format" \(int32\)/],
    ['a string check it does not know', z.strictObject({ a: z.string().startsWith('x') }), /check "string_format" \(starts_with\)/],
    ['a record keyed by values', z.strictObject({ a: z.record(z.enum(['x', 'y']), z.string()) }), /only records keyed by a string pattern/],
    ['.optional() around a default', z.strictObject({ a: z.string().default('x').optional() }), /\.optional\(\) around a default/],
    ['a default that is not JSON', z.strictObject({ a: z.number().default(Number.NaN) }), /not plain JSON/],
    ['a nullable', z.strictObject({ a: z.string().nullable() }), /zod type "nullable"/],
    ['a URL format (more than a pattern)', z.strictObject({ a: z.url() }), /check "string_format" \(url\)/],
  ])('%s', (_name, schema, message) => {
    expect(() => compileSchema(schema)).toThrow(message);
  });

  it('compiles what it supports, and the table parses as zod does', () => {
    const schema = z.strictObject({
      name: z.string().regex(/^[a-z]+$/).min(2).max(5),
      port: z.number().int().gt(0).lt(65536),
      mode: z.enum(['a', 'b']).default('a'),
      kind: z.literal('K'),
      tags: z.array(z.string()).min(1).optional(),
      labels: z.record(z.string().regex(/^[a-z]+$/), z.string()).default({}),
      inner: z.strictObject({ on: z.boolean().default(true) }).prefault({}),
      either: z.union([z.literal('off'), z.number().min(0).max(1)]).default('off'),
      mail: z.email().optional(),
    });
    const parser = new FastParser(compileSchema(schema));
    for (const input of [
      { name: 'ab', port: 80, kind: 'K' },
      { name: 'abc', port: 1, kind: 'K', tags: ['x'], labels: { a: 'b' }, inner: { on: false }, either: 0.5, mail: 'a@b.co' },
      { name: 'a', port: 80, kind: 'K' },
      { name: 'ab', port: 80.5, kind: 'K' },
      { name: 'ab', port: 80, kind: 'K', tags: [] },
      { name: 'ab', port: 80, kind: 'K', extra: 1 },
      { name: 'ab', port: 80, kind: 'K', labels: { A: 'b' } },
      { name: 'ab', port: 80, kind: 'K', mail: 'nope' },
      { name: 'ab', port: 80, kind: 'K', either: 2 },
      { name: 'abcdef', port: 80, kind: 'K' },
    ]) {
      const zod = schema.safeParse(input);
      const fast = parser.parse(input);
      expect(fast?.data).toStrictEqual(zod.success ? zod.data : undefined);
    }
  });
});
