// 5-field cron expressions and IANA time zones: the one cron implementation of vmstation, built on
// cron-parser. The validator asks `cronProblem` (a sentence naming the field, or undefined); the
// power manager's windows ask `cronOccurrences`. Both parse with the same library and the same
// options, so an expression the validator accepts is one the controller can evaluate, and one that
// can never fire (31 February) is refused up front instead of surprising the controller later.
import { createRequire } from 'node:module';
import type * as CronParserModule from 'cron-parser';

type CronExpressionParser = typeof CronParserModule.CronExpressionParser;

let parser: CronExpressionParser | undefined;

/**
 * cron-parser (and luxon under it) costs 40-100 ms to import. Loaded on first use, so `validate`
 * of a file without windows does not pay for it. The package is CommonJS, so a synchronous
 * require works and the validator's rules stay synchronous.
 */
function cronParser(): CronExpressionParser {
  parser ??= (createRequire(import.meta.url)('cron-parser') as typeof CronParserModule).CronExpressionParser;
  return parser;
}

export class CronError extends Error {
  constructor(
    readonly expression: string,
    message: string,
  ) {
    super(message);
    this.name = 'CronError';
  }
}

const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

/**
 * Every combination of weekday, day of month and leap year repeats within 28 years, so an
 * expression with no occurrence in 28 years from any instant never fires at all.
 */
const NEVER_FIRES_HORIZON_MS = 28 * 366 * 86_400_000;
/** A fixed instant for the "does it ever fire" check, so validation does not depend on the day it runs. */
const REFERENCE = Date.UTC(2000, 0, 1);

function parse(expr: string, timezone: string, from: number, to?: number) {
  return cronParser().parse(expr, { tz: timezone, currentDate: new Date(from), ...(to === undefined ? {} : { endDate: new Date(to) }) });
}

/** cron-parser's messages, said the way a person fixing the file needs them. */
function explain(message: string, fieldText: string): string {
  const range = /got value (\S+) expected range (\d+)-(\d+)/.exec(message);
  if (range) return `${range[1]} is outside ${range[2]}-${range[3]}`;
  if (/cannot repeat at every 0 time/.test(message)) return 'a step of 0 never repeats';
  const backwards = /Invalid range: (\S+?), min\(\d+\) > max\(\d+\)/.exec(message);
  if (backwards) return `the range ${backwards[1]} runs backwards (write the smaller number first)`;
  if (/Invalid characters/.test(message) && /\/(?!\d+(,|$))/.test(fieldText)) return 'the step must be a number';
  if (/Invalid characters/.test(message)) return 'not a number, a name, a range, a list or a step';
  return message.replace(/^(Constraint|Validation) error, /, '');
}

/** The field, quoted, and what is wrong with it, when that field alone is invalid. */
function fieldProblem(fields: readonly string[]): string | undefined {
  for (const [i, text] of fields.entries()) {
    if (text === '*') continue;
    const alone = fields.map((f, j) => (j === i ? f : '*')).join(' ');
    try {
      parse(alone, 'UTC', REFERENCE);
    } catch (err) {
      const message = (err as Error).message;
      const alias = /cannot resolve alias "([^"]*)"/.exec(message);
      if (alias) return `${FIELD_NAMES[i]} "${alias[1]}" is not a name (use ${i === 3 ? 'jan-dec' : 'sun-sat'} or a number)`;
      return `${FIELD_NAMES[i]} "${text}": ${explain(message, text)}`;
    }
  }
  return undefined;
}

/**
 * Expressions known to be valid in UTC, answered without loading cron-parser: the default etcd
 * snapshot schedule (schema.ts), which every cluster file has, so `validate` of a file without
 * other cron fields does not pay for cron-parser, luxon and ICU (40-60 ms; issue 16 §7).
 * test/unit/config/cron-known-valid.test.ts checks each with cron-parser itself.
 */
export const KNOWN_VALID_UTC: ReadonlySet<string> = new Set(['0 */12 * * *']);

/**
 * Why `expr` is not a usable 5-field cron expression in `timezone`, or undefined when it is.
 * Refused: another number of fields, anything cron-parser refuses, hashed fields (`H`: the window
 * would open at a random minute), and expressions that never fire (`0 0 31 2 *`).
 */
export function cronProblem(expr: string, timezone = 'UTC'): string | undefined {
  return timezone === 'UTC' && KNOWN_VALID_UTC.has(expr) ? undefined : parserProblem(expr, timezone);
}

/** cronProblem without the known-valid shortcut: always asks cron-parser. */
export function parserProblem(expr: string, timezone: string): string | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return `"${expr}" has ${fields.length} field(s); cron needs 5 (minute hour day-of-month month day-of-week)`;
  const hashed = fields.findIndex((f) => /(^|,)h(?=$|[(/,])/i.test(f));
  if (hashed >= 0) return `${FIELD_NAMES[hashed]} "${fields[hashed]}": hashed values (H) open the window at a random time; write the number`;
  const field = fieldProblem(fields);
  if (field) return field;
  let hasNext: boolean;
  try {
    hasNext = parse(expr, timezone, REFERENCE, REFERENCE + NEVER_FIRES_HORIZON_MS).hasNext();
  } catch (err) {
    const message = (err as Error).message;
    if (/Invalid explicit day of month definition/.test(message)) return `"${expr}" never fires: no month it names has that day of the month`;
    return `"${expr}": ${explain(message, expr)}`;
  }
  return hasNext ? undefined : `"${expr}" never fires: no date matches all of its fields`;
}

const checked = new Map<string, string | undefined>();

/** cronProblem, remembered per (expression, zone): the power core asks on every window evaluation. */
function cachedProblem(expr: string, timezone: string): string | undefined {
  const key = `${timezone}\u0000${expr}`;
  if (!checked.has(key)) {
    if (checked.size >= 256) checked.clear();
    checked.set(key, isTimeZone(timezone) ? cronProblem(expr, timezone) : `"${timezone}" is not a time zone`);
  }
  return checked.get(key);
}

/**
 * Start instants of `expr` in [from, to), in `timezone`. Throws a CronError for an expression
 * `cronProblem` refuses (the power core reports it as a bad input and carries on without it).
 */
export function cronOccurrences(expr: string, timezone: string, from: number, to: number): number[] {
  const problem = cachedProblem(expr, timezone);
  if (problem) throw new CronError(expr, problem);
  const starts: number[] = [];
  const it = parse(expr, timezone, from - 1, to);
  while (it.hasNext()) {
    const t = it.next().getTime();
    if (t >= to) break;
    starts.push(t);
  }
  return starts;
}

export function isTimeZone(tz: string): boolean {
  // Every ECMA-402 implementation knows "UTC" (the default of spec.power.timezone); answering it
  // here spares `validate` the first Intl.DateTimeFormat, which loads ICU's data (15-30 ms).
  if (tz === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
