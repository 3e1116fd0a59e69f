// Which lists merge by key (strategic merge patch "patchMergeKey" and server-side apply
// "listMapKeys") and which are sets of primitives. The real API server reads this from the
// OpenAPI schema per field path; the stand-in keys it by field name, which covers the fields
// VMStation and kubectl touch. Every other list is atomic (replaced as a whole).
import { isPlainObject } from './json.js';

const KEYED_LISTS: Record<string, readonly string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  env: ['name'],
  imagePullSecrets: ['name'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey', 'whenUnsatisfiable'],
  resourceClaims: ['name'],
  versions: ['name'],
};

const SET_LISTS = new Set(['finalizers']);

/** Merge keys for a list under `field`, or undefined when the list is atomic. */
export function listMergeKeys(field: string | undefined, ...lists: unknown[][]): readonly string[] | undefined {
  if (field === undefined) return undefined;
  let keys = KEYED_LISTS[field];
  if (field === 'ports') {
    // Container ports merge by containerPort, Service ports by port.
    const sample = lists.flat().find(isPlainObject);
    if (sample === undefined) return undefined;
    keys = 'containerPort' in sample ? ['containerPort'] : 'port' in sample ? ['port'] : undefined;
  }
  if (keys === undefined) return undefined;
  for (const list of lists) {
    for (const item of list) {
      if (!isPlainObject(item)) return undefined;
      if (!keys.every((k) => item[k] !== undefined)) return undefined;
    }
  }
  return keys;
}

export function isSetList(field: string | undefined, ...lists: unknown[][]): boolean {
  return field !== undefined && SET_LISTS.has(field) && lists.every((l) => l.every((v) => typeof v !== 'object' || v === null));
}

export function keyOf(item: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of [...keys].sort()) out[k] = item[k];
  return out;
}

export function sameKey(a: unknown, b: unknown, keys: readonly string[]): boolean {
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  return keys.every((k) => a[k] === b[k]);
}
