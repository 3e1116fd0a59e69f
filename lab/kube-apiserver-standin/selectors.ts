// Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels and
// pkg/fields: "a=b,c!=d,e in (x,y),f notin (z),g,!h" for labels; "=", "==", "!=" for fields.
import { ApiError } from './status.js';

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'doesnotexist' }
  | { key: string; op: 'gt' | 'lt'; value: number };

export type LabelSelector = LabelRequirement[];

export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of input) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function invalidSelector(input: string, why: string): ApiError {
  return ApiError.badRequest(`unable to parse requirement: ${why} (selector "${input}")`);
}

export function parseLabelSelector(input: string | undefined): LabelSelector {
  if (input === undefined || input.trim() === '') return [];
  const reqs: LabelSelector = [];
  for (const part of splitTopLevel(input)) {
    let m = /^([^\s!=<>()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
      reqs.push({ key: m[1] ?? '', op: m[2] === 'in' ? 'in' : 'notin', values });
      continue;
    }
    m = /^([^\s!=<>()]+)\s*(==|=|!=)\s*([^\s!=<>(),]*)$/.exec(part);
    if (m) {
      reqs.push({ key: m[1] ?? '', op: m[2] === '!=' ? 'notin' : 'in', values: [m[3] ?? ''] });
      continue;
    }
    m = /^([^\s!=<>()]+)\s*(<|>)\s*(-?\d+)$/.exec(part);
    if (m) {
      reqs.push({ key: m[1] ?? '', op: m[2] === '>' ? 'gt' : 'lt', value: Number(m[3]) });
      continue;
    }
    m = /^(!?)\s*([^\s!=<>()]+)$/.exec(part);
    if (m) {
      reqs.push({ key: m[2] ?? '', op: m[1] === '!' ? 'doesnotexist' : 'exists' });
      continue;
    }
    throw invalidSelector(input, `cannot parse "${part}"`);
  }
  return reqs;
}

export function labelsMatch(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const req of selector) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const v = l[req.key];
    switch (req.op) {
      case 'in':
        if (!has || !req.values.includes(v ?? '')) return false;
        break;
      case 'notin':
        if (has && req.values.includes(v ?? '')) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case 'doesnotexist':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has) return false;
        const n = Number(v);
        if (!Number.isInteger(n)) return false;
        if (req.op === 'gt' ? !(n > req.value) : !(n < req.value)) return false;
        break;
      }
    }
  }
  return true;
}

/** metav1.LabelSelector (matchLabels + matchExpressions) as used by PDBs, Deployments, ... */
export function labelSelectorFromObject(sel: unknown): LabelSelector | 'nothing' {
  if (typeof sel !== 'object' || sel === null) return 'nothing';
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
  const reqs: LabelSelector = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) reqs.push({ key: k, op: 'in', values: [v] });
  for (const e of s.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') reqs.push({ key: e.key, op: 'exists' });
    else if (op === 'doesnotexist') reqs.push({ key: e.key, op: 'doesnotexist' });
  }
  return reqs;
}

export function parseFieldSelector(input: string | undefined): FieldRequirement[] {
  if (input === undefined || input.trim() === '') return [];
  const reqs: FieldRequirement[] = [];
  for (const part of input.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(part);
    if (!m) throw ApiError.badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
    reqs.push({ field: (m[1] ?? '').trim(), op: m[2] === '!=' ? 'neq' : 'eq', value: (m[3] ?? '').trim() });
  }
  return reqs;
}

export function fieldsMatch(reqs: readonly FieldRequirement[], fields: Record<string, string>): boolean {
  for (const r of reqs) {
    const v = fields[r.field] ?? '';
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
