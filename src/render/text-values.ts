// Where data meets a line-based syntax (chrony.conf, grafana.ini, ansible.cfg, comments), values
// pass through one of these. Line formats have no quoting that could carry a line break, so a
// value that would add a line, a section, a key or a comment is refused here, and the schema
// (src/config/text-types.ts) refuses it earlier with a message for the user; reaching one of these
// errors means the schema let something through, which is a bug.

export class UnsafeValueError extends Error {
  constructor(where: string, value: string, why: string) {
    super(`${where}: ${JSON.stringify(value)} cannot be written safely (${why}); the cluster file's schema should have refused it`);
    this.name = 'UnsafeValueError';
  }
}

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** One word of a chrony directive (a host name, an address, a network): letters, digits, ".", ":", "/", "-", "_". */
export function chronyWord(value: string, where: string): string {
  if (!/^[A-Za-z0-9._:/-]+$/.test(value)) throw new UnsafeValueError(where, value, 'a chrony directive argument is one word of letters, digits, ".", ":", "/", "-" or "_"');
  return value;
}

/**
 * A value in grafana.ini (read by gopkg.in/ini.v1): one line, none of the characters that start an
 * inline comment ("#", ";"), a quoted value ('"', "'", "`") or a continuation ("\"), no
 * surrounding spaces.
 */
export function grafanaIniValue(value: string | number | boolean, where: string): string {
  const text = String(value);
  if (CONTROL.test(text) || /[#;"'`\\]/.test(text) || text !== text.trim()) throw new UnsafeValueError(where, text, 'an ini value is one line without # ; quotes or backslashes');
  return text;
}

/** A section or key name in an ini file: letters, digits, ".", "_", "-". */
export function iniName(name: string, where: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UnsafeValueError(where, name, 'an ini name is letters, digits, ".", "_" or "-"');
  return name;
}

/**
 * A value in ansible.cfg (Python's ConfigParser with BasicInterpolation and ";" as inline comment
 * prefix): one line, "%" written as "%%", no ";" after a space.
 */
export function configParserValue(value: string, where: string): string {
  if (CONTROL.test(value) || /\s;/.test(value)) throw new UnsafeValueError(where, value, 'an ansible.cfg value is one line without " ;"');
  return value.replace(/%/g, '%%');
}

/** Text inside a "#" or ";" comment: one line. */
export function commentText(value: string, where: string): string {
  if (CONTROL.test(value)) throw new UnsafeValueError(where, value, 'a comment is one line');
  return value;
}
