// Facts read from upstream files at the tags we pin: the lines a test relies on were copied
// verbatim with `git grep -n` into test/data (each file's first line says from which repository,
// tag and file), so a test can quote the line it checks and fail when a pin moves without them.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface UpstreamLine {
  /** `path:line` (or `line`) in the upstream file, for messages. */
  where: string;
  text: string;
}

export function upstreamLines(file: string): UpstreamLine[] {
  return readFileSync(path.join(ROOT, 'test/data', file), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const m = /^((?:[^:]+:)?\d+)[:-](.*)$/.exec(l);
      if (!m) throw new Error(`${file}: not a 'path:line:text' line: ${l}`);
      return { where: m[1]!, text: m[2]! };
    });
}

/** The value of `name: value` in a Kubespray defaults line (quotes and trailing comments dropped). */
export function kubesprayDefault(name: string): string {
  const line = upstreamLines('kubespray-v2.31.0/upstream-lines.txt').find((l) => l.text.startsWith(`${name}:`));
  if (!line) throw new Error(`no Kubespray v2.31.0 default ${name} in test/data`);
  return line.text.slice(name.length + 1).replace(/#.*$/, '').trim().replace(/^"(.*)"$/, '$1');
}

/** The line of an upstream excerpt that matches, or an error naming the file. */
export function upstreamLine(file: string, pattern: RegExp): UpstreamLine {
  const line = upstreamLines(file).find((l) => pattern.test(l.text));
  if (!line) throw new Error(`${file} has no line matching ${pattern}`);
  return line;
}
