// "Alerts that can fire": every vector selector of every alert rule must match a series the
// rendered scrape configuration can produce (its job names, the labels its relabeling keeps, and
// the metric families the program behind each target exposes at the pinned version), and every
// label a rule groups or matches on (`by`, `on`) must exist on some series it reads. A rule that
// fails this looks right and never fires.
import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { exporterCatalogs, SCRAPE_SERIES, seriesNames, type ExporterCatalog, type MetricFamily } from './catalog.js';
import { matches, UNKNOWN } from './relabel.js';
import type { TargetGroup } from './targets.js';

export interface Matcher {
  label: string;
  op: string;
  value: string;
}

export interface Selector {
  text: string;
  matchers: Matcher[];
}

export interface SeriesProblem {
  rule: string;
  selector: string;
  message: string;
}

/** What the rendered workloads switch on or off (node-exporter collectors, kube-state-metrics resources). */
export interface ExporterSwitches {
  nodeExporterCollectors: ReadonlySet<string>;
  /** undefined: kube-state-metrics runs with its default resources. */
  ksmResources: ReadonlySet<string> | undefined;
}

function unquote(s: string): string {
  if (s.startsWith('`')) return s.slice(1, -1);
  return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1).replace(/"/g, '\\"')}"` : s) as string;
}

function selectorOf(node: SyntaxNode, text: string): Selector {
  const matchers: Matcher[] = [];
  const ident = node.getChild('Identifier');
  if (ident) matchers.push({ label: '__name__', op: '=', value: text.slice(ident.from, ident.to) });
  const list = node.getChild('LabelMatchers');
  for (let m = list?.firstChild; m; m = m.nextSibling) {
    if (!m.name.endsWith('LabelMatcher')) continue;
    const name = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
    const op = m.getChild('MatchOp');
    const value = m.getChild('StringLiteral');
    if (!op || !value) continue;
    if (!name) {
      // A bare quoted metric name inside braces ({"metric"}) is a name matcher.
      matchers.push({ label: '__name__', op: '=', value: unquote(text.slice(value.from, value.to)) });
      continue;
    }
    const label = text.slice(name.from, name.to).replace(/^"|"$/g, '');
    matchers.push({ label, op: text.slice(op.from, op.to), value: unquote(text.slice(value.from, value.to)) });
  }
  return { text: text.slice(node.from, node.to), matchers };
}

/** Vector selectors of an expression, and the labels each `by`/`on` group names with the selectors below it. */
export function analyse(expr: string): { selectors: Selector[]; groupings: Array<{ labels: string[]; selectors: Selector[] }>; errors: string[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  tree.iterate({ enter: (n) => void (n.type.isError ? errors.push(`syntax error at ${n.from}`) : undefined) });
  const selectorsUnder = (node: SyntaxNode): Selector[] => {
    const out: Selector[] = [];
    const cursor = node.cursor();
    do {
      if (cursor.name === 'VectorSelector') out.push(selectorOf(cursor.node, expr));
    } while (cursor.next() && cursor.from < node.to);
    return out.filter((s, i, all) => all.findIndex((x) => x.text === s.text) === i);
  };
  const selectors = selectorsUnder(tree.topNode);
  const groupings: Array<{ labels: string[]; selectors: Selector[] }> = [];
  tree.iterate({
    enter: (n) => {
      if (n.name !== 'AggregateModifier' && n.name !== 'MatchingModifierClause') return;
      // `without` and `ignoring` remove labels: nothing to prove.
      if (n.node.getChild('Without') || n.node.getChild('Ignoring')) return;
      const labels = n.node.getChild('GroupingLabels')?.getChildren('LabelName').map((l) => expr.slice(l.from, l.to)) ?? [];
      const scope = n.node.parent;
      if (labels.length > 0 && scope) groupings.push({ labels, selectors: selectorsUnder(scope) });
    },
  });
  return { selectors, groupings, errors };
}

interface Candidate {
  group: TargetGroup;
  family: MetricFamily | undefined;
  extraLabels: string[];
}

function familyOn(f: MetricFamily, group: TargetGroup, switches: ExporterSwitches): boolean {
  if (f.collector && !switches.nodeExporterCollectors.has(f.collector)) return false;
  if (f.resource && switches.ksmResources && !switches.ksmResources.has(f.resource)) return false;
  if (group.exporter === 'kube-state-metrics' && (f.telemetry === true) !== group.telemetry) return false;
  if (f.tls && !group.tls) return false;
  return true;
}

/** Every (target, family) pair whose series name the selector's name matchers accept. */
function candidates(sel: Selector, groups: readonly TargetGroup[], catalogs: ReadonlyMap<string, ExporterCatalog>, switches: ExporterSwitches): Candidate[] {
  const nameMatchers = sel.matchers.filter((m) => m.label === '__name__');
  const nameOk = (name: string) => nameMatchers.every((m) => matches(m.op, m.value, name));
  const out: Candidate[] = [];
  for (const group of groups) {
    for (const name of SCRAPE_SERIES) if (nameOk(name)) out.push({ group, family: undefined, extraLabels: [] });
    for (const f of catalogs.get(group.exporter)?.families ?? []) {
      if (!familyOn(f, group, switches)) continue;
      for (const s of seriesNames(f)) if (nameOk(s.name)) out.push({ group, family: f, extraLabels: s.extraLabels });
    }
  }
  return out;
}

/** The value a label has on a candidate's series: a known string, UNKNOWN (some value), or undefined (absent). */
function labelValues(c: Candidate, label: string): string[] | undefined {
  const fromFamily = c.family && (c.family.labels.includes(label) || c.extraLabels.includes(label)) ? (c.family.values?.[label] ?? [UNKNOWN]) : undefined;
  const fromTarget = c.group.labels.get(label);
  if (c.group.honorLabels && fromFamily) return [...fromFamily];
  if (fromTarget !== undefined) return [fromTarget];
  return fromFamily ? [...fromFamily] : undefined;
}

function satisfies(c: Candidate, m: Matcher): boolean {
  const values = labelValues(c, m.label) ?? [''];
  return values.some((v) => (v === UNKNOWN ? true : matches(m.op, m.value, v)));
}

export function checkRuleSeries(
  rules: ReadonlyArray<{ alert: string; expr: string }>,
  groups: readonly TargetGroup[],
  switches: ExporterSwitches,
  catalogs: readonly ExporterCatalog[] = exporterCatalogs(),
): SeriesProblem[] {
  const byId = new Map(catalogs.map((c) => [c.id, c]));
  const problems: SeriesProblem[] = [];
  for (const rule of rules) {
    const { selectors, groupings, errors } = analyse(rule.expr);
    for (const e of errors) problems.push({ rule: rule.alert, selector: rule.expr, message: e });
    const live = new Map<string, Candidate[]>();
    for (const sel of selectors) {
      const named = candidates(sel, groups, byId, switches);
      const alive = named.filter((c) => sel.matchers.every((m) => m.label === '__name__' || satisfies(c, m)));
      live.set(sel.text, alive);
      if (named.length === 0) problems.push({ rule: rule.alert, selector: sel.text, message: 'no scraped program exposes a series of this name (job, exporter flags, catalog)' });
      else if (alive.length === 0) {
        const jobs = [...new Set(named.map((c) => c.group.job))].join(', ');
        problems.push({ rule: rule.alert, selector: sel.text, message: `series of this name come only from job(s) ${jobs}, and none has the labels the selector asks for` });
      }
    }
    for (const g of groupings) {
      const cands = g.selectors.flatMap((s) => live.get(s.text) ?? []);
      if (cands.length === 0) continue;
      for (const label of g.labels) {
        if (!cands.some((c) => labelValues(c, label) !== undefined)) problems.push({ rule: rule.alert, selector: g.selectors.map((s) => s.text).join(' / '), message: `groups or matches on "${label}", which none of these series carries` });
      }
    }
  }
  return problems;
}
