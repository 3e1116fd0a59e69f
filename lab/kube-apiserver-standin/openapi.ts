// Minimal OpenAPI v3 documents. kubectl (1.27+) reads /openapi/v3 before apply/create/patch to
// learn whether the server validates fields itself (the fieldValidation query parameter on the
// PATCH operation of the kind); without it kubectl falls back to downloading /openapi/v2 for
// client-side validation. The stand-in publishes paths and operations with their parameters
// and group-version-kind, with schemas that accept any object (it does no schema validation).
import { createHash } from 'node:crypto';
import type { JsonObject } from './json.js';
import type { ResourceRegistry, ResourceType } from './resources.js';

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function params(names: string[]): JsonObject[] {
  return names.map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } }));
}

function operation(type: ResourceType, action: string, extra: string[]): JsonObject {
  return {
    operationId: `${action}${type.kind}`,
    parameters: params(extra),
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(type)}` } } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
  };
}

function schemaName(type: ResourceType): string {
  const g = type.group === '' ? 'core' : type.group;
  return `io.k8s.standin.${g}.${type.version}.${type.kind}`;
}

export function openApiV3Document(registry: ResourceRegistry, group: string, version: string, gitVersion: string): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const paths: JsonObject = {};
  const schemas: JsonObject = {};
  const base = `/${gvPath(group, version)}`;
  for (const t of types) {
    const collection = t.namespaced ? `${base}/namespaces/{namespace}/${t.plural}` : `${base}/${t.plural}`;
    const item = `${collection}/{name}`;
    paths[collection] = {
      get: operation(t, 'list', ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch', 'resourceVersion']),
      post: operation(t, 'post', ['dryRun', 'fieldManager', 'fieldValidation', 'pretty']),
    };
    paths[item] = {
      get: operation(t, 'get', ['pretty']),
      put: operation(t, 'put', ['dryRun', 'fieldManager', 'fieldValidation', 'pretty']),
      patch: operation(t, 'patch', QUERY_PARAMS),
      delete: operation(t, 'delete', ['dryRun', 'gracePeriodSeconds', 'propagationPolicy']),
    };
    if (t.subresources.includes('status')) {
      paths[`${item}/status`] = { get: operation(t, 'get', []), put: operation(t, 'put', ['dryRun', 'fieldManager', 'fieldValidation']), patch: operation(t, 'patch', QUERY_PARAMS) };
    }
    schemas[schemaName(t)] = {
      type: 'object',
      description: `${t.kind} (schema not published by the stand-in; any fields accepted)`,
      'x-kubernetes-preserve-unknown-fields': true,
      'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (VMStation lab stand-in)', version: gitVersion }, paths, components: { schemas } };
}

export function documentHash(doc: JsonObject): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase().slice(0, 128);
}

export function openApiV3Root(registry: ResourceRegistry, gitVersion: string): JsonObject {
  const paths: JsonObject = {};
  const gvs: Array<[string, string]> = [['', 'v1'], ...registry.groups().flatMap((g) => g.versions.map((v): [string, string] => [g.name, v]))];
  for (const [group, version] of gvs) {
    const doc = openApiV3Document(registry, group, version, gitVersion);
    if (doc === undefined) continue;
    paths[gvPath(group, version)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, version)}?hash=${documentHash(doc)}` };
  }
  return { paths };
}
