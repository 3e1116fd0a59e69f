// Durations in the cluster file: 30s, 15m, 2h, 1h30m, 30d, 1w (Prometheus-style, no spaces).

/**
 * The one pattern of a duration. It lives here rather than in schema.ts so the rules can use it
 * without loading zod (validate's fast path, src/config/fast-parse.ts).
 */
export const durationPattern = /^(?=\d)(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/;

const unitSeconds: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };

/** Seconds in a duration string; throws on a string the schema would reject. */
export function durationSeconds(text: string): number {
  if (!durationPattern.test(text)) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([wdhms])/g)) total += Number(amount) * (unitSeconds[unit as string] ?? 0);
  return total;
}

export function isDuration(text: string): boolean {
  return durationPattern.test(text);
}
