// The controller's side of predictive wake (spec.power.predict): it feeds the pure demand profile
// (src/power/core/profile.ts) from what it sees, pods that needed a node (the informers) and users
// of apps through the wake gateway, records what decide() did with its predictions, and keeps the
// profile in the ConfigMap PROFILE_CONFIGMAP of its namespace, so a restart (or the other replica
// taking over) does not forget it. The format and its checks are pure (core/profile-codec.ts);
// this file is the edge.
//
// Only the leader learns and writes. It reads the ConfigMap when it becomes leader, before it
// predicts; writes at most every `saveEveryMs` while something changed, and once more when it
// stops. A ConfigMap it cannot use (corrupt, oversized, another time zone) is ignored with a
// warning (log line and vmstation_power_profile_problems_total) and rewritten from what it learns
// next; a failed API call is a warning and retried at the next save. Nothing here throws into
// the reconcile loop.
import { httpStatusOf, type KubeClient } from '../../adapters/kube/client.js';
import { errorMessage } from '../../errors.js';
import { learnFromDecision, nextPredictedWakes, podDemandStarts, predictableNodes } from '../core/demand.js';
import { emptyProfile, observeUntil, recordDemand, type DemandProfile } from '../core/profile.js';
import { parseProfile, PROFILE_CONFIGMAP, serializeProfile } from '../core/profile-codec.js';
import type { Decision, ObservedPod, Policy } from '../core/types.js';
import type { Logger } from './log.js';
import type { PowerMetrics, ProfileProblemKind } from './metrics.js';

export { PROFILE_CONFIGMAP } from '../core/profile-codec.js';
/** How often the leader writes the profile at most while it changes (a restart loses at most this much). */
export const PROFILE_SAVE_EVERY_MS = 5 * 60_000;

export type ProfileKube = Pick<KubeClient, 'getConfigMap' | 'createConfigMap' | 'replaceConfigMap'>;

export interface DemandLearnerDeps {
  kube: ProfileKube;
  namespace: string;
  policy: Policy;
  log: Logger;
  metrics: PowerMetrics;
  now(): number;
  saveEveryMs?: number;
}

export class DemandLearner {
  private profile: DemandProfile;
  private readonly nodes: string[];
  private readonly nodeSet: ReadonlySet<string>;
  /** Pods already learned from (namespace/name); only pods still present are kept. */
  private seenPods = new Set<string>();
  private loaded = false;
  private dirty = false;
  private lastSaveAt = -Infinity;
  private resourceVersion: string | undefined;
  private saving: Promise<void> | undefined;

  constructor(private readonly deps: DemandLearnerDeps) {
    this.profile = emptyProfile(deps.policy.timezone);
    this.nodes = predictableNodes(deps.policy);
    this.nodeSet = new Set(this.nodes);
  }

  /** Whether predictive wake is on at all (with it off the controller neither learns nor writes). */
  get enabled(): boolean {
    return this.deps.policy.predict !== undefined && this.nodes.length > 0;
  }

  /** The profile decide() reads; undefined until the ConfigMap was read (no prediction from a blank memory). */
  current(): DemandProfile | undefined {
    return this.enabled && this.loaded ? this.profile : undefined;
  }

  private problem(kind: ProfileProblemKind, message: string, fields: Record<string, unknown> = {}): void {
    this.deps.log.warn(`demand profile: ${message}`, { configMap: `${this.deps.namespace}/${PROFILE_CONFIGMAP}`, kind, ...fields });
    this.deps.metrics.profileProblems.inc({ kind });
  }

  /** Reads the ConfigMap (this replica became leader). A profile it cannot use is ignored with a warning. */
  async load(): Promise<void> {
    if (!this.enabled) return;
    this.loaded = false;
    let data: Record<string, string> | undefined;
    try {
      const cm = await this.deps.kube.getConfigMap(this.deps.namespace, PROFILE_CONFIGMAP);
      this.resourceVersion = cm?.metadata?.resourceVersion;
      data = cm?.data;
    } catch (err) {
      // Learning starts over rather than never: the next save overwrites what could not be read.
      this.problem('read', `could not read it (${errorMessage(err)}); learning starts over`);
    }
    const parsed = parseProfile(data, this.deps.policy.timezone, this.nodes);
    for (const p of parsed.problems) this.problem(p.startsWith('node ') ? 'node' : 'ignored', p);
    this.profile = parsed.profile;
    this.seenPods = new Set();
    this.loaded = true;
    this.dirty = parsed.problems.length > 0;
    this.deps.log.info('demand profile loaded', { nodes: Object.keys(parsed.profile.nodes).length, days: Math.max(0, ...Object.values(parsed.profile.nodes).map((h) => h.days.length)) });
  }

  /** Leadership lost: forget, and read again when leading again (the other replica writes meanwhile). */
  forget(): void {
    this.loaded = false;
  }

  private record(node: string, at: number): void {
    this.profile = recordDemand(this.profile, node, at);
    this.dirty = true;
  }

  /** Before decide(): pods not learned from yet, and every node watched until now (quiet days count). */
  observe(pods: readonly ObservedPod[], now: number): void {
    if (!this.current()) return;
    const present = new Set<string>();
    for (const d of podDemandStarts(pods, this.deps.policy, now)) {
      present.add(d.pod);
      if (!this.seenPods.has(d.pod) && this.nodeSet.has(d.node)) this.record(d.node, d.at);
    }
    this.seenPods = present;
    for (const node of this.nodes) {
      const before = this.profile;
      this.profile = observeUntil(this.profile, node, now);
      if (this.profile !== before) this.dirty = true;
    }
  }

  /** A user of an app on `node` came through the wake gateway at `at`. */
  gatewayDemand(node: string, at: number): void {
    if (this.current() && this.nodeSet.has(node)) this.record(node, at);
  }

  /** After decide(): predicted wakes sent, and unused ones ended by a sleep (misses). */
  afterDecision(decision: Decision, now: number): void {
    if (!this.current()) return;
    const learned = learnFromDecision(this.profile, this.deps.policy, decision, now);
    if (learned.profile === this.profile) return;
    this.profile = learned.profile;
    this.dirty = true;
    for (const node of learned.predicted) this.deps.log.info('predicted wake recorded', { node });
    for (const node of learned.unused) this.deps.log.info('predicted wake unused: a miss for the learner', { node });
  }

  private cachedWakes: { at: number; profile: DemandProfile; wakes: Map<string, { at: number; reason: string }> } | undefined;

  /**
   * The next instant within a day the stage would wake each predictable node, for `power status`
   * and the status page (which polls every 2 s): computed again once a minute or when the profile
   * changed, as each look scans a day minute by minute.
   */
  nextWakes(now: number): Map<string, { at: number; reason: string }> {
    const profile = this.current();
    if (!profile) return new Map();
    const c = this.cachedWakes;
    if (c && c.profile === profile && now >= c.at && now - c.at < 60_000) return c.wakes;
    const wakes = nextPredictedWakes(profile, this.deps.policy, now);
    this.cachedWakes = { at: now, profile, wakes };
    return wakes;
  }

  /** Writes the profile when it changed and `saveEveryMs` has passed (or `force`, when stopping). */
  async save(force = false): Promise<void> {
    // When stopping, a write in flight may predate the last changes: wait for it, then write again.
    if (force && this.saving) await this.saving;
    if (!this.current() || !this.dirty || this.saving) return this.saving;
    const now = this.deps.now();
    if (!force && now - this.lastSaveAt < (this.deps.saveEveryMs ?? PROFILE_SAVE_EVERY_MS)) return;
    this.saving = this.write().finally(() => (this.saving = undefined));
    return this.saving;
  }

  private async write(): Promise<void> {
    const { kube, namespace } = this.deps;
    const { data, omitted } = serializeProfile(this.profile, this.nodes);
    if (omitted.length > 0) this.problem('write', `${omitted.length} nodes do not fit in one ConfigMap and are not kept: ${omitted.slice(0, 5).join(', ')}${omitted.length > 5 ? ', ...' : ''}`);
    const metadata = (resourceVersion: string | undefined) => ({ name: PROFILE_CONFIGMAP, namespace, labels: { 'app.kubernetes.io/name': 'vmstation-power-manager', 'app.kubernetes.io/component': 'demand-profile' }, ...(resourceVersion ? { resourceVersion } : {}) });
    this.dirty = false;
    this.lastSaveAt = this.deps.now();
    try {
      let written;
      try {
        written = this.resourceVersion === undefined ? await kube.createConfigMap(namespace, { metadata: metadata(undefined), data }) : await kube.replaceConfigMap(namespace, { metadata: metadata(this.resourceVersion), data });
      } catch (err) {
        const status = httpStatusOf(err);
        if (status !== 409 && status !== 404) throw err;
        // Created, changed or deleted by someone else since we read it: the leader's memory wins.
        const fresh = await kube.getConfigMap(namespace, PROFILE_CONFIGMAP);
        const rv = fresh?.metadata?.resourceVersion;
        written = rv === undefined ? await kube.createConfigMap(namespace, { metadata: metadata(undefined), data }) : await kube.replaceConfigMap(namespace, { metadata: metadata(rv), data });
      }
      this.resourceVersion = written.metadata?.resourceVersion;
    } catch (err) {
      this.dirty = true;
      this.problem('write', `could not write it (${errorMessage(err)}); retried at the next save`);
    }
  }
}
