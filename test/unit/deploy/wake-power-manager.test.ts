// Nodes the power manager manages are woken through it (a wake request annotation on the Node,
// source preflight) so it knows why they are up; unmanaged nodes, or a power manager that does
// not act in time, fall back to the drivers. The Node API is an in-memory fake that acts as the
// controller would; the clock is manual.
import type { V1Node } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { wakeThroughPowerManager } from '../../../src/deploy/context.js';
import type { WakeOutcome } from '../../../src/deploy/wake.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { loadClusterFile } from './helpers.js';

const cluster = loadClusterFile('lab/vmstation.lab.yaml');

function world(state: string | undefined, controllerActs: boolean) {
  const node = { metadata: { name: 'storagenodet3500', annotations: state ? { [POWER_ANNOTATIONS.state]: state } : {} }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } } as V1Node;
  const calls: string[] = [];
  let t = 0;
  let up = false;
  return {
    calls,
    deps: {
      clock: { now: () => t, sleep: (ms: number) => ((t += ms), Promise.resolve()) },
      timeoutMs: 10_000,
      reachable: () => Promise.resolve(up),
      direct: (n: string): Promise<WakeOutcome> => {
        calls.push(`direct ${n}`);
        return Promise.resolve({ node: n, wasAwake: false, reachable: true, sent: ['wol'], waitedMs: 0, message: 'woken by wol in 0.0 s' });
      },
      kube: {
        getNode: () => Promise.resolve(node),
        patchNode: (name: string, patch: object) => {
          const req = (patch as { metadata: { annotations: Record<string, string> } }).metadata.annotations[POWER_ANNOTATIONS.request];
          calls.push(`request ${name} ${req ?? ''}`);
          if (controllerActs) {
            node.metadata!.annotations![POWER_ANNOTATIONS.state] = 'awake';
            node.status!.conditions![0]!.status = 'True';
            up = true;
          }
          return Promise.resolve(node);
        },
      },
    },
  };
}

describe('wakeThroughPowerManager', () => {
  it('asks the power manager to wake a node it put to sleep', async () => {
    const w = world('asleep', true);
    const r = await wakeThroughPowerManager(cluster, 'storagenodet3500', w.deps);
    expect(r).toMatchObject({ wasAwake: false, reachable: true, sent: ['power-manager'] });
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]).toMatch(/^request storagenodet3500 .*wake.*preflight/);
  });

  it('wakes a node the power manager does not manage directly', async () => {
    const w = world(undefined, true);
    expect(await wakeThroughPowerManager(cluster, 'storagenodet3500', w.deps)).toMatchObject({ sent: ['wol'] });
    expect(w.calls).toEqual(['direct storagenodet3500']);
  });

  it('falls back to the drivers when the power manager does not act in time, and says so', async () => {
    const w = world('asleep', false);
    const r = await wakeThroughPowerManager(cluster, 'storagenodet3500', w.deps);
    expect(w.calls.map((c) => c.split(' ')[0])).toEqual(['request', 'direct']);
    expect(r.message).toMatch(/^woken by wol in 0\.0 s \(the power manager did not wake it: not awake and Ready after 10 s/);
  });
});
