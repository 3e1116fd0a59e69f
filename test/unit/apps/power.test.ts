// What sleep-ok on a deployed app buys, through the same decide() the controller runs: the pod
// rendered for the example's Jellyfin (read by the controller's own observePod) holds node-local
// claims and a hostPath, so it cannot move; sleep-ok lets the idle node sleep anyway, and the
// replacement pod that waits Pending while the node sleeps does not wake it (the gateway does).
import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { observePod } from '../../../src/power/controller/observe.js';
import { decide } from '../../../src/power/core/decide.js';
import { renderCluster } from '../../../src/render/index.js';
import { asleep, exampleCluster, examplePolicy, exampleNodes, observed, T0, MIN } from '../power/fixtures.js';

const S = 'storagenodet3500';
const cluster = exampleCluster();
const deployment = parseAllDocuments(renderCluster(cluster, ['apps']).find((a) => a.path === 'manifests/apps.yaml')!.content)
  .map((d) => d.toJS() as { kind: string; metadata: { namespace: string }; spec: { template: V1Pod } })
  .find((o) => o.kind === 'Deployment')!;

/** A pod of the rendered Deployment, as the API server would hold it. */
function jellyfinPod(over: { nodeName?: string; phase: string; sleepOk?: boolean }): V1Pod {
  const t = deployment.spec.template;
  const labels = { ...t.metadata!.labels };
  if (over.sleepOk === false) delete labels['vmstation.io/sleep-ok'];
  return {
    metadata: { name: 'jellyfin-7d9f-abcde', namespace: deployment.metadata.namespace, labels, creationTimestamp: new Date(T0 - 60 * MIN), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'jellyfin-7d9f', uid: 'u', controller: true }] },
    spec: { ...t.spec!, ...(over.nodeName ? { nodeName: over.nodeName } : {}) },
    status: { phase: over.phase },
  };
}
// The local-path provisioner creates `local` PersistentVolumes with node affinity: node-local claims.
const localClaims = () => true;
// Quiet traffic on the media node (a wake-on-request app's pod alone does not keep its node
// awake); homelab busy, so the one transition slot is not its.
const quiet = { [S]: { cpuFraction: 0.01, networkBytesPerSecond: 200 }, homelab: { cpuFraction: 0.9 } };

describe('a deployed app on a sleeping node', () => {
  it('cannot move (node-local claims, hostPath), and without sleep-ok its node would never sleep', () => {
    const pod = observePod(jellyfinPod({ nodeName: S, phase: 'Running', sleepOk: false }), localClaims);
    const d = decide(observed({ nodes: exampleNodes(), pods: [pod], activity: quiet }), examplePolicy(), T0);
    expect(d.actions.filter((a) => a.node === S)).toEqual([]);
    expect(d.skipped.find((s) => s.node === S)?.reason).toMatch(/cannot move/);
  });

  it('with the rendered sleep-ok label the idle node sleeps, evicting Jellyfin', () => {
    const pod = observePod(jellyfinPod({ nodeName: S, phase: 'Running' }), localClaims);
    const d = decide(observed({ nodes: exampleNodes(), pods: [pod], activity: quiet }), examplePolicy(), T0);
    expect(d.actions).toMatchObject([{ kind: 'sleep', node: S, evict: [{ namespace: 'default', name: 'jellyfin-7d9f-abcde' }] }]);
  });

  it('its replacement waits Pending while the node sleeps, and does not wake it', () => {
    const pending = observePod(jellyfinPod({ phase: 'Pending' }), localClaims);
    expect(pending.nodeSelector).toEqual({ 'kubernetes.io/hostname': S });
    const d = decide(observed({ nodes: exampleNodes({ [S]: asleep(S) }), pods: [pending] }), examplePolicy(), T0);
    expect(d.actions.filter((a) => a.kind === 'wake')).toEqual([]);
  });
});
