// A 5-field cron expression as systemd OnCalendar= lines (pure). The expression is parsed by
// cron-parser, the one cron library the project uses (the power manager's windows); its expanded
// fields become systemd's lists. Cron runs a job when the day of month OR the day of week matches
// if both are restricted (crontab(5)); one OnCalendar line requires both, so that case becomes
// two lines, which a timer ORs (systemd.timer(5): "may be specified more than once").
import { CronExpressionParser } from 'cron-parser';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function list(values: readonly number[], size: number): string {
  const unique = [...new Set(values)].sort((a, b) => a - b);
  return unique.length >= size ? '*' : unique.map((v) => String(v).padStart(2, '0')).join(',');
}

/** cron-parser also allows L (last); the validator (src/config/cron.ts) accepts only numbers and names. */
const numbers = (values: ReadonlyArray<number | string>): number[] => values.filter((v): v is number => typeof v === 'number');

export function cronToOnCalendar(expr: string): string[] {
  const f = CronExpressionParser.parse(expr).fields;
  const time = `${list(f.hour.values, 24)}:${list(f.minute.values, 60)}:00`;
  const month = list(f.month.values, 12);
  const dows = [...new Set(numbers(f.dayOfWeek.values).map((d) => d % 7))].sort((a, b) => a - b);
  const dow = dows.length >= 7 ? '' : `${dows.map((d) => DAYS[d]).join(',')} `;
  const dom = list(numbers(f.dayOfMonth.values), 31);
  if (!f.dayOfMonth.isWildcard && !f.dayOfWeek.isWildcard) return [`${dow}*-${month}-* ${time}`, `*-${month}-${dom} ${time}`];
  return [`${dow}*-${month}-${dom} ${time}`];
}

/**
 * The longest time between two runs of `expr`, over a year from a fixed date (seconds; pure).
 * Walks the days of the year with cron-parser's expanded fields (iterating cron-parser itself
 * costs about 2 ms a run, too slow for a render).
 */
export function longestGapSeconds(expr: string): number {
  const f = CronExpressionParser.parse(expr).fields;
  const minutes = [...new Set(f.minute.values)].sort((a, b) => a - b);
  const hours = [...new Set(f.hour.values)].sort((a, b) => a - b);
  const months = new Set<number>(f.month.values);
  const doms = new Set(numbers(f.dayOfMonth.values));
  const dows = new Set(numbers(f.dayOfWeek.values).map((d) => d % 7));
  const both = !f.dayOfMonth.isWildcard && !f.dayOfWeek.isWildcard;
  const start = Date.UTC(2026, 0, 1);
  let last: number | undefined;
  let gap = 0;
  for (let day = 0; day < 366 + 31; day++) {
    const d = new Date(start + day * 86_400_000);
    if (!months.has(d.getUTCMonth() + 1)) continue;
    const domOk = doms.has(d.getUTCDate());
    const dowOk = dows.has(d.getUTCDay());
    if (!(both ? domOk || dowOk : domOk && dowOk)) continue;
    for (const h of hours)
      for (const m of minutes) {
        const t = d.getTime() + h * 3_600_000 + m * 60_000;
        if (last !== undefined) gap = Math.max(gap, t - last);
        last = t;
      }
  }
  return Math.round(gap / 1000);
}
