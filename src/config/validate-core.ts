// The four stages of reading the cluster file (pure: text in, model and problems out):
// read with positions -> check against the schema -> normalize -> named cross-field rules.
// This module holds every stage but the schema check, and loads no zod: the schema stage is
// passed in, by validate.ts (zod, which writes the schema's error messages) or validate-fast.ts
// (the compiled table, for a valid file; issue 16 §7).
import { normalize, type Cluster } from './model.js';
import { sortProblems, type Problem } from './problems.js';
import { APP_RULES } from './app-rules.js';
import { EXPOSURE_RULES } from './exposure-rules.js';
import { METHOD_RULES } from './method-rules.js';
import { RULES, type RuleContext, type SecretRefUse } from './rules.js';
import type { ParsedCluster } from './schema.js';
import { locate, parseSource, toData, type Path, type SourceFile } from './source.js';

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

/**
 * The schema stage: zod's parsed data, or the problems of a file the schema refuses. The fast
 * path's stage may also answer `undefined`: "not sure, ask zod" (src/config/validate-fast.ts).
 */
export type SchemaStage = (data: object, source: SourceFile) => { parsed: ParsedCluster } | { problems: Problem[] } | undefined;

/**
 * Runs the stages with the given schema stage; undefined when that stage answered undefined.
 * Every problem outside the schema stage (YAML, not a mapping, the named rules) comes from here.
 */
export function validateWith(input: ValidateInput, schemaStage: SchemaStage): ValidateResult | undefined {
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

  const checked = schemaStage(data, source);
  if (checked === undefined) return undefined;
  if ('problems' in checked) return { cluster: undefined, problems: sortProblems([...problems, ...checked.problems]), secretRefs: [] };

  const cluster = normalize(checked.parsed);
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
