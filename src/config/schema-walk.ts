// Finds the schema that governs a path, so a failing value can be explained with its own
// problem code, hint and the list of keys that would have been valid.
import type { z } from 'zod';
import type { Path } from './source.js';

type AnySchema = z.ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  valueType?: AnySchema;
  keyType?: AnySchema;
  in?: AnySchema;
  options?: AnySchema[];
}

function defOf(schema: AnySchema): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Removes optional/default/prefault/nullable/readonly wrappers. */
export function unwrap(schema: AnySchema): AnySchema {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(s);
    if (def.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)) {
      s = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      s = def.in;
    } else {
      return s;
    }
  }
  return s;
}

/** The schema at a path; wrappers are kept on the result so its meta stays visible. */
export function schemaAt(root: AnySchema, path: Path): AnySchema | undefined {
  let s: AnySchema | undefined = root;
  for (const key of path) {
    if (!s) return undefined;
    const def = defOf(unwrap(s));
    if (def.type === 'object' && def.shape) s = def.shape[String(key)];
    else if (def.type === 'array' && def.element) s = def.element;
    else if (def.type === 'record' && def.valueType) s = def.valueType;
    else return undefined;
  }
  return s;
}

/** The key schema of the record at a path (node labels), if it is one. */
export function recordKeySchema(root: AnySchema, path: Path): AnySchema | undefined {
  const s = schemaAt(root, path);
  if (!s) return undefined;
  const def = defOf(unwrap(s));
  return def.type === 'record' ? def.keyType : undefined;
}

/** Metadata of a schema, looking through wrappers (the meta is usually on the inner leaf). */
export function metaOf(schema: AnySchema | undefined): z.GlobalMeta | undefined {
  let s = schema;
  for (let i = 0; s && i < 10; i++) {
    const meta = (s as unknown as { meta(): z.GlobalMeta | undefined }).meta();
    if (meta && (meta.problem || meta.secretRef)) return meta;
    const def = defOf(s);
    s = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return undefined;
}

/** Keys an object schema accepts at a path. */
export function keysAt(root: AnySchema, path: Path): string[] {
  const s = schemaAt(root, path);
  if (!s) return [];
  const def = defOf(unwrap(s));
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The closest candidate by edit distance, if close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length] ?? 0;
}
