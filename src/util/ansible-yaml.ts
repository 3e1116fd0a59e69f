// YAML for Ansible variables (inventories, group_vars, host_vars, extra-vars files). Ansible
// evaluates Jinja in every variable it reads, on the operator's machine, so a value such as
// `{{ lookup('pipe', 'id') }}` in a user name would run a command there. Every string written by
// this serializer is therefore tagged `!unsafe` (Ansible then never templates it; see
// https://docs.ansible.com/ansible/latest/playbook_guide/playbooks_advanced_syntax.html#unsafe-or-raw-strings),
// except a template we write on purpose, which must be wrapped with `ansibleTemplate()`.
import { Document, Pair, Scalar, YAMLMap, YAMLSeq, parse, type Node } from 'yaml';

/** A Jinja template VMStation writes on purpose (e.g. `{{ playbook_dir }}/../configs`): left for Ansible to evaluate. */
export class AnsibleTemplate {
  constructor(readonly text: string) {}
}

export function ansibleTemplate(text: string): AnsibleTemplate {
  return new AnsibleTemplate(text);
}

export const UNSAFE_TAG = '!unsafe';

function toNode(value: unknown): Node {
  if (value instanceof AnsibleTemplate) return new Scalar(value.text);
  if (typeof value === 'string') {
    const s = new Scalar(value);
    s.tag = UNSAFE_TAG;
    return s;
  }
  if (Array.isArray(value)) {
    const seq = new YAMLSeq();
    for (const item of value) seq.items.push(toNode(item));
    return seq;
  }
  if (value !== null && typeof value === 'object') {
    const map = new YAMLMap();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined) map.items.push(new Pair(new Scalar(k), toNode(v)));
    }
    return map;
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot write ${value} as an Ansible value`);
    return new Scalar(value);
  }
  throw new Error(`cannot write a ${typeof value} as an Ansible value`);
}

/** YAML text of Ansible variables: keys as given, every string `!unsafe` unless it is an `AnsibleTemplate`. */
export function ansibleYaml(value: unknown): string {
  const doc = new Document();
  doc.contents = toNode(value);
  return doc.toString({ lineWidth: 0 });
}

/** Reads text written by `ansibleYaml` back (tests, and code that inspects rendered inventories). */
export function parseAnsibleYaml(text: string): unknown {
  return parse(text, { customTags: [{ tag: UNSAFE_TAG, resolve: (s: string) => s }] });
}
