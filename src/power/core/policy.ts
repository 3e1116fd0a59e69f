// Resolves the power policy from the cluster file: durations to seconds, per-node overrides,
// always-on nodes with their reasons, and which configured wake drivers can actually work.
import { durationSeconds } from '../../config/duration.js';
import { alwaysOnNodes, type Cluster, type ClusterNode } from '../../config/model.js';
import type { NodePolicy, Policy, PredictPolicy, WakeDriver } from './types.js';

/** Extra lead time for scheduled wakes on top of a node's bootSeconds. */
export const DEFAULT_WAKE_AHEAD_MARGIN_SECONDS = 120;

function driverProblems(node: ClusterNode): { usable: WakeDriver[]; unusable: string[] } {
  const usable: WakeDriver[] = [];
  const unusable: string[] = [];
  for (const driver of node.power.wake) {
    if (driver === 'wol' && !node.mac) unusable.push('wol: no mac');
    else if (driver === 'ipmi' && !node.power.bmc) unusable.push('ipmi: no bmc');
    else usable.push(driver);
  }
  return { usable, unusable };
}

export function nodePolicy(cluster: Cluster, node: ClusterNode, alwaysOn: ReadonlyMap<string, string[]>): NodePolicy {
  const { usable, unusable } = driverProblems(node);
  return {
    name: node.name,
    autoSleep: node.power.autoSleep,
    alwaysOnReasons: alwaysOn.get(node.name) ?? [],
    wake: [...node.power.wake],
    usableDrivers: usable,
    unusableDrivers: unusable,
    idleAfterSeconds: durationSeconds(node.power.idleAfter ?? cluster.spec.power.idleAfter),
    bootSeconds: node.power.bootSeconds,
    watts: node.power.watts ? { ...node.power.watts } : undefined,
  };
}

/** Unused predicted wakes go back to sleep after this long unless the file says otherwise. */
export const DEFAULT_PREDICT_UNUSED_AFTER_SECONDS = 30 * 60;

function predictPolicy(p: Cluster['spec']['power']['predict']): PredictPolicy | undefined {
  if (p === 'off') return undefined;
  if (typeof p === 'number') return { threshold: p, unusedAfterSeconds: DEFAULT_PREDICT_UNUSED_AFTER_SECONDS };
  return { threshold: p.threshold, unusedAfterSeconds: durationSeconds(p.unusedAfter) };
}

export function policyFromCluster(cluster: Cluster): Policy {
  const p = cluster.spec.power;
  const alwaysOn = alwaysOnNodes(cluster);
  const nodes: Record<string, NodePolicy> = {};
  for (const n of cluster.spec.nodes) nodes[n.name] = nodePolicy(cluster, n, alwaysOn);
  return {
    enabled: p.enabled,
    idleAfterSeconds: durationSeconds(p.idleAfter),
    minAwakeSeconds: durationSeconds(p.minAwake),
    ignoreNamespaces: [...p.ignoreNamespaces],
    cpuIdleBelow: p.cpuIdleBelow,
    networkIdleBelow: p.networkIdleBelow,
    quietHours: p.quietHours.map((w) => ({ start: w.start, durationSeconds: durationSeconds(w.duration) })),
    keepAwake: p.keepAwake.map((w) => ({ start: w.start, durationSeconds: durationSeconds(w.duration) })),
    timezone: p.timezone,
    maxConcurrentTransitions: p.maxConcurrentTransitions,
    wakeTimeoutSeconds: durationSeconds(p.wakeTimeout),
    wakeAttempts: p.wakeAttempts,
    retryFailedAfterSeconds: durationSeconds(p.retryFailedAfter),
    wakeAheadMarginSeconds: DEFAULT_WAKE_AHEAD_MARGIN_SECONDS,
    predict: predictPolicy(p.predict),
    nodes,
    apps: cluster.spec.apps.map((a) => ({ name: a.name, namespace: a.namespace, node: a.node, wakeOnRequest: a.wakeOnRequest, sessionIdleAfterSeconds: durationSeconds(a.sessionIdleAfter) })),
  };
}
