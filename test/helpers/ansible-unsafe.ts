// `ansible-inventory --list` prints a variable tagged `!unsafe` as {"__ansible_unsafe": "value"}
// (ansible-core's AnsibleJSONEncoder, lib/ansible/module_utils/common/json.py, `_preprocess_unsafe_encode`).
// Every string VMStation writes into an inventory is tagged so (src/util/ansible-yaml.ts): these
// read such a listing back, and tell whether a value carried the tag.

export interface UnsafeWrapped {
  __ansible_unsafe: string;
}

export function isUnsafeWrapped(v: unknown): v is UnsafeWrapped {
  return typeof v === 'object' && v !== null && Object.keys(v).length === 1 && typeof (v as UnsafeWrapped).__ansible_unsafe === 'string';
}

/** The listing with every {"__ansible_unsafe": s} replaced by s. */
export function unwrapUnsafe<T>(v: T): T {
  if (isUnsafeWrapped(v)) return v.__ansible_unsafe as T;
  if (Array.isArray(v)) return v.map((x: unknown) => unwrapUnsafe(x)) as T;
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapUnsafe(x)])) as T;
  return v;
}
