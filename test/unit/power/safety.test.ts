// Safety rules: each one alone keeps an otherwise idle, sleep-eligible node awake.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/power/core/decide.js';
import type { Observed, ObservedNode, ObservedPod, Policy } from '../../../src/power/core/types.js';
import { T0, controlPlane, examplePolicy, node, nodePolicyOf, observed, pod } from './fixtures.js';

const H = 'homelab';

interface Case {
  name: string;
  nodes?: ObservedNode[];
  pods?: ObservedPod[];
  pdbs?: Observed['pdbs'];
  policy?: (p: Policy) => Policy;
  reason: RegExp;
}

const bare = pod('media', 'jellyfin', { nodeName: H, ownerKind: undefined });
const withNodes = (p: Policy, name: string, over: Parameters<typeof nodePolicyOf>[1]): Policy => ({
  ...p,
  nodes: { ...p.nodes, [name]: { ...(p.nodes[name] ?? nodePolicyOf(name)), ...over } },
});

const cases: Case[] = [
  { name: 'control-plane node (cluster file)', nodes: [controlPlane('masternode')], policy: (p) => withNodes(p, 'masternode', { autoSleep: true }), reason: /control-plane node: must stay on/ },
  {
    name: 'control-plane node (labels only, not in alwaysOn)',
    nodes: [controlPlane(H)],
    reason: /control-plane node \(by its labels\)/,
  },
  { name: 'autoSleep false', policy: (p) => withNodes(p, H, { autoSleep: false }), reason: /autoSleep is false/ },
  { name: 'monitoring/NTP/syslog node', policy: (p) => withNodes(p, H, { alwaysOnReasons: ['monitoring node', 'NTP server', 'syslog server'] }), reason: /monitoring node: must stay on; NTP server: must stay on; syslog server/ },
  { name: 'KDC node', policy: (p) => withNodes(p, H, { alwaysOnReasons: ['Kerberos KDC'] }), reason: /Kerberos KDC: must stay on/ },
  { name: 'bare Pod without a controller', pods: [bare], reason: /pod media\/jellyfin cannot move: a bare Pod/ },
  {
    name: 'pod with a hostPath volume',
    pods: [pod('media', 'cache', { nodeName: H, volumes: [{ name: 'data', kind: 'hostPath' }] })],
    reason: /volume "data" is hostPath/,
  },
  {
    name: 'pod with a local volume',
    pods: [pod('media', 'cache', { nodeName: H, volumes: [{ name: 'data', kind: 'local' }] })],
    reason: /volume "data" is local/,
  },
  {
    name: 'pod with a PVC bound to a node-local PV',
    pods: [pod('media', 'db', { nodeName: H, ownerKind: 'StatefulSet', volumes: [{ name: 'pg', kind: 'pvc', localPersistentVolume: true }] })],
    reason: /volume "pg" is a node-local PersistentVolume/,
  },
  {
    name: 'unmovable pod in an ignored namespace still blocks',
    pods: [pod('kube-system', 'debug', { nodeName: H, ownerKind: undefined })],
    reason: /pod kube-system\/debug cannot move/,
  },
  {
    name: 'drain would break a PodDisruptionBudget',
    pods: [pod('web', 'a', { nodeName: H, labels: { app: 'web' } }), pod('web', 'b', { nodeName: H, labels: { app: 'web' } })],
    pdbs: [{ namespace: 'web', name: 'web-pdb', selector: { matchLabels: { app: 'web' } }, disruptionsAllowed: 1 }],
    reason: /evict 2 pods covered by PodDisruptionBudget web\/web-pdb, which allows 1 disruption/,
  },
  { name: 'node labelled prevent-sleep', nodes: [node(H, { labels: { 'vmstation.io/prevent-sleep': 'true' } })], reason: /node has vmstation.io\/prevent-sleep=true/ },
  {
    name: 'pod labelled prevent-sleep (even in an ignored namespace)',
    pods: [pod('monitoring', 'backup', { nodeName: H, labels: { 'vmstation.io/prevent-sleep': 'true' } })],
    reason: /pod monitoring\/backup has vmstation.io\/prevent-sleep=true/,
  },
  { name: 'no driver can wake it (wol without mac)', policy: (p) => withNodes(p, H, { usableDrivers: [], unusableDrivers: ['wol: no mac'] }), reason: /no configured driver can wake it \(wol: no mac\)/ },
  { name: 'no driver can wake it (ipmi without bmc)', policy: (p) => withNodes(p, H, { wake: ['ipmi'], usableDrivers: [], unusableDrivers: ['ipmi: no bmc'] }), reason: /ipmi: no bmc/ },
  { name: 'node not in the cluster file', nodes: [node('stranger')], reason: /not in the cluster file/ },
];

function idleWorld(c: Case): { obs: Observed; policy: Policy; target: string } {
  const nodes = c.nodes ?? [node(H)];
  const policy = (c.policy ?? ((p) => p))(examplePolicy());
  // Pods in the cases are otherwise idle: put them in an ignored namespace unless the case needs them elsewhere.
  return { obs: observed({ nodes, pods: c.pods ?? [], pdbs: c.pdbs ?? [] }), policy, target: nodes[0]!.name };
}

describe('safety rules: never sleep', () => {
  it.each(cases)('$name', (c) => {
    const { obs, policy, target } = idleWorld(c);
    // Long idle, long awake: only the safety rule stands between the node and sleep.
    const d = decide(obs, { ...policy, idleAfterSeconds: 60 }, T0);
    expect(d.actions.filter((a) => a.kind === 'sleep' && a.node === target)).toEqual([]);
    const why = d.skipped.filter((s) => s.node === target).map((s) => s.reason).join(' | ');
    expect(why).toMatch(c.reason);
  });

  it('the same idle worker without any of these is put to sleep (the cases are not vacuous)', () => {
    const d = decide(observed({ nodes: [node(H)] }), examplePolicy(), T0);
    expect(d.actions).toEqual([{ kind: 'sleep', node: H, reason: 'idle 1d (since controller started observing) >= idleAfter 30m, no pods outside ignored namespaces', evict: [] }]);
  });
});

describe('sleep-ok lets pods that cannot move be stopped', () => {
  it.each([
    ['pod label', pod('media', 'jellyfin', { nodeName: H, ownerKind: undefined, namespace: 'kube-system', labels: { 'vmstation.io/sleep-ok': 'true' } }), node(H)],
    ['pod annotation', pod('kube-system', 'scratch', { nodeName: H, volumes: [{ name: 'x', kind: 'hostPath' }], annotations: { 'vmstation.io/sleep-ok': 'true' } }), node(H)],
    ['node label', pod('kube-system', 'scratch', { nodeName: H, ownerKind: undefined }), node(H, { labels: { 'vmstation.io/sleep-ok': 'true' } })],
    ['node annotation', pod('kube-system', 'scratch', { nodeName: H, ownerKind: undefined }), node(H, { annotations: { 'vmstation.io/sleep-ok': 'true' } })],
  ])('via %s', (_, p, n) => {
    const d = decide(observed({ nodes: [n], pods: [p] }), examplePolicy(), T0);
    expect(d.actions.map((a) => [a.kind, a.node])).toEqual([['sleep', H]]);
    expect(d.actions[0]).toMatchObject({ evict: [{ namespace: p.namespace, name: p.name }] });
  });

  it('sleep-ok does not override prevent-sleep', () => {
    const p = pod('kube-system', 'x', { nodeName: H, labels: { 'vmstation.io/prevent-sleep': 'true', 'vmstation.io/sleep-ok': 'true' } });
    const d = decide(observed({ nodes: [node(H)], pods: [p] }), examplePolicy(), T0);
    expect(d.actions).toEqual([]);
  });
});

describe('what a drain evicts and what it leaves', () => {
  it('DaemonSet and mirror pods stay; finished pods are ignored; the rest is evicted in name order', () => {
    const pods = [
      pod('kube-system', 'kube-proxy-x', { nodeName: H, ownerKind: 'DaemonSet', volumes: [{ name: 'lib', kind: 'hostPath' }] }),
      pod('kube-system', 'static', { nodeName: H, ownerKind: 'Node', volumes: [{ name: 'etc', kind: 'hostPath' }] }),
      pod('monitoring', 'z-exporter', { nodeName: H }),
      pod('batch', 'done', { nodeName: H, phase: 'Succeeded', ownerKind: undefined }),
      pod('kube-system', 'coredns-1', { nodeName: H }),
    ];
    const d = decide(observed({ nodes: [node(H)], pods }), examplePolicy(), T0);
    expect(d.actions).toMatchObject([{ kind: 'sleep', node: H, evict: [{ namespace: 'kube-system', name: 'coredns-1' }, { namespace: 'monitoring', name: 'z-exporter' }] }]);
  });

  it('a PDB with room for every matching pod on the node does not block', () => {
    const pods = [pod('kube-system', 'a', { nodeName: H, labels: { app: 'dns' } })];
    const pdbs = [{ namespace: 'kube-system', name: 'dns', selector: { matchLabels: { app: 'dns' } }, disruptionsAllowed: 1 }];
    expect(decide(observed({ nodes: [node(H)], pods, pdbs }), examplePolicy(), T0).actions.map((a) => a.kind)).toEqual(['sleep']);
  });

  it('a PDB in another namespace does not count', () => {
    const pods = [pod('kube-system', 'a', { nodeName: H, labels: { app: 'dns' } })];
    const pdbs = [{ namespace: 'other', name: 'dns', selector: { matchLabels: { app: 'dns' } }, disruptionsAllowed: 0 }];
    expect(decide(observed({ nodes: [node(H)], pods, pdbs }), examplePolicy(), T0).actions.map((a) => a.kind)).toEqual(['sleep']);
  });
});
