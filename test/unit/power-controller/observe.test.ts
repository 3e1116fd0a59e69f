// The mapping from Kubernetes objects to the core's model, which every safety rule depends on: a
// pod's owner (can it move?), its volumes (is its data on this node?), its requests (does a pending
// pod fit?), PodDisruptionBudgets, node-local PersistentVolumes; and the slimming the informers do
// before caching, which must keep everything that mapping reads.
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slimNode, slimPdb, slimPod, slimPv, slimPvc } from '../../../src/adapters/kube/slim.js';
import { cannotMove, podsToEvict, sleepBlockers } from '../../../src/power/core/safety.js';
import { isNodeLocalVolume, localClaimResolver, nodeReady, observeNode, observePdb, observePod } from '../../../src/power/controller/observe.js';
import { nodePolicyOf } from '../power/fixtures.js';

const T = '2026-03-02T12:00:00Z';
const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', uid: 'u-rs', controller: true };

function pod(over: Partial<V1Pod['metadata']> = {}, spec: Partial<NonNullable<V1Pod['spec']>> = {}, phase = 'Running'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-7d9-x2', namespace: 'media', uid: 'u-pod', creationTimestamp: new Date(T), ownerReferences: [rs], labels: { app: 'web' }, ...over },
    spec: { nodeName: 'homelab', containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '250m', memory: '64Mi' } } }], ...spec },
    status: { phase },
  };
}

const problemsOf = (p: V1Pod, resolver?: Parameters<typeof observePod>[1]) => {
  const problems: string[] = [];
  const observed = observePod(p, resolver, (m) => problems.push(m));
  return { observed, problems };
};

describe('observePod', () => {
  it('maps a ReplicaSet pod: owner, node, phase, labels, requests summed over containers (init containers ignored), creation time', () => {
    const p = pod({}, {
      initContainers: [{ name: 'init', image: 'x', resources: { requests: { cpu: '4', memory: '4Gi' } } }],
      containers: [
        { name: 'a', image: 'x', resources: { requests: { cpu: '250m', memory: '512Mi' } } },
        { name: 'b', image: 'x', resources: { requests: { cpu: '1', memory: '1Gi' } } },
        { name: 'c', image: 'x' },
      ],
      nodeSelector: { 'vmstation.io/storage': 'true' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['a'] }] }] } } },
    });
    const { observed, problems } = problemsOf(p);
    expect(problems).toEqual([]);
    expect(observed).toEqual({
      namespace: 'media',
      name: 'web-7d9-x2',
      nodeName: 'homelab',
      phase: 'Running',
      ownerKind: 'ReplicaSet',
      labels: { app: 'web' },
      annotations: {},
      volumes: [],
      nodeSelector: { 'vmstation.io/storage': 'true' },
      requiredNodeAffinity: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['a'] }] }],
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }],
      requests: { cpuMillis: 1250, memoryBytes: 1536 * 2 ** 20 },
      createdAt: Date.parse(T),
      terminating: undefined,
    });
  });

  it('the owner decides whether a pod can move: the controller owner, else the first, else a bare pod', () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u-j' };
    expect(observePod(pod({ ownerReferences: [job, { ...rs, controller: true }] })).ownerKind).toBe('ReplicaSet');
    expect(observePod(pod({ ownerReferences: [job, { ...rs, controller: false }] })).ownerKind).toBe('Job');
    const bare = observePod(pod({ ownerReferences: [] }));
    expect(bare.ownerKind).toBeUndefined();
    expect(cannotMove(bare)).toMatch(/bare Pod/);
    const ds = observePod(pod({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u-ds', controller: true }] }));
    const mirror = observePod(pod({ ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'homelab', uid: 'u-n', controller: true }], annotations: { 'kubernetes.io/config.mirror': 'abc' } }));
    // DaemonSet and static (mirror) pods are never evicted: they stay with their node.
    expect(podsToEvict([ds, mirror, observePod(pod())]).map((x) => x.ownerKind)).toEqual(['ReplicaSet']);
  });

  it('maps every volume kind, and asks whether a claim is bound to a node-local volume', () => {
    const volumes = [
      { name: 'host', hostPath: { path: '/srv' } },
      { name: 'scratch', emptyDir: {} },
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'shared', persistentVolumeClaim: { claimName: 'shared' } },
      { name: 'pending', persistentVolumeClaim: { claimName: 'unbound' } },
      { name: 'cfg', configMap: { name: 'c' } },
      { name: 'creds', secret: { secretName: 's' } },
      { name: 'token', projected: { sources: [] } },
      { name: 'meta', downwardAPI: { items: [] } },
      { name: 'nfs', nfs: { server: 'nas', path: '/export' } },
    ];
    const asked: string[] = [];
    const resolver = (ns: string, claim: string) => {
      asked.push(`${ns}/${claim}`);
      return claim === 'data' ? true : claim === 'shared' ? false : undefined;
    };
    const { observed } = problemsOf(pod({}, { volumes }), resolver);
    expect(observed.volumes).toEqual([
      { name: 'host', kind: 'hostPath' },
      { name: 'scratch', kind: 'emptyDir' },
      { name: 'data', kind: 'pvc', localPersistentVolume: true },
      { name: 'shared', kind: 'pvc', localPersistentVolume: false },
      { name: 'pending', kind: 'pvc' },
      { name: 'cfg', kind: 'configMap' },
      { name: 'creds', kind: 'secret' },
      { name: 'token', kind: 'projected' },
      { name: 'meta', kind: 'projected' },
      { name: 'nfs', kind: 'other' },
    ]);
    expect(asked).toEqual(['media/data', 'media/shared', 'media/unbound']);
    // The safety rule reads it: the first node-local volume is the reason the pod cannot move.
    expect(cannotMove(observed)).toBe('volume "host" is hostPath (its data stays on this node)');
    expect(cannotMove(observePod(pod({}, { volumes: [volumes[2]!] }), resolver))).toBe('volume "data" is a node-local PersistentVolume (its data stays on this node)');
    expect(cannotMove(observePod(pod({}, { volumes: [volumes[3]!, volumes[1]!] }), resolver))).toBeUndefined();
  });

  it('reads odd objects conservatively and says what it could not read, instead of throwing', () => {
    const odd = pod({ creationTimestamp: 'yesterday' as unknown as Date }, { nodeName: '', containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: 'lots', memory: '1Gi' } } }] }, 'Evicted');
    const { observed, problems } = problemsOf(odd);
    expect(observed).toMatchObject({ nodeName: undefined, phase: 'Pending', requests: { cpuMillis: 0, memoryBytes: 2 ** 30 }, createdAt: 0 });
    expect(problems).toEqual(['container c request cpu "lots" is not a Kubernetes quantity; counted as 0', 'creationTimestamp "yesterday" is not a time; counted as the oldest']);
    expect(observePod({ apiVersion: 'v1', kind: 'Pod' })).toMatchObject({ namespace: 'default', name: '', phase: 'Pending', ownerKind: undefined, volumes: [], requests: { cpuMillis: 0, memoryBytes: 0 } });
  });

  it('a pod being deleted is terminating (it no longer counts, and is not evicted)', () => {
    const going = observePod(pod({ deletionTimestamp: new Date(T) }));
    expect(going.terminating).toBe(true);
    expect(podsToEvict([going])).toEqual([]);
  });
});

describe('observePdb', () => {
  const pdb = (status?: V1PodDisruptionBudget['status']): V1PodDisruptionBudget => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace: 'media' },
    spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] } },
    ...(status ? { status } : {}),
  });

  it('keeps the selector and how many disruptions are allowed now', () => {
    expect(observePdb(pdb({ disruptionsAllowed: 2, currentHealthy: 3, desiredHealthy: 1, expectedPods: 3 }))).toEqual({
      namespace: 'media',
      name: 'web',
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] },
      disruptionsAllowed: 2,
    });
  });

  it('a budget without status yet allows no disruption, so it blocks a drain of a pod it covers', () => {
    const observed = observePdb(pdb());
    expect(observed.disruptionsAllowed).toBe(0);
    const node = { name: 'homelab', ready: true, unschedulable: false, labels: {}, annotations: {}, taints: [], allocatable: { cpuMillis: 4000, memoryBytes: 2 ** 33 }, power: { state: 'awake' as const, since: 0, reason: '', attempts: 0 }, controllerObservedSince: 0 };
    const blockers = sleepBlockers({ node, policy: nodePolicyOf('homelab'), podsOnNode: [observePod(pod())], pdbs: [observed] });
    expect(blockers).toEqual(['draining would evict 1 pod covered by PodDisruptionBudget media/web, which allows 0 disruptions now']);
  });
});

describe('node-local volumes', () => {
  const pv = (spec: V1PersistentVolume['spec']): V1PersistentVolume => ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], ...spec } });
  const pinned = { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['homelab'] }] }] } };

  it.each([
    ['local', pv({ local: { path: '/srv/data' }, nodeAffinity: pinned }), true],
    ['hostPath', pv({ hostPath: { path: '/srv/data' } }), true],
    ['any volume pinned to a node by required node affinity (e.g. a CSI local driver)', pv({ csi: { driver: 'local.csi', volumeHandle: 'h' }, nodeAffinity: pinned }), true],
    ['NFS', pv({ nfs: { server: 'nas', path: '/export' } }), false],
  ])('%s: %s', (_, v, local) => {
    expect(isNodeLocalVolume(v)).toBe(local);
    // The informer caches the slimmed object: the answer must not change.
    expect(isNodeLocalVolume(JSON.parse(JSON.stringify(slimPv(v))) as V1PersistentVolume)).toBe(local);
  });

  it('resolves a claim through its bound volume; an unbound claim or a missing volume is unknown', () => {
    const claims: Record<string, V1PersistentVolumeClaim> = {
      'media/data': { metadata: { name: 'data', namespace: 'media' }, spec: { volumeName: 'local-pv' } },
      'media/nas': { metadata: { name: 'nas', namespace: 'media' }, spec: { volumeName: 'nfs-pv' } },
      'media/waiting': { metadata: { name: 'waiting', namespace: 'media' }, spec: {} },
      'media/lost': { metadata: { name: 'lost', namespace: 'media' }, spec: { volumeName: 'gone' } },
    };
    const volumes: Record<string, V1PersistentVolume> = { 'local-pv': pv({ local: { path: '/x' }, nodeAffinity: pinned }), 'nfs-pv': pv({ nfs: { server: 'nas', path: '/' } }) };
    const slimmedClaims = Object.fromEntries(Object.entries(claims).map(([k, c]) => [k, slimPvc(c)]));
    const slimmedVolumes = Object.fromEntries(Object.entries(volumes).map(([k, v]) => [k, slimPv(v)]));
    const resolve = localClaimResolver((ns, name) => slimmedClaims[`${ns}/${name}`], (name) => slimmedVolumes[name]);
    expect(['data', 'nas', 'waiting', 'lost', 'nope'].map((c) => resolve('media', c))).toEqual([true, false, undefined, undefined, undefined]);
  });
});

describe('slimmed objects keep everything the model reads', () => {
  /** A Pod as the API server serves it: managed fields, statuses, container details. */
  const served = (p: V1Pod): V1Pod => ({
    ...p,
    metadata: {
      ...p.metadata,
      resourceVersion: '4711',
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
      annotations: { ...p.metadata?.annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}', 'vmstation.io/sleep-ok': 'true' },
    },
    spec: { ...p.spec!, containers: p.spec!.containers.map((c) => ({ ...c, command: ['sh', '-c', 'sleep 1d'], env: [{ name: 'A', value: 'b' }], ports: [{ containerPort: 80 }] })), serviceAccountName: 'default' },
    status: { ...p.status, conditions: [{ type: 'Ready', status: 'True' }], podIP: '10.233.64.7', containerStatuses: [] },
  });
  const roundTrip = <T>(slim: (x: T) => T, x: T): T => JSON.parse(JSON.stringify(slim(x))) as T;
  /** The pod annotations the core reads (safety.ts: sleep-ok, the mirror-pod marker); slimming drops the rest. */
  const READ = ['vmstation.io/sleep-ok', 'vmstation.io/prevent-sleep', 'kubernetes.io/config.mirror'];
  const modelOf = (p: ReturnType<typeof observePod>) => ({ ...p, annotations: Object.fromEntries(Object.entries(p.annotations).filter(([k]) => READ.includes(k))) });

  it('a served Pod: the same model before and after slimming, without what the model never reads', () => {
    const full = served(pod({ deletionTimestamp: new Date(T), annotations: { 'kubernetes.io/config.mirror': 'x' } }, { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }, { name: 'host', hostPath: { path: '/srv' } }], tolerations: [{ operator: 'Exists' }] }));
    const resolver = () => true;
    expect(modelOf(observePod(roundTrip(slimPod, full), resolver))).toEqual(modelOf(observePod(full, resolver)));
    const slimmed = roundTrip(slimPod, full);
    expect(slimmed.metadata?.managedFields).toBeUndefined();
    expect(slimmed.metadata?.annotations).toEqual({ 'vmstation.io/sleep-ok': 'true', 'kubernetes.io/config.mirror': 'x' });
    // What the model never reads is not cached.
    expect(slimmed.spec?.containers[0]).toEqual({ name: 'c', resources: { requests: { cpu: '250m', memory: '64Mi' } } });
    expect(slimmed.status).toEqual({ phase: 'Running' });
    expect(slimmed.spec?.serviceAccountName).toBeUndefined();
  });

  it('generated pods: every field observePod reads survives slimming', () => {
    const arbPod = fc.record({
      owner: fc.option(fc.constantFrom('ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'Node'), { nil: undefined }),
      controller: fc.boolean(),
      phase: fc.option(fc.constantFrom('Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'), { nil: undefined }),
      nodeName: fc.option(fc.constantFrom('homelab', 'storagenodet3500', ''), { nil: undefined }),
      volumes: fc.array(fc.constantFrom('hostPath', 'emptyDir', 'persistentVolumeClaim', 'configMap', 'secret', 'projected', 'downwardAPI', 'nfs'), { maxLength: 4 }),
      cpu: fc.array(fc.option(fc.constantFrom('100m', '1', '2500m', '0.5'), { nil: undefined }), { minLength: 1, maxLength: 3 }),
      labels: fc.dictionary(fc.constantFrom('app', 'vmstation.io/prevent-sleep', 'vmstation.io/sleep-ok', 'app.kubernetes.io/name'), fc.constantFrom('true', 'web', 'jellyfin')),
      annotations: fc.dictionary(fc.constantFrom('vmstation.io/sleep-ok', 'kubernetes.io/config.mirror', 'other.io/x'), fc.constantFrom('true', 'x')),
      selector: fc.dictionary(fc.constantFrom('pool', 'kubernetes.io/hostname'), fc.constantFrom('a', 'homelab')),
      terminating: fc.boolean(),
    });
    fc.assert(
      fc.property(arbPod, (g) => {
        const p: V1Pod = served({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: 'p',
            namespace: 'media',
            creationTimestamp: new Date(T),
            labels: g.labels,
            annotations: g.annotations,
            ...(g.owner ? { ownerReferences: [{ apiVersion: 'v1', kind: g.owner, name: 'o', uid: 'u', controller: g.controller }] } : {}),
            ...(g.terminating ? { deletionTimestamp: new Date(T) } : {}),
          },
          spec: {
            ...(g.nodeName === undefined ? {} : { nodeName: g.nodeName }),
            nodeSelector: g.selector,
            volumes: g.volumes.map((kind, i) => ({ name: `v${i}`, [kind]: kind === 'persistentVolumeClaim' ? { claimName: `c${i}` } : kind === 'nfs' ? { server: 's', path: '/' } : {} })),
            containers: g.cpu.map((cpu, i) => ({ name: `c${i}`, image: 'x', ...(cpu ? { resources: { requests: { cpu, memory: '64Mi' }, limits: { cpu: '4' } } } : {}) })),
          },
          ...(g.phase ? { status: { phase: g.phase } } : {}),
        });
        const resolver = (_ns: string, claim: string) => (claim === 'c0' ? true : undefined);
        expect(modelOf(observePod(roundTrip(slimPod, p), resolver))).toEqual(modelOf(observePod(p, resolver)));
      }),
      { numRuns: 200 },
    );
  });

  it('a served Node: the same readiness and ObservedNode after slimming', () => {
    const node: V1Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'homelab', resourceVersion: '9', labels: { 'kubernetes.io/hostname': 'homelab' }, annotations: { 'vmstation.io/power-state': 'asleep', 'vmstation.io/power-since': T, 'node.alpha.kubernetes.io/ttl': '0' }, managedFields: [{ manager: 'kubelet' }] },
      spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }], podCIDR: '10.233.65.0/24' },
      status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True', reason: 'KubeletReady' }], allocatable: { cpu: '3800m', memory: '7Gi', pods: '110' }, capacity: { cpu: '4' }, images: [{ names: ['busybox'] }] },
    };
    const slimmed = roundTrip(slimNode, node);
    expect(nodeReady(slimmed)).toBe(true);
    expect(observeNode(slimmed, 0, undefined)).toEqual(observeNode(node, 0, undefined));
    expect(observeNode(slimmed, 0, undefined)).toMatchObject({ unschedulable: true, allocatable: { cpuMillis: 3800, memoryBytes: 7 * 2 ** 30 }, power: { state: 'asleep', since: Date.parse(T) } });
  });

  it('a PodDisruptionBudget and a claim keep their selector, budget and bound volume', () => {
    const pdb: V1PodDisruptionBudget = { metadata: { name: 'web', namespace: 'media', managedFields: [{}] }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } }, status: { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 } };
    expect(observePdb(roundTrip(slimPdb, pdb))).toEqual(observePdb(pdb));
    const pvc: V1PersistentVolumeClaim = { metadata: { name: 'data', namespace: 'media' }, spec: { volumeName: 'local-pv', storageClassName: 'local', resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Bound' } };
    expect(roundTrip(slimPvc, pvc).spec?.volumeName).toBe('local-pv');
  });
});
