// Discovery documents: legacy (/api, /apis, /api/v1, /apis/<group>/<version>) and aggregated
// discovery (apidiscovery.k8s.io/v2 and v2beta1), which kubectl asks for first.
import type { JsonObject } from './json.js';
import type { ResourceRegistry, ResourceType, Subresource } from './resources.js';

interface SubresourceInfo {
  group: string;
  version: string;
  kind: string;
  verbs: string[];
}

function subresourceInfo(type: ResourceType, sub: Subresource): SubresourceInfo {
  switch (sub) {
    case 'status':
      return { group: type.group, version: type.version, kind: type.kind, verbs: ['get', 'patch', 'update'] };
    case 'eviction':
      return { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] };
    case 'binding':
      return { group: '', version: 'v1', kind: 'Binding', verbs: ['create'] };
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
  }
}

export function legacyApiVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function legacyGroupList(registry: ResourceRegistry): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().map((g) => groupEntry(g)),
  };
}

function groupEntry(g: { name: string; versions: string[]; preferred: string }): JsonObject {
  return {
    name: g.name,
    versions: g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${g.name}/${g.preferred}`, version: g.preferred },
  };
}

export function legacyGroup(registry: ResourceRegistry, group: string): JsonObject | undefined {
  const g = registry.groups().find((x) => x.name === group);
  return g === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g) };
}

export function legacyResourceList(registry: ResourceRegistry, group: string, version: string): JsonObject | undefined {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) return undefined;
  const resources: JsonObject[] = [];
  for (const t of types) {
    const entry: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames.length > 0) entry['shortNames'] = t.shortNames;
    if (t.categories.length > 0) entry['categories'] = t.categories;
    resources.push(entry);
    for (const sub of t.subresources) {
      const info = subresourceInfo(t, sub);
      const s: JsonObject = { name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced };
      if (info.group !== t.group || info.version !== t.version) {
        s['group'] = info.group;
        s['version'] = info.version;
      }
      s['kind'] = info.kind;
      s['verbs'] = info.verbs;
      resources.push(s);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}

function aggregatedResources(registry: ResourceRegistry, group: string, version: string): JsonObject[] {
  return registry.inGroupVersion(group, version).map((t) => {
    const r: JsonObject = {
      resource: t.plural,
      responseKind: { group: t.group, version: t.version, kind: t.kind },
      scope: t.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: t.singular,
      verbs: t.verbs,
    };
    if (t.shortNames.length > 0) r['shortNames'] = t.shortNames;
    if (t.categories.length > 0) r['categories'] = t.categories;
    if (t.subresources.length > 0) {
      r['subresources'] = t.subresources.map((sub) => {
        const info = subresourceInfo(t, sub);
        return { subresource: sub, responseKind: { group: info.group, version: info.version, kind: info.kind }, verbs: info.verbs };
      });
    }
    return r;
  });
}

/** apidiscovery.k8s.io APIGroupDiscoveryList for /api (core) or /apis (named groups). */
export function aggregatedDiscovery(registry: ResourceRegistry, core: boolean, apiVersion: 'v2' | 'v2beta1'): JsonObject {
  const items: JsonObject[] = core
    ? [{ metadata: { creationTimestamp: null }, versions: [{ version: 'v1', resources: aggregatedResources(registry, '', 'v1'), freshness: 'Current' }] }]
    : registry.groups().map((g) => ({
        metadata: { name: g.name, creationTimestamp: null },
        versions: g.versions.map((v) => ({ version: v, resources: aggregatedResources(registry, g.name, v), freshness: 'Current' })),
      }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items };
}

/** Which aggregated discovery version the Accept header asks for, if any. */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (accept === undefined) return undefined;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s/g, '');
    if (!p.includes('as=APIGroupDiscoveryList') || !p.includes('g=apidiscovery.k8s.io')) continue;
    if (p.includes('v=v2beta1')) return 'v2beta1';
    if (p.includes('v=v2')) return 'v2';
  }
  return undefined;
}
