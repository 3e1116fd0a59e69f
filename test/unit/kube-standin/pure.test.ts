// Pure parts of the stand-in: selectors, the three patch formats, server-side apply ownership,
// PDB arithmetic, scheduling predicates, Go-style ages and quantities.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computePdb } from '../../../lab/kube-apiserver-standin/disruption.js';
import { applyConfiguration, conflictMessage, fromFieldsV1, recordUpdate, toFieldsV1 } from '../../../lab/kube-apiserver-standin/managed-fields.js';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../../lab/kube-apiserver-standin/patch.js';
import { parseCpuMillis, parseQuantity } from '../../../lab/kube-apiserver-standin/quantity.js';
import { fitsNode, nodeMatchesPod, unschedulableMessage } from '../../../lab/kube-apiserver-standin/scheduling.js';
import { labelsMatch, parseFieldSelector, parseLabelSelector } from '../../../lab/kube-apiserver-standin/selectors.js';
import { humanDuration } from '../../../lab/kube-apiserver-standin/tables.js';

describe('label selectors', () => {
  it.each([
    ['a=b', { a: 'b' }, true],
    ['a==b', { a: 'c' }, false],
    ['a!=b', {}, true],
    ['a in (x, y),b', { a: 'y', b: '' }, true],
    ['a notin (x)', { a: 'x' }, false],
    ['!a', { b: '1' }, true],
    ['a', {}, false],
    ['n>3', { n: '4' }, true],
    ['', { anything: 'x' }, true],
  ])('%s on %j is %s', (sel, labels, expected) => {
    expect(labelsMatch(parseLabelSelector(sel), labels)).toBe(expected);
  });

  it('rejects garbage with 400 and parses field selectors', () => {
    expect(() => parseLabelSelector('a=(b')).toThrow(/unable to parse requirement/);
    expect(parseFieldSelector('spec.nodeName=n1,status.phase!=Running')).toEqual([
      { field: 'spec.nodeName', op: 'eq', value: 'n1' },
      { field: 'status.phase', op: 'neq', value: 'Running' },
    ]);
  });
});

describe('patches', () => {
  it('JSON merge patch follows RFC 7386 (example from the RFC)', () => {
    const target = { a: 'b', c: { d: 'e', f: 'g' } };
    expect(mergePatch(target, { a: 'z', c: { f: null } })).toEqual({ a: 'z', c: { d: 'e' } });
    expect(mergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
  });

  it('JSON patch applies add/remove/replace/move/copy/test and fails a failed test', () => {
    const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
        { op: 'replace', path: '/metadata/labels/a', value: '9' },
        { op: 'add', path: '/list/-', value: 3 },
        { op: 'remove', path: '/list/0' },
        { op: 'copy', from: '/list/0', path: '/first' },
        { op: 'move', from: '/first', path: '/moved' },
        { op: 'test', path: '/moved', value: 2 },
      ]),
    ).toEqual({ metadata: { labels: { a: '9', 'b/c': '2' } }, list: [2, 3], moved: 2 });
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/list/0', value: 5 }])).toThrow(/test failed/);
    expect(doc.list).toEqual([1, 2]);
  });

  it('strategic merge patch merges keyed lists, deletes with null and $patch: delete, replaces atomic lists', () => {
    const pod = {
      metadata: { finalizers: ['a'] },
      spec: {
        unschedulable: true,
        containers: [
          { name: 'web', image: 'nginx:1', env: [{ name: 'A', value: '1' }] },
          { name: 'side', image: 'busybox' },
        ],
        tolerations: [{ key: 'x', operator: 'Exists' }],
      },
    };
    const patched = strategicMergePatch(pod, {
      metadata: { finalizers: ['b'] },
      spec: {
        unschedulable: null,
        containers: [{ name: 'web', image: 'nginx:2', env: [{ name: 'B', value: '2' }] }, { name: 'side', $patch: 'delete' }],
        tolerations: [{ key: 'y', operator: 'Exists' }],
      },
    });
    expect(patched).toEqual({
      metadata: { finalizers: ['a', 'b'] },
      spec: {
        containers: [{ name: 'web', image: 'nginx:2', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }],
        tolerations: [{ key: 'y', operator: 'Exists' }],
      },
    });
  });

  it('merge patch is idempotent and an empty patch is the identity (properties)', () => {
    const key = fc.string({ minLength: 1, maxLength: 4 }).filter((k) => k !== '__proto__');
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.dictionary(key, tie('value'), { maxKeys: 3 })),
    })).value;
    const obj = fc.dictionary(key, json, { maxKeys: 4 });
    const patch = fc.dictionary(key, fc.oneof(json, fc.constant(null)), { maxKeys: 4 });
    fc.assert(
      fc.property(obj, patch, (target, p) => {
        const once = mergePatch(target, p);
        expect(mergePatch(once, p)).toEqual(once);
        expect(mergePatch(target, {})).toEqual(target);
      }),
    );
  });
});

describe('server-side apply', () => {
  const who = (manager: string, force = false): { manager: string; apiVersion: string; time: string; force: boolean; skipStatus: boolean } => ({ manager, apiVersion: 'apps/v1', time: '2026-01-01T00:00:00Z', force, skipStatus: true });
  const deploy = (replicas: number, image: string, extraLabel?: string): Record<string, unknown> => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'ns', labels: { app: 'd', ...(extraLabel ? { [extraLabel]: 'yes' } : {}) } },
    spec: { replicas, template: { spec: { containers: [{ name: 'c', image }] } } },
  });

  it('records FieldsV1 ownership, removes fields no longer applied, and is idempotent', () => {
    const first = applyConfiguration(undefined, deploy(1, 'x:1', 'old'), who('vmstation'));
    expect(first.conflicts).toEqual([]);
    const entry = (first.object['metadata'] as { managedFields: Array<{ manager: string; operation: string; fieldsV1: Record<string, unknown> }> }).managedFields[0];
    expect(entry).toMatchObject({ manager: 'vmstation', operation: 'Apply' });
    expect(entry?.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {}, 'f:old': {} } },
      'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:name': {} } } } } },
    });
    const second = applyConfiguration(first.object, deploy(1, 'x:2'), who('vmstation'));
    expect((second.object['metadata'] as { labels: Record<string, string> }).labels).toEqual({ app: 'd' });
    const third = applyConfiguration(second.object, deploy(1, 'x:2'), who('vmstation'));
    expect(third.object).toEqual(second.object);
  });

  it('reports a conflict with another manager holding a different value, unless forced', () => {
    const applied = applyConfiguration(undefined, deploy(1, 'x:1'), who('vmstation')).object;
    const scaled = structuredClone(applied);
    (scaled['spec'] as { replicas: number }).replicas = 5;
    recordUpdate(applied, scaled, { manager: 'kubectl', apiVersion: 'apps/v1', time: '2026-01-01T00:01:00Z' });
    const again = applyConfiguration(scaled, deploy(1, 'x:1'), who('vmstation'));
    expect(again.conflicts.map((c) => c.manager)).toEqual(['kubectl']);
    expect(conflictMessage(again.conflicts)).toBe('Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas');
    // Same value: shared ownership, no conflict.
    expect(applyConfiguration(scaled, deploy(5, 'x:1'), who('vmstation')).conflicts).toEqual([]);
    const forced = applyConfiguration(scaled, deploy(1, 'x:1'), who('vmstation', true));
    expect((forced.object['spec'] as { replicas: number }).replicas).toBe(1);
    const managers = (forced.object['metadata'] as { managedFields: Array<{ manager: string }> }).managedFields.map((m) => m.manager);
    expect(managers).toEqual(['vmstation']);
  });

  it('round-trips path sets through FieldsV1', () => {
    const trie = { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {} } }, 'f:replicas': {} } };
    expect(toFieldsV1(fromFieldsV1(trie).values())).toEqual(trie);
  });
});

describe('PodDisruptionBudget arithmetic', () => {
  const pod = (name: string, ready: boolean, phase = 'Running'): Record<string, unknown> => ({
    metadata: { name, namespace: 'ns', labels: { app: 'a' } },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  });
  const pdb = (spec: Record<string, unknown>): Record<string, unknown> => ({ metadata: { name: 'p', namespace: 'ns' }, spec: { selector: { matchLabels: { app: 'a' } }, ...spec } });
  it.each([
    [{ minAvailable: 2 }, 0],
    [{ minAvailable: 1 }, 1],
    [{ minAvailable: '50%' }, 0], // 50% of 3 rounds up to 2, as in the disruption controller
    [{ maxUnavailable: 1 }, 0],
    [{ maxUnavailable: '100%' }, 2],
  ])('%j over 3 pods (2 Ready, 1 not) allows %i', (spec, allowed) => {
    const pods = [pod('a', true), pod('b', true), pod('c', false), pod('done', true, 'Succeeded')];
    expect(computePdb(pdb(spec), pods).disruptionsAllowed).toBe(allowed);
  });
});

describe('scheduling predicates', () => {
  const node = (labels: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    metadata: { name: 'n', labels },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '2', memory: '2Gi', pods: '3' } },
    ...extra,
  });
  it('matches nodeSelector and node affinity operators', () => {
    const pod = { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['3'] }, { key: 'zone', operator: 'NotIn', values: ['b'] }] }] } } } } };
    expect(nodeMatchesPod(pod, node({ gen: '4', zone: 'a' }))).toBe(true);
    expect(nodeMatchesPod(pod, node({ gen: '3' }))).toBe(false);
    expect(nodeMatchesPod({ spec: { nodeSelector: { a: 'b' } } }, node({ a: 'c' }))).toBe(false);
  });
  it('checks requests against allocatable and formats the message like the scheduler', () => {
    const pod = { spec: { containers: [{ resources: { requests: { cpu: '1500m', memory: '1Gi' } } }] } };
    expect(fitsNode(pod, node({}), { cpu: 600, memory: 0, pods: 1 })).toEqual({ fits: false, reason: 'Insufficient cpu' });
    expect(fitsNode(pod, node({}), { cpu: 0, memory: 0, pods: 3 })).toEqual({ fits: false, reason: 'Too many pods' });
    expect(fitsNode(pod, node({}), undefined)).toEqual({ fits: true });
    expect(unschedulableMessage(3, new Map([["node(s) didn't match Pod's node affinity/selector", 2], ['node(s) were unschedulable', 1]]))).toBe(
      "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    expect(unschedulableMessage(0, new Map())).toBe('no nodes available to schedule pods');
  });
});

describe('formatting', () => {
  it.each([
    [5_000, '5s'],
    [119_000, '119s'],
    [150_000, '2m30s'],
    [600_000, '10m'],
    [3 * 3600_000 + 5 * 60_000, '3h5m'],
    [30 * 3600_000, '30h'],
    [3 * 86400_000 + 3600_000, '3d1h'],
    [30 * 86400_000, '30d'],
  ])('humanDuration(%i) = %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
  it('parses quantities', () => {
    expect(parseCpuMillis('250m')).toBe(250);
    expect(parseCpuMillis('1.5')).toBe(1500);
    expect(parseQuantity('128Mi')).toBe(128 * 1024 * 1024);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('8148440Ki')).toBe(8148440 * 1024);
  });
});
