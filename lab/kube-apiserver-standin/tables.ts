// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for, with the columns
// the real API server prints for nodes, pods and the workloads VMStation uses; every other
// resource gets NAME and AGE (as custom resources without printer columns do).
import { asArray, asObject, asString, asStringMap, getPath, isPlainObject, type JsonObject } from './json.js';
import type { ResourceType } from './resources.js';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  description: string;
  cell: (obj: JsonObject, now: Date) => string | number;
}

/** Go's duration.HumanDuration, as kubectl prints ages. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(ts: unknown, now: Date): string {
  if (typeof ts !== 'string') return '<unknown>';
  return humanDuration(now.getTime() - Date.parse(ts));
}

const nameCol: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => asString(getPath(o, ['metadata', 'name'])) ?? '',
};
const ageCol: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o, now) => since(getPath(o, ['metadata', 'creationTimestamp']), now),
};

function str(v: unknown, none = '<none>'): string {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : none;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function nodeStatus(o: JsonObject): string {
  const ready = asArray(getPath(o, ['status', 'conditions'])).filter(isPlainObject).find((c) => c['type'] === 'Ready');
  const parts: string[] = [];
  if (ready !== undefined) parts.push(ready['status'] === 'True' ? 'Ready' : 'NotReady');
  if (parts.length === 0) parts.push('Unknown');
  if (getPath(o, ['spec', 'unschedulable']) === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(o: JsonObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(asStringMap(getPath(o, ['metadata', 'labels'])))) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function address(o: JsonObject, type: string): string {
  const a = asArray(getPath(o, ['status', 'addresses'])).filter(isPlainObject).find((x) => x['type'] === type);
  return str(a?.['address']);
}

function podStatusReason(o: JsonObject): string {
  let reason = str(getPath(o, ['status', 'reason']), '') || str(getPath(o, ['status', 'phase']), 'Unknown');
  for (const cs of asArray(getPath(o, ['status', 'containerStatuses'])).filter(isPlainObject)) {
    const waiting = asString(getPath(cs, ['state', 'waiting', 'reason']));
    const terminated = asString(getPath(cs, ['state', 'terminated', 'reason']));
    if (waiting !== undefined && waiting !== '') reason = waiting;
    else if (terminated !== undefined && terminated !== '') reason = terminated;
  }
  if (getPath(o, ['metadata', 'deletionTimestamp']) !== undefined) reason = 'Terminating';
  return reason;
}

function podReady(o: JsonObject): string {
  const total = asArray(getPath(o, ['spec', 'containers'])).length;
  const ready = asArray(getPath(o, ['status', 'containerStatuses'])).filter((c) => isPlainObject(c) && c['ready'] === true).length;
  return `${ready}/${total}`;
}

function podRestarts(o: JsonObject): number {
  return asArray(getPath(o, ['status', 'containerStatuses'])).reduce<number>((n, c) => n + num(asObject(c)['restartCount']), 0);
}

function intOrString(v: unknown): string {
  return typeof v === 'number' || typeof v === 'string' ? String(v) : 'N/A';
}

function containersOf(o: JsonObject, field: 'name' | 'image'): string {
  return asArray(getPath(o, ['spec', 'template', 'spec', 'containers']))
    .map((c) => str(asObject(c)[field], ''))
    .join(',');
}

function selectorString(sel: unknown): string {
  const labels = asStringMap(asObject(sel)['matchLabels']);
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? '<none>' : parts.sort().join(',');
}

const COLUMNS: Record<string, Column[]> = {
  '/nodes': [
    nameCol,
    { name: 'Status', type: 'string', description: 'The status of the node', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'The roles of the node', cell: nodeRoles },
    ageCol,
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', cell: (o) => str(getPath(o, ['status', 'nodeInfo', 'kubeletVersion']), '') },
    { name: 'Internal-IP', type: 'string', priority: 1, description: 'List of internal IPs in the node.', cell: (o) => address(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, description: 'List of external IPs in the node.', cell: (o) => address(o, 'ExternalIP') },
    { name: 'OS-Image', type: 'string', priority: 1, description: 'OS Image reported by the node.', cell: (o) => str(getPath(o, ['status', 'nodeInfo', 'osImage']), '<unknown>') },
    { name: 'Kernel-Version', type: 'string', priority: 1, description: 'Kernel Version reported by the node.', cell: (o) => str(getPath(o, ['status', 'nodeInfo', 'kernelVersion']), '<unknown>') },
    { name: 'Container-Runtime', type: 'string', priority: 1, description: 'Container Runtime Version reported by the node.', cell: (o) => str(getPath(o, ['status', 'nodeInfo', 'containerRuntimeVersion']), '<unknown>') },
  ],
  '/pods': [
    nameCol,
    { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', cell: podReady },
    { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', cell: podStatusReason },
    { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted.', cell: (o) => String(podRestarts(o)) },
    ageCol,
    { name: 'IP', type: 'string', priority: 1, description: 'The IP address assigned to the pod', cell: (o) => str(getPath(o, ['status', 'podIP'])) },
    { name: 'Node', type: 'string', priority: 1, description: 'The name of the node where the pod is running', cell: (o) => str(getPath(o, ['spec', 'nodeName'])) },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'The name of the node where the pod is nominated', cell: (o) => str(getPath(o, ['status', 'nominatedNodeName'])) },
    { name: 'Readiness Gates', type: 'string', priority: 1, description: 'The readiness gates of the pod', cell: () => '<none>' },
  ],
  'apps/deployments': [
    nameCol,
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', cell: (o) => `${num(getPath(o, ['status', 'readyReplicas']))}/${num(getPath(o, ['spec', 'replicas']))}` },
    { name: 'Up-to-date', type: 'integer', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', cell: (o) => num(getPath(o, ['status', 'updatedReplicas'])) },
    { name: 'Available', type: 'integer', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', cell: (o) => num(getPath(o, ['status', 'availableReplicas'])) },
    ageCol,
    { name: 'Containers', type: 'string', priority: 1, description: 'Names of each container in the template.', cell: (o) => containersOf(o, 'name') },
    { name: 'Images', type: 'string', priority: 1, description: 'Images referenced by each container in the template.', cell: (o) => containersOf(o, 'image') },
    { name: 'Selector', type: 'string', priority: 1, description: 'Label selector for pods.', cell: (o) => selectorString(getPath(o, ['spec', 'selector'])) },
  ],
  'apps/statefulsets': [
    nameCol,
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', cell: (o) => `${num(getPath(o, ['status', 'readyReplicas']))}/${num(getPath(o, ['spec', 'replicas']))}` },
    ageCol,
  ],
  'apps/daemonsets': [
    nameCol,
    { name: 'Desired', type: 'integer', description: 'The desired number of daemon pods', cell: (o) => num(getPath(o, ['status', 'desiredNumberScheduled'])) },
    { name: 'Current', type: 'integer', description: 'The number of daemon pods scheduled', cell: (o) => num(getPath(o, ['status', 'currentNumberScheduled'])) },
    { name: 'Ready', type: 'integer', description: 'The number of daemon pods ready', cell: (o) => num(getPath(o, ['status', 'numberReady'])) },
    { name: 'Up-to-date', type: 'integer', description: 'The number of daemon pods updated', cell: (o) => num(getPath(o, ['status', 'updatedNumberScheduled'])) },
    { name: 'Available', type: 'integer', description: 'The number of daemon pods available', cell: (o) => num(getPath(o, ['status', 'numberAvailable'])) },
    { name: 'Node Selector', type: 'string', description: 'The node selector', cell: (o) => selectorString({ matchLabels: getPath(o, ['spec', 'template', 'spec', 'nodeSelector']) }) },
    ageCol,
  ],
  'policy/poddisruptionbudgets': [
    nameCol,
    { name: 'Min Available', type: 'string', description: 'The minimum number of pods that must be available', cell: (o) => intOrString(getPath(o, ['spec', 'minAvailable'])) },
    { name: 'Max Unavailable', type: 'string', description: 'The maximum number of pods that may be unavailable', cell: (o) => intOrString(getPath(o, ['spec', 'maxUnavailable'])) },
    { name: 'Allowed Disruptions', type: 'integer', description: 'Calculated number of pods that may be disrupted at this time', cell: (o) => num(getPath(o, ['status', 'disruptionsAllowed'])) },
    ageCol,
  ],
  'coordination.k8s.io/leases': [
    nameCol,
    { name: 'Holder', type: 'string', description: 'The holder of the lease', cell: (o) => str(getPath(o, ['spec', 'holderIdentity']), '') },
    ageCol,
  ],
  '/namespaces': [nameCol, { name: 'Status', type: 'string', description: 'The status of the namespace', cell: (o) => str(getPath(o, ['status', 'phase']), '') }, ageCol],
  '/events': [
    {
      name: 'Last Seen',
      type: 'string',
      description: 'Time when this Event was last seen',
      cell: (o, now) => since(getPath(o, ['lastTimestamp']) ?? getPath(o, ['eventTime']) ?? getPath(o, ['metadata', 'creationTimestamp']), now),
    },
    { name: 'Type', type: 'string', description: 'Type of this event', cell: (o) => str(o['type'], '') },
    { name: 'Reason', type: 'string', description: 'Why the action was taken', cell: (o) => str(o['reason'], '') },
    {
      name: 'Object',
      type: 'string',
      description: 'The object this Event is about',
      cell: (o) => `${(asString(getPath(o, ['involvedObject', 'kind'])) ?? '').toLowerCase()}/${asString(getPath(o, ['involvedObject', 'name'])) ?? ''}`,
    },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation', cell: (o) => str(o['message'], '') },
  ],
};

export interface TableOptions {
  includeObject: 'None' | 'Metadata' | 'Object';
  withHeaders: boolean;
  now: Date;
}

export function toTable(type: ResourceType, items: JsonObject[], storedShape: (o: JsonObject) => JsonObject, meta: JsonObject, opts: TableOptions): JsonObject {
  const columns = COLUMNS[type.storageKey] ?? [nameCol, ageCol];
  const table: JsonObject = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: meta };
  if (opts.withHeaders) {
    table['columnDefinitions'] = columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description,
      priority: c.priority ?? 0,
    }));
  }
  table['rows'] = items.map((item) => {
    const stored = storedShape(item);
    const row: JsonObject = { cells: columns.map((c) => c.cell(stored, opts.now)) };
    if (opts.includeObject === 'Object') row['object'] = item;
    else if (opts.includeObject === 'Metadata') {
      row['object'] = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: asObject(item['metadata']) };
    }
    return row;
  });
  return table;
}
