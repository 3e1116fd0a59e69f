// A small, fast YAML emitter for plain config data (mappings, sequences, strings, numbers,
// booleans). The rule files and prometheus.yml are mostly PromQL strings, where the general
// serializer spends tens of milliseconds deciding on quoting; here a string is written plain
// when that is unambiguous and as a JSON string (a valid YAML double-quoted scalar) otherwise.
// Tests check that parsing the output gives the input back, for arbitrary data.

type Data = string | number | boolean | null | Data[] | { [key: string]: Data };

// Plain scalars: a conservative character set, no leading indicator, no ": " or " #", no
// trailing space, and nothing YAML 1.1 or 1.2 would read as a number, boolean, null or date.
const PLAIN = /^[A-Za-z_/.$(][A-Za-z0-9 _./:$(){}[\],=~|+*<>-]*$/;
const SPECIAL = /^(true|false|yes|no|on|off|y|n|null|~|\.inf|\.nan|[-+]?\.?\d.*)$/i;

function scalar(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (/^(\d+(ms|[smhdwy]))+$/.test(value)) return value; // durations such as 30s or 1h30m
  if (value !== '' && PLAIN.test(value) && !SPECIAL.test(value) && !/: |\s#|\s$|[{}[\],]/.test(value)) return value;
  return JSON.stringify(value);
}

function key(k: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) && !SPECIAL.test(k) ? k : JSON.stringify(k);
}

function isCollection(v: Data): v is Data[] | { [key: string]: Data } {
  return v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

function emptyCollection(v: Data): string | undefined {
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) return '{}';
  return undefined;
}

function lines(value: Data, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item)) {
        const sub: string[] = [];
        lines(item, `${indent}  `, sub);
        // The first line of the item goes after "- ".
        out.push(`${indent}- ${sub[0]!.slice(indent.length + 2)}`, ...sub.slice(1));
      } else out.push(`${indent}- ${emptyCollection(item) ?? scalar(item as string)}`);
    }
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (isCollection(v)) {
        out.push(`${indent}${key(k)}:`);
        lines(v, `${indent}  `, out);
      } else out.push(`${indent}${key(k)}: ${emptyCollection(v) ?? scalar(v as string)}`);
    }
    return;
  }
  out.push(`${indent}${scalar(value)}`);
}

/** YAML text of plain data; mappings keep their key order, sequences are indented under their key. */
export function fastYaml(value: unknown): string {
  const empty = emptyCollection(value as Data);
  if (empty) return `${empty}\n`;
  const out: string[] = [];
  lines(value as Data, '', out);
  return `${out.join('\n')}\n`;
}
