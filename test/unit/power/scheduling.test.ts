// podNeedsSleepingNode and the scheduler filters behind it; quantities.
import { describe, expect, it } from 'vitest';
import { cpuMillis, memoryBytes } from '../../../src/power/core/quantity.js';
import { matchesLabelSelector, podNeedsSleepingNode, tolerates } from '../../../src/power/core/scheduling.js';
import { GI, T0, asleep, controlPlane, node, pod } from './fixtures.js';

const S = 'storagenodet3500';
const H = 'homelab';

describe('podNeedsSleepingNode', () => {
  it.each([
    {
      name: 'nodeSelector on a label only the sleeping node has',
      pod: pod('media', 'transcode-7', { phase: 'Pending', nodeSelector: { 'vmstation.io/storage': 'true' } }),
      nodes: [controlPlane(), node(H), asleep(S, { labels: { 'kubernetes.io/hostname': S, 'vmstation.io/storage': 'true' } })],
      needed: true,
      reason: 'pod media/transcode-7 pending, selector matches only storagenodet3500 (asleep); awake nodes: homelab: nodeSelector vmstation.io/storage=true not matched; masternode: nodeSelector vmstation.io/storage=true not matched',
    },
    {
      name: 'required node affinity (In) on the sleeping node',
      pod: pod('batch', 'train', { phase: 'Pending', requiredNodeAffinity: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [H] }] }] }),
      nodes: [node(S), asleep(H)],
      needed: true,
      reason: 'pod batch/train pending, node affinity matches only homelab (asleep); awake nodes: storagenodet3500: required node affinity not matched',
    },
    {
      name: 'matchFields metadata.name',
      pod: pod('batch', 'pin', { phase: 'Pending', requiredNodeAffinity: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [H] }] }] }),
      nodes: [node(S), asleep(H)],
      needed: true,
      reason: /node affinity matches only homelab \(asleep\)/,
    },
    {
      name: 'affinity terms are ORed: one matches an awake node',
      pod: pod('batch', 'either', {
        phase: 'Pending',
        requiredNodeAffinity: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [H] }] }, { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [S] }] }],
      }),
      nodes: [node(S), asleep(H)],
      needed: false,
      reason: 'pod batch/either pending, fits awake node storagenodet3500',
    },
    {
      name: 'Gt on a numeric label',
      pod: pod('batch', 'gpu', { phase: 'Pending', requiredNodeAffinity: [{ matchExpressions: [{ key: 'gpus', operator: 'Gt', values: ['0'] }] }] }),
      nodes: [node(S, { labels: { gpus: '0' } }), asleep(H, { labels: { gpus: '2' } })],
      needed: true,
      reason: /node affinity matches only homelab/,
    },
    {
      name: 'a taint on the awake node the pod does not tolerate',
      pod: pod('batch', 'plain', { phase: 'Pending' }),
      nodes: [node(S, { taints: [{ key: 'dedicated', value: 'media', effect: 'NoSchedule' }] }), asleep(H)],
      needed: true,
      reason: 'pod batch/plain pending, tolerations admit only homelab (asleep); awake nodes: storagenodet3500: taint dedicated=media:NoSchedule not tolerated',
    },
    {
      name: 'a PreferNoSchedule taint does not block',
      pod: pod('batch', 'plain', { phase: 'Pending' }),
      nodes: [node(S, { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }), asleep(H)],
      needed: false,
      reason: /fits awake node storagenodet3500/,
    },
    {
      name: 'the unreachable/unschedulable taints of a sleeping node are ignored, its own taints are not',
      pod: pod('batch', 'plain', { phase: 'Pending' }),
      nodes: [
        node(S, { taints: [{ key: 'dedicated', effect: 'NoSchedule' }] }),
        asleep(H, { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'gpu', effect: 'NoSchedule' }] }),
      ],
      needed: false,
      reason: /fits no node, sleeping or awake; .*others: homelab \(asleep\): taint gpu:NoSchedule not tolerated/,
    },
    {
      name: 'requests exceed the free capacity of awake nodes',
      pod: pod('batch', 'big', { phase: 'Pending', requests: { cpuMillis: 3000, memoryBytes: GI } }),
      nodes: [node(S), asleep(H)],
      others: [pod('media', 'busy', { nodeName: S, requests: { cpuMillis: 2000, memoryBytes: GI } })],
      needed: true,
      reason: 'pod batch/big pending, free cpu fits only homelab (asleep); awake nodes: storagenodet3500: needs cpu 3, 2 free',
    },
    {
      name: 'memory too',
      pod: pod('batch', 'fat', { phase: 'Pending', requests: { cpuMillis: 100, memoryBytes: 6 * GI } }),
      nodes: [node(S), asleep(H)],
      others: [pod('media', 'busy', { nodeName: S, requests: { cpuMillis: 100, memoryBytes: 4 * GI } })],
      needed: true,
      reason: /free memory fits only homelab \(asleep\); awake nodes: storagenodet3500: needs memory 6Gi, 4Gi free/,
    },
    {
      name: 'finished pods do not hold capacity',
      pod: pod('batch', 'big', { phase: 'Pending', requests: { cpuMillis: 3000, memoryBytes: GI } }),
      nodes: [node(S), asleep(H)],
      others: [pod('media', 'done', { nodeName: S, phase: 'Succeeded', requests: { cpuMillis: 4000, memoryBytes: GI } })],
      needed: false,
      reason: /fits awake node storagenodet3500/,
    },
    {
      name: 'a cordoned or NotReady awake node is not counted as room',
      pod: pod('batch', 'x', { phase: 'Pending' }),
      nodes: [node(S, { unschedulable: true }), asleep(H)],
      needed: true,
      reason: 'pod batch/x pending, fits only homelab (asleep); no node is awake; others: storagenodet3500: cordoned',
    },
    {
      name: 'a bound pod is not waiting for the scheduler',
      pod: pod('batch', 'x', { phase: 'Pending', nodeName: H }),
      nodes: [asleep(H)],
      needed: false,
      reason: 'pod batch/x is not waiting for the scheduler',
    },
    {
      name: 'a DaemonSet pod never asks for a node',
      pod: pod('kube-system', 'proxy', { phase: 'Pending', ownerKind: 'DaemonSet' }),
      nodes: [asleep(H)],
      needed: false,
      reason: /not waiting for the scheduler/,
    },
  ])('$name', (c) => {
    const result = podNeedsSleepingNode(c.pod, c.nodes, [c.pod, ...(c.others ?? [])]);
    expect(result.needed).toBe(c.needed);
    if (typeof c.reason === 'string') expect(result.reason).toBe(c.reason);
    else expect(result.reason).toMatch(c.reason);
  });

  it('a large cluster gets a short reason: five nodes named, then "and N more"', () => {
    const p = pod('batch', 'pin', { phase: 'Pending', nodeSelector: { 'kubernetes.io/hostname': 'w499' } });
    const nodes = Array.from({ length: 500 }, (_, i) => (i === 499 ? asleep(`w${i}`) : node(`w${String(i).padStart(3, '0')}`)));
    const r = podNeedsSleepingNode(p, nodes, [p]);
    expect(r.needed).toBe(true);
    expect(r.reason).toBe(
      'pod batch/pin pending, selector matches only w499 (asleep); awake nodes: w000: nodeSelector kubernetes.io/hostname=w499 not matched; w001: nodeSelector kubernetes.io/hostname=w499 not matched; w002: nodeSelector kubernetes.io/hostname=w499 not matched; w003: nodeSelector kubernetes.io/hostname=w499 not matched; w004: nodeSelector kubernetes.io/hostname=w499 not matched; and 494 more',
    );
  });

  it('lists every sleeping candidate with its state', () => {
    const p = pod('batch', 'any', { phase: 'Pending', nodeSelector: { pool: 'batch' } });
    const nodes = [node('a'), asleep('b', { labels: { pool: 'batch' } }), asleep('c', { labels: { pool: 'batch' }, power: { state: 'failed', since: T0, reason: 'x', attempts: 3 } })];
    expect(podNeedsSleepingNode(p, nodes, [p]).candidates).toEqual([
      { node: 'b', state: 'asleep' },
      { node: 'c', state: 'failed' },
    ]);
  });
});

describe('selectors and tolerations', () => {
  it.each([
    [{ a: '1' }, { matchLabels: { a: '1' } }, true],
    [{ a: '1' }, { matchLabels: { a: '2' } }, false],
    [{ a: '1' }, { matchExpressions: [{ key: 'a', operator: 'In' as const, values: ['1', '2'] }] }, true],
    [{ a: '1' }, { matchExpressions: [{ key: 'a', operator: 'NotIn' as const, values: ['1'] }] }, false],
    [{}, { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' as const }] }, true],
    [{ a: '' }, { matchExpressions: [{ key: 'a', operator: 'Exists' as const }] }, true],
    [{ a: '1' }, {}, true],
  ])('labels %j vs selector %j -> %s', (labels, selector, expected) => {
    expect(matchesLabelSelector(labels, selector)).toBe(expected);
  });

  it.each([
    [{ operator: 'Exists' as const }, true],
    [{ key: 'k', operator: 'Exists' as const }, true],
    [{ key: 'k', value: 'v' }, true],
    [{ key: 'k', value: 'w' }, false],
    [{ key: 'k', value: 'v', effect: 'NoExecute' as const }, false],
  ])('toleration %j of k=v:NoSchedule -> %s', (t, expected) => {
    expect(tolerates(t, { key: 'k', value: 'v', effect: 'NoSchedule' })).toBe(expected);
  });
});

describe('quantities', () => {
  it.each([
    ['250m', 250],
    ['1', 1000],
    ['1.5', 1500],
    ['0.1', 100],
    [2, 2000],
  ])('cpu %s = %i millicores', (q, m) => expect(cpuMillis(q)).toBe(m));
  it.each([
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['128974848', 128974848],
    ['129e6', 129e6],
  ])('memory %s = %i bytes', (q, b) => expect(memoryBytes(q)).toBe(b));
  it('rejects nonsense', () => expect(() => cpuMillis('lots')).toThrow(/not a Kubernetes quantity/));
});
