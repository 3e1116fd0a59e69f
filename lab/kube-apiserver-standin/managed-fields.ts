// Field ownership for server-side apply, in the managedFields/FieldsV1 format of the real API
// server. Simplified: list semantics come from merge-keys.ts (by field name, not by schema);
// ownership is tracked per leaf path; a conflict is another manager owning the same path with a
// different value.
import { deepClone, deepEqual, isPlainObject, type JsonObject } from './json.js';
import { isSetList, keyOf, listMergeKeys, sameKey } from './merge-keys.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** A path is a list of FieldsV1 segments ("f:spec", "k:{\"name\":\"x\"}", "v:\"a\"", "."). */
export type FieldPath = string[];
const SEP = '\u0001';

const IGNORED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

/** Leaf paths of an object, keyed by their joined form. */
export function fieldSetOf(obj: JsonObject, options: { skipStatus?: boolean } = {}): Map<string, FieldPath> {
  const leaves = leavesOf(obj, options);
  const out = new Map<string, FieldPath>();
  for (const [k, l] of leaves) out.set(k, l.path);
  return out;
}

interface Leaf {
  path: FieldPath;
  value: unknown;
}

/** Leaf paths with their values, in one walk (what recordUpdate compares). */
export function leavesOf(obj: JsonObject, options: { skipStatus?: boolean } = {}): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && options.skipStatus === true) continue;
    if (k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (IGNORED_METADATA.has(mk) || mv === undefined) continue;
        collect(mv, ['f:metadata', `f:${mk}`], mk, out);
      }
      continue;
    }
    collect(v, [`f:${k}`], k, out);
  }
  return out;
}

function add(out: Map<string, FieldPath>, path: FieldPath): void {
  out.set(path.join(SEP), path);
}

function addLeaf(out: Map<string, Leaf>, path: FieldPath, value: unknown): void {
  out.set(path.join(SEP), { path, value });
}

function collect(value: unknown, prefix: FieldPath, field: string | undefined, out: Map<string, Leaf>): void {
  if (value === undefined) return;
  if (isPlainObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) addLeaf(out, prefix, value);
    for (const [k, v] of entries) collect(v, [...prefix, `f:${k}`], k, out);
    return;
  }
  if (Array.isArray(value)) {
    const keys = listMergeKeys(field, value);
    if (keys !== undefined && value.length > 0) {
      for (const item of value as JsonObject[]) {
        const seg = `k:${JSON.stringify(keyOf(item, keys))}`;
        addLeaf(out, [...prefix, seg, '.'], true);
        for (const [k, v] of Object.entries(item)) collect(v, [...prefix, seg, `f:${k}`], k, out);
      }
      return;
    }
    if (isSetList(field, value) && value.length > 0) {
      for (const item of value) addLeaf(out, [...prefix, `v:${JSON.stringify(item)}`], true);
      return;
    }
  }
  addLeaf(out, prefix, value);
}

/** The value at a path, or a marker when the path does not exist. */
const MISSING = Symbol('missing');
export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (seg === '.') return cur === MISSING ? MISSING : true;
    if (seg.startsWith('f:')) {
      if (!isPlainObject(cur)) return MISSING;
      const k = seg.slice(2);
      if (!(k in cur)) return MISSING;
      cur = cur[k];
    } else if (seg.startsWith('k:')) {
      if (!Array.isArray(cur)) return MISSING;
      const key = JSON.parse(seg.slice(2)) as JsonObject;
      const found = cur.find((it) => sameKey(it, key, Object.keys(key)));
      if (found === undefined) return MISSING;
      cur = found;
    } else if (seg.startsWith('v:')) {
      if (!Array.isArray(cur)) return MISSING;
      const v = JSON.parse(seg.slice(2)) as unknown;
      return cur.some((x) => deepEqual(x, v)) ? true : MISSING;
    }
  }
  return cur;
}

/** Removes the field at path from obj (mutates); a "." path removes the list item. */
function removeAt(obj: JsonObject, path: FieldPath): void {
  let cur: unknown = obj;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] ?? '';
    const last = i === path.length - 1;
    const nextIsDot = path[i + 1] === '.';
    if (seg.startsWith('f:')) {
      if (!isPlainObject(cur)) return;
      const k = seg.slice(2);
      if (last) {
        delete cur[k];
        return;
      }
      cur = cur[k];
    } else if (seg.startsWith('k:')) {
      if (!Array.isArray(cur)) return;
      const key = JSON.parse(seg.slice(2)) as JsonObject;
      const idx = cur.findIndex((it) => sameKey(it, key, Object.keys(key)));
      if (idx < 0) return;
      if (nextIsDot) {
        cur.splice(idx, 1);
        return;
      }
      cur = cur[idx];
    } else if (seg.startsWith('v:')) {
      if (!Array.isArray(cur)) return;
      const v = JSON.parse(seg.slice(2)) as unknown;
      const idx = cur.findIndex((x) => deepEqual(x, v));
      if (idx >= 0) cur.splice(idx, 1);
      return;
    }
  }
}

/** After a removal, drops maps left empty unless applied (the API omits empty maps). */
function pruneEmptyParents(obj: JsonObject, path: FieldPath, applied: Map<string, FieldPath>): void {
  for (let len = path.length - 1; len > 0; len--) {
    const parent = path.slice(0, len);
    const last = parent[parent.length - 1] ?? '';
    if (!last.startsWith('f:') || applied.has(parent.join(SEP))) return;
    const v = valueAt(obj, parent);
    if (!isPlainObject(v) || Object.keys(v).length > 0) return;
    removeAt(obj, parent);
  }
}

// ---- FieldsV1 trie <-> path sets ----

// Objects of the same shape have the same FieldsV1 tries (keys are field names, not values).
// Stored objects are never mutated, so identical tries are shared (frozen) between them: at
// 30,000 pods this saves most of the memory managedFields would take.
const interned = new Map<string, JsonObject>();
const MAX_INTERNED = 20_000;

function deepFreeze(o: JsonObject): JsonObject {
  for (const v of Object.values(o)) if (isPlainObject(v)) deepFreeze(v);
  return Object.freeze(o);
}

function intern(trie: JsonObject): JsonObject {
  const key = JSON.stringify(trie);
  const hit = interned.get(key);
  if (hit !== undefined) return hit;
  if (interned.size >= MAX_INTERNED) interned.clear();
  const frozen = deepFreeze(trie);
  interned.set(key, frozen);
  return frozen;
}

export function toFieldsV1(paths: Iterable<FieldPath>): JsonObject {
  return intern(buildTrie(paths));
}

function buildTrie(paths: Iterable<FieldPath>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const seg of path) {
      const existing = node[seg];
      const next: JsonObject = isPlainObject(existing) ? existing : {};
      node[seg] = next;
      node = next;
    }
  }
  return sortTrie(root);
}

function sortTrie(node: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(node).sort()) out[k] = sortTrie(node[k] as JsonObject);
  return out;
}

export function fromFieldsV1(trie: unknown): Map<string, FieldPath> {
  const out = new Map<string, FieldPath>();
  const walk = (node: unknown, prefix: FieldPath): void => {
    if (!isPlainObject(node)) return;
    const keys = Object.keys(node);
    if (keys.length === 0 && prefix.length > 0) add(out, prefix);
    for (const k of keys) walk(node[k], [...prefix, k]);
  };
  walk(trie, []);
  return out;
}

/** ".spec.template.spec.containers[name=\"web\"].image", as the real conflict message prints it. */
export function formatPath(path: FieldPath): string {
  let s = '';
  for (const seg of path) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) s += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as JsonObject;
      s += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (seg.startsWith('v:')) s += `[=${seg.slice(2)}]`;
  }
  return s;
}

function readEntries(obj: JsonObject): ManagedFieldsEntry[] {
  const meta = obj['metadata'];
  if (!isPlainObject(meta) || !Array.isArray(meta['managedFields'])) return [];
  return (meta['managedFields'] as unknown[]).filter(isPlainObject) as unknown as ManagedFieldsEntry[];
}

function sameManager(e: ManagedFieldsEntry, manager: string, operation: string, subresource: string | undefined): boolean {
  return e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');
}

function writeEntries(obj: JsonObject, entries: ManagedFieldsEntry[]): void {
  const meta = isPlainObject(obj['metadata']) ? obj['metadata'] : {};
  obj['metadata'] = meta;
  if (entries.length === 0) delete meta['managedFields'];
  else meta['managedFields'] = entries;
}

export interface UpdateOwnership {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string;
}

/**
 * Records a non-apply write (create, update, patch): the writer gains the fields whose values it
 * changed, and every other manager loses them. Mutates `next` (its metadata.managedFields).
 */
export function recordUpdate(prev: JsonObject | undefined, next: JsonObject, who: UpdateOwnership): void {
  const entries = prev === undefined ? [] : readEntries(prev).map((e) => ({ ...e }));
  const before = prev === undefined ? new Map<string, Leaf>() : leavesOf(prev);
  const after = leavesOf(next);
  const changed = new Map<string, FieldPath>();
  for (const [k, leaf] of after) {
    const old = before.get(k);
    if (old === undefined || !deepEqual(old.value, leaf.value)) changed.set(k, leaf.path);
  }
  const removed = new Set<string>();
  for (const k of before.keys()) if (!after.has(k)) removed.add(k);
  if (changed.size === 0 && removed.size === 0) {
    writeEntries(next, entries);
    return;
  }
  const result: ManagedFieldsEntry[] = [];
  let mine: Map<string, FieldPath> | undefined;
  for (const e of entries) {
    const set = fromFieldsV1(e.fieldsV1);
    if (sameManager(e, who.manager, 'Update', who.subresource)) {
      mine = set;
      continue;
    }
    let touched = false;
    for (const k of [...changed.keys(), ...removed]) if (set.delete(k)) touched = true;
    if (set.size === 0) continue;
    result.push(touched ? { ...e, fieldsV1: toFieldsV1(set.values()) } : e);
  }
  mine ??= new Map();
  for (const k of removed) mine.delete(k);
  for (const [k, p] of changed) mine.set(k, p);
  if (mine.size > 0) {
    result.push({
      manager: who.manager,
      operation: 'Update',
      apiVersion: who.apiVersion,
      time: who.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(mine.values()),
      ...(who.subresource !== undefined ? { subresource: who.subresource } : {}),
    });
  }
  writeEntries(next, result);
}

export interface ApplyConflict {
  manager: string;
  apiVersion: string;
  path: FieldPath;
}

export interface ApplyResult {
  object: JsonObject;
  conflicts: ApplyConflict[];
}

function mergeApplied(live: unknown, applied: unknown, field: string | undefined): unknown {
  if (isPlainObject(applied)) {
    const result: JsonObject = isPlainObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) {
      if (v === undefined) continue;
      result[k] = mergeApplied(result[k], v, k);
    }
    return result;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const keys = listMergeKeys(field, live, applied);
    if (keys !== undefined) {
      const result = [...live];
      for (const item of applied) {
        const idx = result.findIndex((o) => sameKey(o, item, keys));
        if (idx >= 0) result[idx] = mergeApplied(result[idx], item, undefined);
        else result.push(deepClone(item));
      }
      return result;
    }
    if (isSetList(field, live, applied)) {
      const result = [...live];
      for (const v of applied) if (!result.some((x) => deepEqual(x, v))) result.push(v);
      return result;
    }
  }
  return deepClone(applied);
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined when creating). Returns the
 * merged object with updated managedFields, or the conflicts when not forced.
 */
export function applyConfiguration(
  live: JsonObject | undefined,
  applied: JsonObject,
  who: { manager: string; apiVersion: string; time: string; force: boolean; skipStatus: boolean },
): ApplyResult {
  const entries = live === undefined ? [] : readEntries(live).map((e) => ({ ...e }));
  const appliedSet = fieldSetOf(applied, { skipStatus: who.skipStatus });
  const conflicts: ApplyConflict[] = [];
  const sets = entries.map((e) => fromFieldsV1(e.fieldsV1));
  entries.forEach((e, i) => {
    if (sameManager(e, who.manager, 'Apply', undefined)) return;
    const set = sets[i] ?? new Map<string, FieldPath>();
    for (const [k, p] of appliedSet) {
      if (!set.has(k)) continue;
      const ours = valueAt(applied, p);
      const theirs = valueAt(live, p);
      if (theirs === MISSING || deepEqual(ours, theirs)) continue;
      if (who.force) set.delete(k);
      else conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p });
    }
  });
  if (conflicts.length > 0) return { object: live ?? {}, conflicts };

  const appliedBody: JsonObject = { ...applied };
  if (who.skipStatus) delete appliedBody['status'];
  const appliedMeta = isPlainObject(appliedBody['metadata']) ? { ...appliedBody['metadata'] } : {};
  for (const k of IGNORED_METADATA) if (k !== 'name' && k !== 'namespace') delete appliedMeta[k];
  appliedBody['metadata'] = appliedMeta;
  const merged = mergeApplied(live === undefined ? {} : deepClone(live), appliedBody, undefined) as JsonObject;

  // Fields this manager applied last time, no longer applied, and owned by nobody else: remove.
  const previousIdx = entries.findIndex((e) => sameManager(e, who.manager, 'Apply', undefined));
  const previous = previousIdx >= 0 ? (sets[previousIdx] ?? new Map<string, FieldPath>()) : new Map<string, FieldPath>();
  const ownedByOthers = new Set<string>();
  sets.forEach((s, i) => {
    if (i !== previousIdx) for (const k of s.keys()) ownedByOthers.add(k);
  });
  const toRemove = [...previous].filter(([k]) => !appliedSet.has(k) && !ownedByOthers.has(k)).map(([, p]) => p);
  // Remove deeper paths first so list items disappear after their fields.
  toRemove.sort((a, b) => b.length - a.length);
  for (const p of toRemove) {
    removeAt(merged, p);
    pruneEmptyParents(merged, p, appliedSet);
  }

  const result: ManagedFieldsEntry[] = [];
  const prevMine = previousIdx >= 0 ? entries[previousIdx] : undefined;
  const unchangedMine = prevMine !== undefined && previous.size === appliedSet.size && [...appliedSet.keys()].every((k) => previous.has(k));
  entries.forEach((e, i) => {
    if (i === previousIdx) {
      result.push(unchangedMine ? e : { ...e, apiVersion: who.apiVersion, time: who.time, fieldsV1: toFieldsV1(appliedSet.values()) });
      return;
    }
    const set = sets[i] ?? new Map<string, FieldPath>();
    if (set.size === 0) return;
    const original = fromFieldsV1(e.fieldsV1);
    result.push(original.size === set.size ? e : { ...e, fieldsV1: toFieldsV1(set.values()) });
  });
  if (previousIdx < 0 && appliedSet.size > 0) {
    result.push({
      manager: who.manager,
      operation: 'Apply',
      apiVersion: who.apiVersion,
      time: who.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(appliedSet.values()),
    });
  }
  writeEntries(merged, result);
  return { object: merged, conflicts: [] };
}

export function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  const byManager = new Map<string, ApplyConflict[]>();
  for (const c of conflicts) {
    const key = `"${c.manager}" using ${c.apiVersion}`;
    byManager.set(key, [...(byManager.get(key) ?? []), c]);
  }
  const n = conflicts.length;
  const head = `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: `;
  if (byManager.size === 1 && n === 1) {
    const [key, list] = [...byManager][0] ?? ['', []];
    return `${head}conflict with ${key}: ${formatPath(list[0]?.path ?? [])}`;
  }
  const parts = [...byManager].map(
    ([key, list]) => `conflict${list.length === 1 ? '' : 's'} with ${key}:\n${list.map((c) => `- ${formatPath(c.path)}`).join('\n')}`,
  );
  return head + parts.join('\n');
}
