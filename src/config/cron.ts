// A light check of 5-field cron expressions and IANA time zones for the validator (the power
// manager parses them fully with cron-parser; this only has to catch typos with a clear place).

const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[] },
  { name: 'hour', min: 0, max: 23, names: [] as string[] },
  { name: 'day of month', min: 1, max: 31, names: [] as string[] },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/** Why a cron expression is not valid, or undefined when it is. */
export function cronProblem(expr: string): string | undefined {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) return `"${expr}" has ${parts.length} field(s); cron needs 5 (minute hour day-of-month month day-of-week)`;
  for (let i = 0; i < 5; i++) {
    const field = FIELDS[i]!;
    for (const item of parts[i]!.split(',')) {
      const [range, step] = item.split('/');
      if (step !== undefined && !/^\d+$/.test(step)) return `${field.name} "${item}": the step must be a number`;
      if (range === '*') continue;
      const ends = (range ?? '').split('-');
      if (ends.length > 2) return `${field.name} "${item}" is not a value or a range`;
      for (const end of ends) {
        const value = /^\d+$/.test(end) ? Number(end) : field.names.indexOf(end.toLowerCase()) + (field.name === 'month' ? 1 : 0);
        const named = !/^\d+$/.test(end);
        if ((named && field.names.indexOf(end.toLowerCase()) < 0) || value < field.min || value > field.max)
          return `${field.name} "${end}" is outside ${field.min}-${field.max}${field.names.length ? ` (or ${field.names.slice(0, 3).join(', ')}, ...)` : ''}`;
      }
    }
  }
  return undefined;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
