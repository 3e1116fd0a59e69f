// Reads YAML keeping source positions, so every problem points at a line and column.
import { isMap, isSeq, isScalar, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import type { Problem } from './problems.js';

export type Path = readonly (string | number)[];

export interface SourceFile {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface Position {
  line: number;
  column: number;
}

export function parseSource(file: string, text: string): { source: SourceFile; problems: Problem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  for (const err of doc.errors) {
    const pos = lines.linePos(err.pos[0]);
    problems.push({
      file,
      line: pos.line,
      column: pos.col,
      severity: 'error',
      code: err.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
      message: firstLine(err.message),
      hint:
        err.code === 'DUPLICATE_KEY'
          ? 'remove or rename one of the two keys'
          : 'fix the YAML syntax at this place: check indentation, quotes and colons (quote values that contain ": ")',
    });
  }
  for (const warn of doc.warnings) {
    const pos = lines.linePos(warn.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, severity: 'warning', code: 'yaml-warning', message: firstLine(warn.message), hint: 'see the YAML 1.2 specification' });
  }
  return { source: { file, text, doc, lines }, problems };
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

function offsetToPosition(source: SourceFile, offset: number): Position {
  const p = source.lines.linePos(offset);
  return { line: p.line, column: p.col };
}

function nodeAt(source: SourceFile, path: Path): YamlNode | undefined {
  let node: unknown = source.doc.contents;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
    } else {
      return undefined;
    }
  }
  return (node ?? undefined) as YamlNode | undefined;
}

/**
 * Where a path is in the file: its value, or for a missing key the closest existing parent.
 * With `atKey`, points at the key itself (for unknown keys).
 */
export function locate(source: SourceFile, path: Path, opts: { atKey?: boolean } = {}): Position {
  if (opts.atKey && path.length > 0) {
    const parent = nodeAt(source, path.slice(0, -1));
    const key = path[path.length - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      if (pair && isScalar(pair.key) && pair.key.range) return offsetToPosition(source, pair.key.range[0]);
    }
  }
  for (let len = path.length; len >= 0; len--) {
    const node = nodeAt(source, path.slice(0, len));
    if (node?.range) {
      // A missing key is reported at its parent map's first key, where it would be added.
      return offsetToPosition(source, node.range[0]);
    }
  }
  return { line: 1, column: 1 };
}

/**
 * How many times the aliases of one document may expand. Far above what a cluster file needs (an
 * anchor for shared labels, say), far below an "alias bomb" (nine nested aliases of ten items
 * expand to a billion nodes).
 */
export const MAX_ALIAS_EXPANSIONS = 100;

/** Plain JavaScript data of the document (what the schema checks), or the problem that stopped it. */
export function toData(source: SourceFile): { data: unknown } | { problem: Problem } {
  try {
    return { data: source.doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS }) };
  } catch (err) {
    // The yaml library refuses to expand more (a ReferenceError): the file's fault, not ours.
    if (!(err instanceof ReferenceError) || !/alias/i.test(err.message)) throw err;
    let at: Position = { line: 1, column: 1 };
    visit(source.doc, {
      Alias(_key, node) {
        if (node.range) at = offsetToPosition(source, node.range[0]);
        return visit.BREAK;
      },
    });
    return {
      problem: {
        file: source.file,
        ...at,
        severity: 'error',
        code: 'yaml-too-many-aliases',
        message: `the YAML aliases in this file expand to more than ${MAX_ALIAS_EXPANSIONS} copies (nested aliases can make a small file huge)`,
        hint: 'write the repeated values out, or use fewer levels of aliases (*name)',
      },
    };
  }
}

/** `spec.nodes[0].mac`, as users read paths. */
export function formatPath(path: Path): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}
