// Typed constructors for the Alloy components the log pipeline uses. Argument and block names
// follow the Alloy component reference (grafana.com/docs/alloy/latest/reference/components/);
// each constructor returns the block and the exports other components may reference, so a
// reference to a component that does not exist cannot be written.
import { expr, type Block, type Expr, type Value } from './syntax.js';

/** A relabel `rule` block (discovery.relabel, loki.relabel). */
export interface RelabelRule {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: 'replace' | 'keep' | 'drop' | 'labelmap' | 'labeldrop' | 'labelkeep' | 'hashmod' | 'keepequal' | 'dropequal' | 'lowercase' | 'uppercase';
}

function attrs(record: object): Array<[string, Value]> {
  return Object.entries(record).filter(([, v]) => v !== undefined) as Array<[string, Value]>;
}

const rules = (list: readonly RelabelRule[]): Block[] => list.map((r) => ({ name: 'rule', attributes: attrs(r), blocks: [] }));

export interface Component<E> {
  block: Block;
  exports: E;
}

const ref = (name: string, label: string, field: string): Expr => expr(`${name}.${label}.${field}`);

export function discoveryKubernetes(label: string, args: { role: 'pod' | 'node' | 'service' | 'endpoints'; selectors?: Array<{ role: string; field?: string | Expr; label?: string | Expr }> }): Component<{ targets: Expr }> {
  return {
    block: {
      name: 'discovery.kubernetes',
      label,
      attributes: [['role', args.role]],
      blocks: (args.selectors ?? []).map((s) => ({ name: 'selectors', attributes: attrs(s), blocks: [] })),
    },
    exports: { targets: ref('discovery.kubernetes', label, 'targets') },
  };
}

export function discoveryRelabel(label: string, args: { targets: Expr; rules: RelabelRule[] }): Component<{ output: Expr; rules: Expr }> {
  return {
    block: { name: 'discovery.relabel', label, attributes: [['targets', args.targets]], blocks: rules(args.rules) },
    exports: { output: ref('discovery.relabel', label, 'output'), rules: ref('discovery.relabel', label, 'rules') },
  };
}

export function localFileMatch(label: string, args: { path_targets: Expr | Array<Record<string, string | Expr>>; sync_period?: string }): Component<{ targets: Expr }> {
  return {
    block: { name: 'local.file_match', label, attributes: attrs(args), blocks: [] },
    exports: { targets: ref('local.file_match', label, 'targets') },
  };
}

export function lokiSourceFile(label: string, args: { targets: Expr; forward_to: Expr[]; tail_from_end?: boolean }): Component<Record<string, never>> {
  return { block: { name: 'loki.source.file', label, attributes: attrs(args), blocks: [] }, exports: {} };
}

export function lokiSourceJournal(
  label: string,
  args: { forward_to: Expr[]; relabel_rules?: Expr; path?: string; max_age?: string; labels?: Record<string, Value>; format_as_json?: boolean },
): Component<Record<string, never>> {
  return { block: { name: 'loki.source.journal', label, attributes: attrs(args), blocks: [] }, exports: {} };
}

export interface SyslogListener {
  address: string;
  protocol?: 'tcp' | 'udp';
  syslog_format?: 'rfc5424' | 'rfc3164';
  idle_timeout?: string;
  label_structured_data?: boolean;
  labels?: Record<string, string>;
  max_message_length?: number;
  use_incoming_timestamp?: boolean;
  use_rfc5424_message?: boolean;
}

export function lokiSourceSyslog(label: string, args: { forward_to: Expr[]; relabel_rules?: Expr; listeners: SyslogListener[] }): Component<Record<string, never>> {
  const { listeners, ...rest } = args;
  return {
    block: { name: 'loki.source.syslog', label, attributes: attrs(rest), blocks: listeners.map((l) => ({ name: 'listener', attributes: attrs(l), blocks: [] })) },
    exports: {},
  };
}

export function lokiRelabel(label: string, args: { forward_to: Expr[]; rules: RelabelRule[] }): Component<{ receiver: Expr; rules: Expr }> {
  return {
    block: { name: 'loki.relabel', label, attributes: [['forward_to', args.forward_to]], blocks: rules(args.rules) },
    exports: { receiver: ref('loki.relabel', label, 'receiver'), rules: ref('loki.relabel', label, 'rules') },
  };
}

/** loki.process stages (each a `stage.<name>` block). */
export type Stage =
  | { cri: { max_partial_lines?: number; max_partial_line_size?: number; max_partial_line_size_truncate?: boolean } }
  | { static_labels: { values: Record<string, string | Expr> } }
  | { label_drop: { values: string[] } }
  | { drop: { older_than?: string; longer_than?: string; drop_counter_reason?: string } };

function stageBlock(stage: Stage): Block {
  const [kind, args] = Object.entries(stage)[0] as [string, object];
  return { name: `stage.${kind}`, attributes: attrs(args), blocks: [] };
}

export function lokiProcess(label: string, args: { forward_to: Expr[]; stages: Stage[] }): Component<{ receiver: Expr }> {
  return {
    block: { name: 'loki.process', label, attributes: [['forward_to', args.forward_to]], blocks: args.stages.map(stageBlock) },
    exports: { receiver: ref('loki.process', label, 'receiver') },
  };
}

export function lokiWrite(label: string, args: { endpoints: Array<{ url: string; batch_wait?: string; batch_size?: string }>; external_labels?: Record<string, string> }): Component<{ receiver: Expr }> {
  return {
    block: {
      name: 'loki.write',
      label,
      attributes: attrs({ external_labels: args.external_labels }),
      blocks: args.endpoints.map((e) => ({ name: 'endpoint', attributes: attrs(e), blocks: [] })),
    },
    exports: { receiver: ref('loki.write', label, 'receiver') },
  };
}

/** The top-level `logging` block (no label). */
export function logging(args: { level: 'debug' | 'info' | 'warn' | 'error'; format: 'logfmt' | 'json' }): Block {
  return { name: 'logging', attributes: attrs(args), blocks: [] };
}

/** `sys.env("NAME")`: read an environment variable (Alloy standard library). */
export const sysEnv = (name: string): Expr => expr(`sys.env(${JSON.stringify(name)})`);
