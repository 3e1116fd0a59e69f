// Checks rendered manifests against the Kubernetes OpenAPI schema, as a stand-in for
// `kubectl apply --dry-run=server --validate=strict` (no kube-apiserver runs in unit tests):
// - types, required fields and enums through kubernetes-models' compiled JSON Schema validators;
// - unknown fields (which kubernetes-models lets through) through @kubernetes/client-node's
//   generated attribute maps, which list every field of every type of the same OpenAPI spec.
import * as clientNode from '@kubernetes/client-node';
import * as models from 'kubernetes-models';
import { parseAllDocuments } from 'yaml';

export interface KubeSchemaProblem {
  /** `Kind/name` of the object (or `document N`). */
  object: string;
  message: string;
}

interface AttributeType {
  name: string;
  baseName: string;
  type: string;
}
interface GeneratedModel {
  getAttributeTypeMap(): AttributeType[];
}
interface ValidatingModel {
  validate(): void;
}
type ModelClass = new (data: unknown) => ValidatingModel;

const groupModules = models as unknown as Record<string, Record<string, Record<string, ModelClass | undefined> | undefined> | undefined>;
const generated = clientNode as unknown as Record<string, GeneratedModel | undefined>;

/** `rbac.authorization.k8s.io` -> `rbacAuthorizationK8sIo` (kubernetes-models' module names). */
function groupModuleName(group: string): string {
  return group
    .split('.')
    .map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1)))
    .join('');
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
  const { group, version } = splitApiVersion(apiVersion);
  // The core group's module holds its kinds directly (`kubernetes-models/v1`).
  const byKind = (group === '' ? groupModules.v1 : groupModules[groupModuleName(group)]?.[version]) as Record<string, ModelClass | undefined> | undefined;
  return byKind?.[kind];
}

/** client-node's class name for a top-level kind: `apps/v1` Deployment -> V1Deployment. */
function generatedName(apiVersion: string, kind: string): string {
  const { version } = splitApiVersion(apiVersion);
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const model = generated[type];
  if (!model || typeof model.getAttributeTypeMap !== 'function' || typeof value !== 'object' || Array.isArray(value)) return;
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const childType = attributes.get(key);
    if (childType === undefined) out.push(`${path ? `${path}.` : ''}${key}: unknown field in ${type}`);
    else unknownFields(child, childType, path ? `${path}.${key}` : key, out);
  }
}

/** Validates one object; returns its problems (empty when valid). */
export function validateKubeObject(obj: unknown, label = 'object'): KubeSchemaProblem[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [{ object: label, message: 'not a mapping' }];
  const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
  if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return [{ object: label, message: 'apiVersion and kind are required' }];
  const name = `${o.kind}/${typeof o.metadata?.name === 'string' ? o.metadata.name : '?'}`;
  const Model = modelClass(o.apiVersion, o.kind);
  if (!Model) return [{ object: name, message: `unknown kind ${o.apiVersion} ${o.kind}` }];
  const problems: KubeSchemaProblem[] = [];
  try {
    new Model(obj).validate();
  } catch (err) {
    problems.push({ object: name, message: err instanceof Error ? err.message : String(err) });
  }
  const unknown: string[] = [];
  unknownFields(obj, generatedName(o.apiVersion, o.kind), '', unknown);
  for (const u of unknown) problems.push({ object: name, message: u });
  return problems;
}

/** Validates every document of a multi-document YAML text. */
export function validateKubeObjects(yamlText: string): KubeSchemaProblem[] {
  const problems: KubeSchemaProblem[] = [];
  parseAllDocuments(yamlText).forEach((doc, i) => {
    if ('errors' in doc && doc.errors.length > 0) {
      problems.push({ object: `document ${i + 1}`, message: doc.errors.map((e) => e.message).join('; ') });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    problems.push(...validateKubeObject(value, `document ${i + 1}`));
  });
  return problems;
}
