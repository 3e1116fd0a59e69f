// Helpers for checking dashboard queries: Grafana variables replaced by sample values, and the
// error nodes a lezer grammar reports.
import type { Parser } from '@lezer/common';

/** Grafana's variables, replaced by values of the right shape before parsing. */
export function substituteVariables(query: string): string {
  return query
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__range', '6h')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__auto', '1m')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, 'x');
}

/** Error nodes in the syntax tree of `text` (lezer marks what it could not parse with ⚠). */
export function syntaxErrors(parser: Parser, text: string): string[] {
  const errors: string[] = [];
  parser.parse(text).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`error at ${node.from}: ${JSON.stringify(text.slice(Math.max(0, node.from - 10), node.to + 10))}`);
    },
  });
  return errors;
}
