// Prometheus relabeling, as far as prometheus.yml uses it (replace, keep, drop), applied to the
// targets the check synthesizes. Semantics from prometheus/prometheus@v3.11.2:
// model/relabel/relabel.go: source label values joined by the separator (default ";"), the regex
// anchored at both ends (default "(.*)"), the replacement expanded with $1 groups (default "$1").
// A value the check cannot know (a pod's name, an endpoint's node) is UNKNOWN; a replace that
// reads one yields UNKNOWN too, which means "some value" from then on.

export const UNKNOWN = '\u0000unknown';

export type LabelSet = Map<string, string>;

export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

function anchored(regex: string): RegExp {
  return new RegExp(`^(?:${regex})$`);
}

/** Applies the configs in order; undefined when the target is dropped. */
export function relabel(input: LabelSet, configs: readonly RelabelConfig[]): LabelSet | undefined {
  const labels = new Map(input);
  for (const r of configs) {
    const values = (r.source_labels ?? []).map((l) => labels.get(l) ?? '');
    const unknown = values.includes(UNKNOWN);
    const joined = values.join(r.separator ?? ';');
    const re = anchored(r.regex ?? '(.*)');
    const action = r.action ?? 'replace';
    if (action === 'keep' || action === 'drop') {
      // Keep/drop in our configs read known labels; an unknown value could match or not: keep it.
      if (unknown) continue;
      const matched = re.test(joined);
      if ((action === 'keep') !== matched) return undefined;
      continue;
    }
    if (action !== 'replace') throw new Error(`relabel action ${action} is not modelled by the rule check`);
    if (!r.target_label) throw new Error('a replace relabeling needs target_label');
    if (unknown) {
      labels.set(r.target_label, UNKNOWN);
      continue;
    }
    const m = re.exec(joined);
    if (!m) continue;
    const value = (r.replacement ?? '$1').replace(/\$\{?(\d+)\}?/g, (_, i: string) => m[Number(i)] ?? '');
    if (value === '') labels.delete(r.target_label);
    else labels.set(r.target_label, value);
  }
  return labels;
}

/** Label names Prometheus keeps on a target after relabeling (no `__` prefix), plus instance. */
export function targetLabels(labels: LabelSet): LabelSet {
  const out = new Map<string, string>();
  for (const [k, v] of labels) if (!k.startsWith('__')) out.set(k, v);
  if (!out.has('instance')) out.set('instance', labels.get('__address__') ?? UNKNOWN);
  return out;
}

/** Prometheus regex semantics for a label matcher value (anchored). */
export function matches(op: string, pattern: string, value: string): boolean {
  switch (op) {
    case '=':
      return value === pattern;
    case '!=':
      return value !== pattern;
    case '=~':
      return anchored(pattern).test(value);
    case '!~':
      return !anchored(pattern).test(value);
    default:
      throw new Error(`unknown matcher ${op}`);
  }
}
