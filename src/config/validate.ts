// The schema stage with zod: the one place a value the schema refuses becomes a problem with a
// code, a position and a hint. `validateText` tries the compiled fast path first
// (validate-fast.ts) and comes here only when it declines, so a valid file does not load zod.
import type { z } from 'zod';
import type { Problem } from './problems.js';
import { ClusterSchema } from './schema.js';
import { didYouMean, keysAt, metaOf, recordKeySchema, schemaAt } from './schema-walk.js';
import { formatPath, locate, type Path, type SourceFile } from './source.js';
import { validateWith, type ValidateInput, type ValidateResult } from './validate-core.js';
import { validateTextFast } from './validate-fast.js';

export { collectSecretRefs, type ValidateInput, type ValidateResult } from './validate-core.js';

/** Validates the cluster file's text: the fast path when it accepts the file, zod otherwise. */
export function validateText(input: ValidateInput): ValidateResult {
  return validateTextFast(input) ?? validateTextWithZod(input);
}

/** Validates with zod's schema stage only (what the fast path defers to). */
export function validateTextWithZod(input: ValidateInput): ValidateResult {
  const result = validateWith(input, (data, source) => {
    const parsed = ClusterSchema.safeParse(data, { reportInput: true });
    return parsed.success ? { parsed: parsed.data } : { problems: parsed.error.issues.flatMap((i) => issueToProblems(source, i)) };
  });
  if (!result) throw new Error('the zod schema stage always answers');
  return result;
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

