// Builders for the power core's inputs: a node, a pod, a policy, with readable defaults.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { policyFromCluster } from '../../../src/power/core/policy.js';
import type { NodePolicy, Observed, ObservedNode, ObservedPod, Policy } from '../../../src/power/core/types.js';

export const root = path.resolve(import.meta.dirname, '../../..');
export const T0 = Date.parse('2026-03-02T12:00:00Z');
export const MIN = 60_000;
export const GI = 2 ** 30;

export function exampleCluster(): Cluster {
  const text = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8');
  const { cluster, problems } = validateText({ file: 'examples/vmstation.yaml', text });
  if (!cluster) throw new Error(problems.map((p) => p.message).join('\n'));
  return cluster;
}

export function clusterFromText(text: string): Cluster {
  const { cluster, problems } = validateText({ file: 'test.yaml', text });
  if (!cluster) throw new Error(problems.map((p) => `${p.line}: ${p.message}`).join('\n'));
  return cluster;
}

export function nodePolicyOf(name: string, over: Partial<NodePolicy> = {}): NodePolicy {
  return {
    name,
    autoSleep: true,
    alwaysOnReasons: [],
    wake: ['wol'],
    usableDrivers: ['wol'],
    unusableDrivers: [],
    idleAfterSeconds: 1800,
    bootSeconds: 60,
    watts: { awake: 100, asleep: 5 },
    ...over,
  };
}

/** The example cluster's policy: masternode always on, storagenodet3500 and homelab sleep. */
export function examplePolicy(over: Partial<Policy> = {}): Policy {
  return { ...policyFromCluster(exampleCluster()), ...over };
}

export function node(name: string, over: Partial<ObservedNode> = {}): ObservedNode {
  return {
    name,
    ready: true,
    unschedulable: false,
    labels: { 'kubernetes.io/hostname': name },
    annotations: {},
    taints: [],
    allocatable: { cpuMillis: 4000, memoryBytes: 8 * GI },
    power: { state: 'awake', since: T0 - 24 * 60 * MIN, reason: 'initial', attempts: 0 },
    controllerObservedSince: T0 - 24 * 60 * MIN,
    ...over,
  };
}

export function asleep(name: string, over: Partial<ObservedNode> = {}): ObservedNode {
  return node(name, {
    ready: false,
    unschedulable: true,
    cordonedByPowerManager: true,
    taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }],
    power: { state: 'asleep', since: T0 - 60 * MIN, reason: 'idle', attempts: 0 },
    ...over,
  });
}

export function controlPlane(name = 'masternode', over: Partial<ObservedNode> = {}): ObservedNode {
  return node(name, {
    labels: { 'kubernetes.io/hostname': name, 'node-role.kubernetes.io/control-plane': '' },
    taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    ...over,
  });
}

export function pod(ns: string, name: string, over: Partial<ObservedPod> = {}): ObservedPod {
  return {
    namespace: ns,
    name,
    phase: 'Running',
    ownerKind: 'ReplicaSet',
    labels: {},
    annotations: {},
    volumes: [],
    nodeSelector: {},
    requiredNodeAffinity: [],
    tolerations: [],
    requests: { cpuMillis: 100, memoryBytes: 128 * 2 ** 20 },
    createdAt: T0 - 5 * MIN,
    ...over,
  };
}

export function observed(over: Partial<Observed> = {}): Observed {
  return { nodes: [], pods: [], pdbs: [], activity: {}, wakeRequests: [], sleepRequests: [], inFlight: [], ...over };
}

/** The example's three nodes as the controller would see them after a long quiet day. */
export function exampleNodes(over: Record<string, Partial<ObservedNode>> = {}): ObservedNode[] {
  return [controlPlane('masternode', over.masternode), node('storagenodet3500', over.storagenodet3500), node('homelab', over.homelab)];
}
