// JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch, as the API
// server applies them to a stored object. Pure functions over plain JSON.
import { deepClone, deepEqual, isPlainObject, type JsonObject } from './json.js';
import { isSetList, listMergeKeys, sameKey } from './merge-keys.js';
import { ApiError } from './status.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function patchTypeOf(contentType: string | undefined): PatchType {
  const ct = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  switch (ct) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      throw ApiError.unsupportedMediaType(ct);
  }
}

// ---- RFC 7386 ----

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return deepClone(patch);
  const result: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// ---- RFC 6902 ----

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw ApiError.badRequest(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function containerAt(doc: unknown, parts: string[], pointer: string): { parent: unknown; key: string } {
  let cur = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i] ?? '';
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isPlainObject(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined) throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  }
  return { parent: cur, key: parts[parts.length - 1] ?? '' };
}

function readAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const p of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isPlainObject(cur)) cur = cur[p];
    else return undefined;
  }
  return cur;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const parts = parsePointer(pointer);
  const { parent, key } = containerAt(doc, parts, pointer);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw patchFailed(`Unable to remove nonexistent key: ${key}: missing value`);
    return parent.splice(i, 1)[0];
  }
  if (isPlainObject(parent)) {
    if (!(key in parent)) throw patchFailed(`Unable to remove nonexistent key: ${key}: missing value`);
    const v = parent[key];
    delete parent[key];
    return v;
  }
  throw patchFailed(`doc is missing path: "${pointer}": missing value`);
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const parts = parsePointer(pointer);
  if (parts.length === 0) return deepClone(value);
  const { parent, key } = containerAt(doc, parts, pointer);
  if (Array.isArray(parent)) {
    if (replace) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw patchFailed(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
      parent[i] = deepClone(value);
    } else if (key === '-') parent.push(deepClone(value));
    else {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) throw patchFailed(`Unable to access invalid index: ${key}: invalid index referenced`);
      parent.splice(i, 0, deepClone(value));
    }
  } else if (isPlainObject(parent)) {
    if (replace && !(key in parent)) throw patchFailed(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    parent[key] = deepClone(value);
  } else throw patchFailed(`doc is missing path: "${pointer}": missing value`);
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw ApiError.badRequest('json patch must be a list of operations');
  let doc = deepClone(target);
  for (const raw of ops) {
    if (!isPlainObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw ApiError.badRequest('invalid json patch operation');
    }
    const op = raw as unknown as JsonPatchOp;
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, op.value, false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, op.value, true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move': {
        const v = removeAt(doc, op.from ?? '');
        doc = addAt(doc, op.path, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, readAt(doc, op.from ?? ''), false);
        break;
      case 'test':
        if (!deepEqual(readAt(doc, op.path), op.value)) throw patchFailed(`testing value ${op.path} failed: test failed`);
        break;
      default:
        throw ApiError.badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

// ---- strategic merge patch ----

function smpObject(original: unknown, patch: JsonObject): unknown {
  if (patch['$patch'] === 'replace') {
    const copy = { ...patch };
    delete copy['$patch'];
    return stripDirectives(copy);
  }
  if (patch['$patch'] === 'delete') return undefined;
  let result: JsonObject = isPlainObject(original) ? { ...original } : {};
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    const keep = new Set(retain.filter((k): k is string => typeof k === 'string'));
    result = Object.fromEntries(Object.entries(result).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = result[field];
      if (Array.isArray(cur) && Array.isArray(v)) result[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete result[k];
      continue;
    }
    const merged = smpValue(result[k], v, k);
    if (merged === undefined) delete result[k];
    else result[k] = merged;
  }
  return result;
}

function smpValue(original: unknown, patch: unknown, field: string): unknown {
  if (isPlainObject(patch)) return smpObject(original, patch);
  if (Array.isArray(patch)) return smpList(Array.isArray(original) ? original : [], patch, field);
  return deepClone(patch);
}

function smpList(original: unknown[], patch: unknown[], field: string): unknown[] {
  if (patch.some((p) => isPlainObject(p) && p['$patch'] === 'replace')) {
    return patch.filter((p) => !(isPlainObject(p) && p['$patch'] === 'replace')).map(stripDirectives);
  }
  const items = patch.filter((p) => !(isPlainObject(p) && p['$patch'] === 'delete'));
  const keys = listMergeKeys(field, original, patch.map((p) => (isPlainObject(p) ? p : p)));
  if (keys !== undefined) {
    const result = [...original];
    for (const p of patch) {
      const idx = result.findIndex((o) => sameKey(o, p, keys));
      if (isPlainObject(p) && p['$patch'] === 'delete') {
        if (idx >= 0) result.splice(idx, 1);
        continue;
      }
      if (idx >= 0) result[idx] = smpObject(result[idx], p as JsonObject);
      else result.push(stripDirectives(p));
    }
    return result;
  }
  if (isSetList(field, original, items)) {
    const result = [...original];
    for (const p of items) if (!result.some((o) => deepEqual(o, p))) result.push(p);
    return result;
  }
  return items.map(stripDirectives);
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw ApiError.badRequest('strategic merge patch must be a JSON object');
  return smpObject(target, patch);
}
