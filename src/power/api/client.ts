// The power manager seen from outside (the CLI's `power status|wake|sleep`): through its HTTP API
// with a bearer token, or straight through the Node annotations with a kubeconfig. Both give the
// same status and write the same request; `waitForNode` follows a node until it is where the
// caller wants it. Failures are user errors with a hint (exit 1), never internal ones.
import type { KubeClient } from '../../adapters/kube/client.js';
import { httpStatusOf } from '../../adapters/kube/client.js';
import type { Cluster } from '../../config/model.js';
import { errorMessage, userError } from '../../errors.js';
import { nextPredictedWakes, predictableNodes } from '../core/demand.js';
import { policyFromCluster } from '../core/policy.js';
import { parseProfile, PROFILE_CONFIGMAP } from '../core/profile-codec.js';
import type { WakeSource } from '../core/types.js';
import { parsePowerAnnotations } from '../controller/annotations.js';
import type { Clock } from '../controller/clock.js';
import { byNodeName, nodeStatus, type ControllerStatus, type NodeStatus } from '../controller/status.js';
import { releaseHold, requestPower, takeHold, type HoldRequestBody } from './requests.js';

export interface PowerClient {
  status(): Promise<ControllerStatus>;
  /** Asks for a wake or a sleep; the leading controller decides (and may refuse a sleep). */
  request(node: string, action: 'wake' | 'sleep', reason: string): Promise<void>;
  /** Takes a maintenance hold on every managed node: woken, none put to sleep, until `hold.until`. */
  hold(hold: HoldRequestBody): Promise<void>;
  /** Releases the hold `id` (every hold when undefined). */
  release(id: string | undefined): Promise<void>;
}

export interface ApiTarget {
  /** e.g. http://192.168.4.63:30880 */
  url: string;
  token: string;
  timeoutMs?: number;
}

/** The controller's HTTP API (GET /status, POST /wake|sleep/NODE). */
export function apiClient(target: ApiTarget): PowerClient {
  const base = target.url.replace(/\/$/, '');
  const call = async (method: 'GET' | 'POST', path: string, payload?: object): Promise<unknown> => {
    let res: Response;
    try {
      const json = payload === undefined ? {} : { body: JSON.stringify(payload) };
      res = await fetch(`${base}${path}`, { method, ...json, headers: { authorization: `Bearer ${target.token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, signal: AbortSignal.timeout(target.timeoutMs ?? 15_000) });
    } catch (err) {
      throw userError('power-api-unreachable', `cannot reach the power manager at ${target.url}: ${errorMessage(err)}`, 'check --url (the NodePort in spec.power.controller.nodePort) and that the controller runs');
    }
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    if (res.status === 401) throw userError('power-api-unauthorized', 'the power manager refused the token', 'use the token stored in the vault as spec.power.apiToken');
    if (res.status === 429) throw userError('power-api-rate-limited', 'too many requests to the power manager', `retry in ${res.headers.get('retry-after') ?? 'a few'} s`);
    if (!res.ok) throw userError('power-api-error', `the power manager answered ${res.status}: ${body.error ?? ''}`);
    return body;
  };
  return {
    status: async () => (await call('GET', '/status')) as ControllerStatus,
    request: async (node, action) => void (await call('POST', `/${action}/${node}`)),
    hold: async (h) => void (await call('POST', '/hold', { id: h.id, reason: h.reason, until: new Date(h.until).toISOString() })),
    release: async (id) => void (await call('POST', '/release', id === undefined ? {} : { id })),
  };
}

/**
 * The status of the cluster file's nodes as their annotations record it (no controller needed),
 * with the next predicted wakes from the profile ConfigMap's data when predict is on.
 */
export function statusFromNodes(cluster: Cluster, nodes: Awaited<ReturnType<KubeClient['listNodes']>>, now: number, profileData?: Record<string, string>): ControllerStatus {
  const wanted = new Set(cluster.spec.nodes.map((n) => n.name));
  const policy = policyFromCluster(cluster);
  // A profile the controller would ignore shows no prediction here either.
  const next = policy.predict && profileData ? nextPredictedWakes(parseProfile(profileData, policy.timezone, predictableNodes(policy)).profile, policy, now) : new Map<string, { at: number; reason: string }>();
  const out: NodeStatus[] = nodes
    .filter((n) => wanted.has(n.metadata?.name ?? ''))
    .map((n) => {
      const wake = next.get(n.metadata?.name ?? '');
      return { ...nodeStatus(n, parsePowerAnnotations(n.metadata?.annotations, now), now), ...(wake ? { nextPredictedWake: { at: new Date(wake.at).toISOString(), reason: wake.reason } } : {}) };
    })
    .sort(byNodeName);
  return { identity: 'kubeconfig', leader: false, synced: true, nodes: out };
}

/** The profile ConfigMap's data when predict is on and it can be read; status goes on without it otherwise. */
async function profileData(kube: Partial<Pick<KubeClient, 'getConfigMap'>>, cluster: Cluster): Promise<Record<string, string> | undefined> {
  if (cluster.spec.power.predict === 'off' || !kube.getConfigMap) return undefined;
  try {
    return (await kube.getConfigMap(cluster.spec.power.controller.namespace, PROFILE_CONFIGMAP))?.data;
  } catch {
    return undefined;
  }
}

const KUBE_HINT = 'pass --kubeconfig, or --url and --token-file for the power manager API';

/** The Node annotations through a kubeconfig: the status they record, and a request annotation. */
export function kubeClient(kube: Pick<KubeClient, 'listNodes' | 'patchNode' | 'getNode'> & Partial<Pick<KubeClient, 'getConfigMap'>>, cluster: Cluster, opts: { now: () => number; source?: WakeSource }): PowerClient {
  const managed = cluster.spec.nodes.map((n) => n.name);
  return {
    status: async () => {
      try {
        const nodes = await kube.listNodes();
        return statusFromNodes(cluster, nodes, opts.now(), await profileData(kube, cluster));
      } catch (err) {
        throw userError('kube-unreachable', `cannot list Nodes: ${errorMessage(err)}`, KUBE_HINT);
      }
    },
    request: async (node, action, reason) => {
      try {
        await requestPower(kube, node, action, opts.source ?? 'manual', reason, opts.now());
      } catch (err) {
        if (httpStatusOf(err) === 404) throw userError('node-not-in-cluster', `the cluster has no Node named ${node}`, 'is it deployed and joined? check with `kubectl get nodes`');
        throw userError('kube-unreachable', `cannot record the ${action} request on Node ${node}: ${errorMessage(err)}`, KUBE_HINT);
      }
    },
    hold: async (h) => {
      try {
        await takeHold(kube, managed, h, opts.now());
      } catch (err) {
        throw userError('kube-unreachable', `cannot record the hold on the Nodes: ${errorMessage(err)}`, KUBE_HINT);
      }
    },
    release: async (id) => {
      try {
        await releaseHold(kube, managed, id, opts.now());
      } catch (err) {
        throw userError('kube-unreachable', `cannot remove the hold from the Nodes: ${errorMessage(err)}`, KUBE_HINT);
      }
    },
  };
}

export interface WaitOptions {
  timeoutMs: number;
  clock: Clock;
  /** Between two looks at the status (default 1 s). */
  everyMs?: number;
  /** Told each new state of the node, with its reason. */
  onChange?: (status: NodeStatus) => void;
}

/**
 * Follows `node` until `done` holds or it is recorded failed (both returned), or the timeout passes
 * (undefined).
 */
export async function waitForNode(client: PowerClient, node: string, done: (n: NodeStatus) => boolean, opts: WaitOptions): Promise<NodeStatus | undefined> {
  const deadline = opts.clock.now() + opts.timeoutMs;
  let last = '';
  while (opts.clock.now() < deadline) {
    const st = (await client.status()).nodes.find((n) => n.node === node);
    if (st && st.state !== last) {
      opts.onChange?.(st);
      last = st.state;
    }
    if (st && (done(st) || st.state === 'failed')) return st;
    await opts.clock.sleep(opts.everyMs ?? 1000);
  }
  return undefined;
}
