// A small typed model of the Alloy configuration syntax (formerly River): blocks with an
// optional label, attributes and nested blocks; values are strings, numbers, booleans, lists,
// objects and references (expressions such as `loki.write.default.receiver`).
// Serialization is deterministic: attributes and blocks in the order the model gives them.

/** An expression written as-is: a component export or a standard-library call. */
export interface Expr {
  readonly expr: string;
}
export type Value = string | number | boolean | Expr | readonly Value[] | { readonly [key: string]: Value };

export interface Block {
  /** Dotted block name, e.g. `loki.source.file`, `rule`, `stage.cri`. */
  name: string;
  /** The component label (`"pods"` in `loki.source.file "pods"`); nested blocks have none. */
  label?: string;
  attributes: Array<[string, Value]>;
  blocks: Block[];
}

export const expr = (text: string): Expr => ({ expr: text });

export function isExpr(v: unknown): v is Expr {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { expr?: unknown }).expr === 'string';
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
const blockName = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Component labels: letters, digits and underscores (Alloy's rule). */
const labelPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An Alloy string literal (Go-style escapes). */
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '\\': out += '\\\\'; break;
      case '"': out += '\\"'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      default: {
        const code = ch.codePointAt(0) ?? 0;
        out += code < 0x20 ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
      }
    }
  }
  return `${out}"`;
}

function formatValue(v: Value, indent: string): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isExpr(v)) return v.expr;
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    const items = (v as readonly Value[]).map((x) => formatValue(x, inner));
    if (items.length === 0) return '[]';
    const oneLine = `[${items.join(', ')}]`;
    if (oneLine.length <= 80 && !oneLine.includes('\n')) return oneLine;
    return `[\n${items.map((i) => `${inner}${i},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, Value>);
  if (entries.length === 0) return '{}';
  const keys = entries.map(([k]) => (identifier.test(k) ? k : quote(k)));
  const width = Math.max(...keys.map((k) => k.length));
  const lines = entries.map(([, val], i) => `${inner}${keys[i]!.padEnd(width)} = ${formatValue(val, inner)},`);
  return `{\n${lines.join('\n')}\n${indent}}`;
}

function formatBlock(b: Block, indent: string): string {
  if (!blockName.test(b.name)) throw new Error(`not an Alloy block name: ${b.name}`);
  if (b.label !== undefined && !labelPattern.test(b.label)) throw new Error(`not an Alloy label: ${b.label}`);
  const head = b.label === undefined ? b.name : `${b.name} ${quote(b.label)}`;
  if (b.attributes.length === 0 && b.blocks.length === 0) return `${indent}${head} { }`;
  const inner = `${indent}  `;
  const seen = new Set<string>();
  for (const [k] of b.attributes) {
    if (!identifier.test(k)) throw new Error(`not an Alloy attribute name: ${k}`);
    if (seen.has(k)) throw new Error(`attribute ${k} set twice in ${head}`);
    seen.add(k);
  }
  const width = Math.max(0, ...b.attributes.map(([k]) => k.length));
  const parts: string[] = b.attributes.map(([k, v]) => `${inner}${k.padEnd(width)} = ${formatValue(v, inner)}`);
  for (const child of b.blocks) {
    if (parts.length > 0) parts.push('');
    parts.push(formatBlock(child, inner));
  }
  return `${indent}${head} {\n${parts.join('\n')}\n${indent}}`;
}

/** Formats top-level blocks, each preceded by its comment lines. */
export function formatFile(items: ReadonlyArray<{ comment?: string; block: Block }>, header: string): string {
  const out: string[] = header.split('\n').map((l) => `// ${l}`.trimEnd());
  for (const { comment, block } of items) {
    out.push('');
    if (comment) for (const l of comment.split('\n')) out.push(`// ${l}`.trimEnd());
    out.push(formatBlock(block, ''));
  }
  return `${out.join('\n')}\n`;
}
