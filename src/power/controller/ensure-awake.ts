// ensureAwake: what preflight and deploy call before they touch nodes (wake trigger (d)).
// It asks the running power manager to wake each sleeping node (a request annotation, source
// `preflight`) and waits until each is awake and Ready, failed, or the timeout passes.
import type { V1Node } from '@kubernetes/client-node';
import type { Cluster } from '../../config/model.js';
import type { KubeClient } from '../../adapters/kube/client.js';
import { requestPower } from '../api/requests.js';
import type { PowerState } from '../core/types.js';
import { parsePowerAnnotations } from './annotations.js';
import { systemClock, type Clock } from './clock.js';
import { nodeReady } from './observe.js';

export interface EnsureAwakeResult {
  node: string;
  ok: boolean;
  state: PowerState | 'unknown';
  /** True when a wake was requested (the node was not awake and Ready). */
  woken: boolean;
  message: string;
}

export interface EnsureAwakeOptions {
  kube: Pick<KubeClient, 'getNode' | 'patchNode'>;
  clock?: Clock;
  timeoutMs?: number;
  pollMs?: number;
  reason?: string;
  onProgress?: (node: string, message: string) => void;
}

function awake(n: V1Node | undefined, now: number): { state: PowerState; ready: boolean } {
  return { state: parsePowerAnnotations(n?.metadata?.annotations, now).state, ready: n !== undefined && nodeReady(n) };
}

export async function ensureAwake(cluster: Cluster, nodes: readonly string[], opts: EnsureAwakeOptions): Promise<EnsureAwakeResult[]> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? cluster.spec.power.wakeAttempts * 5 * 60_000;
  const pollMs = opts.pollMs ?? 1000;
  const known = new Set(cluster.spec.nodes.map((n) => n.name));
  return Promise.all(
    nodes.map(async (name): Promise<EnsureAwakeResult> => {
      if (!known.has(name)) return { node: name, ok: false, state: 'unknown', woken: false, message: 'not in the cluster file' };
      const first = await opts.kube.getNode(name);
      if (!first) return { node: name, ok: false, state: 'unknown', woken: false, message: 'no Node object: is the node part of the cluster yet?' };
      const s0 = awake(first, clock.now());
      if (s0.state === 'awake' && s0.ready) return { node: name, ok: true, state: 'awake', woken: false, message: 'awake and Ready' };
      await requestPower(opts.kube, name, 'wake', 'preflight', opts.reason ?? 'preflight/deploy needs the node', clock.now());
      opts.onProgress?.(name, `was ${s0.state}${s0.ready ? '' : ' (not Ready)'}: wake requested`);
      const deadline = clock.now() + timeoutMs;
      let last = s0;
      while (clock.now() < deadline) {
        await clock.sleep(pollMs);
        const n = await opts.kube.getNode(name).catch(() => undefined);
        const s = awake(n, clock.now());
        if (s.state !== last.state) opts.onProgress?.(name, s.state);
        last = s;
        if (s.state === 'awake' && s.ready) return { node: name, ok: true, state: 'awake', woken: true, message: 'woken: awake and Ready' };
        if (s.state === 'failed') return { node: name, ok: false, state: 'failed', woken: true, message: parsePowerAnnotations(n?.metadata?.annotations, clock.now()).reason };
      }
      return { node: name, ok: false, state: last.state, woken: true, message: `not awake and Ready after ${Math.round(timeoutMs / 1000)} s (is the power manager running?)` };
    }),
  );
}
