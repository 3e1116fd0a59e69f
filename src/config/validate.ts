// The four stages of reading the cluster file (pure: text in, model and problems out):
// read with positions -> check against the schema -> normalize -> named cross-field rules.
import type { z } from 'zod';
import { normalize, type Cluster } from './model.js';
import { sortProblems, type Problem } from './problems.js';
import { APP_RULES } from './app-rules.js';
import { EXPOSURE_RULES } from './exposure-rules.js';
import { METHOD_RULES } from './method-rules.js';
import { RULES, type RuleContext, type SecretRefUse } from './rules.js';
import { ClusterSchema } from './schema.js';
import { didYouMean, keysAt, metaOf, recordKeySchema, schemaAt } from './schema-walk.js';
import { formatPath, locate, parseSource, toData, type Path, type SourceFile } from './source.js';

export interface ValidateInput {
  file: string;
  text: string;
  /** Names in the secrets file, when the caller could open it. */
  secretNames?: ReadonlySet<string> | undefined;
}

export interface ValidateResult {
  /** The model, when there is no error. */
  cluster: Cluster | undefined;
  problems: Problem[];
  /** Secret references the file uses (for the caller's secrets check). */
  secretRefs: SecretRefUse[];
}

export function validateText(input: ValidateInput): ValidateResult {
  const { source, problems } = parseSource(input.file, input.text);
  if (problems.some((p) => p.severity === 'error')) return { cluster: undefined, problems: sortProblems(problems), secretRefs: [] };

  const converted = toData(source);
  if ('problem' in converted) return { cluster: undefined, problems: sortProblems([...problems, converted.problem]), secretRefs: [] };
  const { data } = converted;
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    const pos = locate(source, []);
    return {
      cluster: undefined,
      problems: [{ file: input.file, line: pos.line, column: pos.column, severity: 'error', code: 'not-a-cluster', message: 'the file is not a YAML mapping', hint: 'start from `vmstation init` or examples/vmstation.yaml: the file needs apiVersion, kind, metadata and spec' }],
      secretRefs: [],
    };
  }

  const parsed = ClusterSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    return { cluster: undefined, problems: sortProblems([...problems, ...parsed.error.issues.flatMap((i) => issueToProblems(source, i))]), secretRefs: [] };
  }

  const cluster = normalize(parsed.data);
  const secretRefs = collectSecretRefs(cluster);
  const ctx: RuleContext = {
    cluster,
    secretRefs,
    secretNames: input.secretNames,
    written: (path) => pathWritten(source, path),
  };
  for (const rule of [...RULES, ...METHOD_RULES, ...APP_RULES, ...EXPOSURE_RULES]) {
    for (const p of rule.check(ctx)) {
      const pos = locate(source, p.path);
      problems.push({ file: input.file, line: pos.line, column: pos.column, severity: p.severity, code: p.code, message: p.message, hint: p.hint });
    }
  }
  const sorted = sortProblems(problems);
  return { cluster: sorted.some((p) => p.severity === 'error') ? undefined : cluster, problems: sorted, secretRefs };
}

function pathWritten(source: SourceFile, path: Path): boolean {
  return source.doc.hasIn(path as unknown[]);
}

type Issue = z.core.$ZodIssue;

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const typeNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
  int: 'a whole number',
};

/** What every issue handler needs: where it is, what the schema says there, how to build a problem. */
interface IssueScope {
  path: Path;
  /** `spec.x.y`, or "the file" at the root. */
  where: string;
  meta: ReturnType<typeof metaOf>;
  input: unknown;
  make(p: Path, code: string, message: string, hint: string, atKey?: boolean): Problem;
}

type IssueHandler<C extends Issue['code']> = (issue: Extract<Issue, { code: C }>, s: IssueScope) => Problem[];

function unrecognizedKeys(issue: Extract<Issue, { code: 'unrecognized_keys' }>, { path, where, make }: IssueScope): Problem[] {
  const valid = keysAt(ClusterSchema, path);
  return issue.keys.map((key) => {
    const guess = didYouMean(key, valid);
    return make(
      [...path, key],
      'unknown-key',
      `unknown key "${key}" in ${where}${guess ? `; did you mean "${guess}"?` : ''}`,
      guess ? `rename it to "${guess}"` : `valid keys here: ${valid.join(', ')}`,
      true,
    );
  });
}

function invalidType(issue: Extract<Issue, { code: 'invalid_type' }>, { path, where, meta, input, make }: IssueScope): Problem[] {
  if (input === undefined) {
    return [make(path, 'missing-field', `${where} is required`, `add \`${String(path[path.length - 1])}:\` (see examples/vmstation.yaml)`)];
  }
  if (meta?.secretRef && typeof input !== 'object') {
    return [make(path, 'plaintext-secret', `${where} must be a secret reference, not a plain value`, `store the value with \`vmstation secrets set NAME\` and write \`${String(path[path.length - 1])}: { secret: NAME }\``)];
  }
  const expected = typeNames[issue.expected] ?? issue.expected;
  return [make(path, 'wrong-type', `${where} must be ${expected}, not ${describeValue(input)}`, meta?.problem?.hint ?? `write ${expected} here`)];
}

function invalidValue(issue: Extract<Issue, { code: 'invalid_value' }>, { path, where, input, make }: IssueScope): Problem[] {
  const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
  const guess = typeof input === 'string' ? didYouMean(input, issue.values.map(String)) : undefined;
  return [make(path, 'invalid-value', `${where} is ${describeValue(input)}${guess ? `; did you mean ${JSON.stringify(guess)}?` : ''}`, `use one of: ${allowed}`)];
}

function invalidFormat(issue: Extract<Issue, { code: 'invalid_format' }>, { path, where, meta, input, make }: IssueScope): Problem[] {
  if (meta?.problem) return [make(path, meta.problem.code, `${where}: ${describeValue(input)} is not valid`, meta.problem.hint)];
  return [make(path, 'invalid-format', `${where}: ${describeValue(input)} is not a valid ${issue.format}`, `write a valid ${issue.format}`)];
}

function outOfRange(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>, { path, where, meta, input, make }: IssueScope): Problem[] {
  if (meta?.problem) return [make(path, meta.problem.code, `${where}: ${describeValue(input)} is out of range`, meta.problem.hint)];
  const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
  if (issue.origin === 'array') return [make(path, 'out-of-range', `${where} needs ${bound} item(s)`, `list ${bound} item(s) here`)];
  return [make(path, 'out-of-range', `${where} is ${describeValue(input)}; it must be ${bound}`, `use a value ${bound}`)];
}

/** A record key (a node label's name) that its key schema refused: reported at the key. */
function invalidKey(_issue: Extract<Issue, { code: 'invalid_key' }>, { path, where, make }: IssueScope): Problem[] {
  const keyMeta = metaOf(recordKeySchema(ClusterSchema, path.slice(0, -1)));
  const key = String(path[path.length - 1]);
  if (keyMeta?.problem) return [make(path, keyMeta.problem.code, `${where}: the key ${JSON.stringify(key)} is not valid`, keyMeta.problem.hint, true)];
  return [make(path, 'invalid-value', `${where}: the key ${JSON.stringify(key)} is not valid`, 'see the JSON Schema: vmstation schema', true)];
}

function otherIssue(issue: Issue, { path, where, meta, make }: IssueScope): Problem[] {
  return [make(path, meta?.problem?.code ?? 'invalid-value', `${where}: ${issue.message}`, meta?.problem?.hint ?? 'see the JSON Schema: vmstation schema')];
}

const ISSUE_HANDLERS: { [C in Issue['code']]?: IssueHandler<C> } = {
  unrecognized_keys: unrecognizedKeys,
  invalid_type: invalidType,
  invalid_value: invalidValue,
  invalid_format: invalidFormat,
  too_small: outOfRange,
  too_big: outOfRange,
  invalid_key: invalidKey,
};

function issueToProblems(source: SourceFile, issue: Issue): Problem[] {
  const path = issue.path as Path;
  const scope: IssueScope = {
    path,
    where: path.length > 0 ? formatPath(path) : 'the file',
    meta: metaOf(schemaAt(ClusterSchema, path)),
    input: (issue as { input?: unknown }).input,
    make: (p, code, message, hint, atKey = false) => {
      const pos = locate(source, p, { atKey });
      return { file: source.file, line: pos.line, column: pos.column, severity: 'error', code, message, hint };
    },
  };
  const handler = ISSUE_HANDLERS[issue.code] as IssueHandler<Issue['code']> | undefined;
  return handler ? handler(issue as never, scope) : otherIssue(issue, scope);
}

/** Secret references of the enabled parts of the cluster, with their paths. */
export function collectSecretRefs(cluster: Cluster): SecretRefUse[] {
  const { spec } = cluster;
  const refs: SecretRefUse[] = [];
  const add = (path: Path, ref: { secret: string } | undefined) => {
    if (ref) refs.push({ name: ref.secret, path });
  };
  spec.nodes.forEach((n, i) => {
    add(['spec', 'nodes', i, 'power', 'bmc', 'username'], n.power.bmc?.username);
    add(['spec', 'nodes', i, 'power', 'bmc', 'password'], n.power.bmc?.password);
    add(['spec', 'nodes', i, 'power', 'secureOn'], n.power.secureOn);
  });
  if (spec.monitoring.enabled) {
    add(['spec', 'monitoring', 'grafana', 'adminPassword'], spec.monitoring.grafana.adminPassword);
    spec.monitoring.alertmanager.receivers.forEach((r, i) => {
      add(['spec', 'monitoring', 'alertmanager', 'receivers', i, 'password'], r.password);
      add(['spec', 'monitoring', 'alertmanager', 'receivers', i, 'token'], r.token);
    });
  }
  if (spec.infrastructure.kerberos.enabled) {
    add(['spec', 'infrastructure', 'kerberos', 'masterPassword'], spec.infrastructure.kerberos.masterPassword);
    add(['spec', 'infrastructure', 'kerberos', 'adminPassword'], spec.infrastructure.kerberos.adminPassword);
  }
  if (spec.power.enabled) add(['spec', 'power', 'apiToken'], spec.power.apiToken);
  return refs;
}
