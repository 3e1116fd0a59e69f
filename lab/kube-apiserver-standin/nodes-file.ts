// Reads the hosts the kubelet emulator should run for: from a VMStation cluster file
// (spec.nodes[].name/address/roles/labels, ssh port from the node or spec.ssh) or from a nodes
// file (a YAML/JSON list of {name, address, sshPort, roles, labels, taints, capacity}).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { asArray, asObject, asString, asStringMap, isPlainObject } from './json.js';
import type { EmulatedNode } from './kubelet.js';

function port(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536 ? value : undefined;
}

export function nodesFromCluster(doc: unknown, sshPortOverride?: number): EmulatedNode[] {
  const spec = asObject(asObject(doc)['spec']);
  const defaultPort = port(asObject(spec['ssh'])['port']) ?? 22;
  const nodes = asArray(spec['nodes']).filter(isPlainObject);
  if (nodes.length === 0) throw new Error('the cluster file has no spec.nodes');
  return nodes.map((n, i) => {
    const name = asString(n['name']);
    const address = asString(n['address']);
    if (name === undefined || address === undefined) throw new Error(`spec.nodes[${i}] needs name and address`);
    return {
      name,
      address,
      sshPort: sshPortOverride ?? port(asObject(n['ssh'])['port']) ?? defaultPort,
      roles: asArray(n['roles']).filter((r): r is string => typeof r === 'string'),
      labels: asStringMap(n['labels']),
    };
  });
}

export function nodesFromList(doc: unknown, sshPortOverride?: number): EmulatedNode[] {
  const list = Array.isArray(doc) ? doc : asArray(asObject(doc)['nodes']);
  return list.filter(isPlainObject).map((n, i) => {
    const name = asString(n['name']);
    if (name === undefined) throw new Error(`nodes[${i}] needs a name`);
    const address = asString(n['address']);
    const node: EmulatedNode = {
      name,
      roles: asArray(n['roles']).filter((r): r is string => typeof r === 'string'),
      labels: asStringMap(n['labels']),
    };
    if (address !== undefined) node.address = address;
    const p = sshPortOverride ?? port(n['sshPort']);
    if (p !== undefined) node.sshPort = p;
    if (n['probe'] === false || address === undefined) node.probe = false;
    if (Array.isArray(n['taints'])) node.taints = n['taints'].filter(isPlainObject).map((t) => ({ key: asString(t['key']) ?? '', effect: asString(t['effect']) ?? 'NoSchedule', ...(asString(t['value']) !== undefined ? { value: asString(t['value']) as string } : {}) }));
    if (isPlainObject(n['capacity'])) node.capacity = asStringMap(n['capacity']);
    return node;
  });
}

export async function readNodes(opts: { clusterFile?: string | undefined; nodesFile?: string | undefined; sshPort?: number | undefined }): Promise<EmulatedNode[]> {
  if (opts.clusterFile !== undefined) return nodesFromCluster(parse(await readFile(opts.clusterFile, 'utf8')), opts.sshPort);
  if (opts.nodesFile !== undefined) return nodesFromList(parse(await readFile(opts.nodesFile, 'utf8')), opts.sshPort);
  return [];
}
