// Leader election with a coordination.k8s.io/v1 Lease, as client-go does it: take the Lease when
// it is free or expired, renew it while leading, write with the resourceVersion read (a 409 means
// another replica got there first). Only the leader acts; every replica watches.
import type { V1Lease } from '@kubernetes/client-node';
import { httpStatusOf } from '../../adapters/kube/client.js';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import { errorMessage } from '../../errors.js';

export interface LeaseApi {
  getLease(namespace: string, name: string): Promise<V1Lease | undefined>;
  createLease(namespace: string, lease: V1Lease): Promise<V1Lease>;
  replaceLease(namespace: string, lease: V1Lease): Promise<V1Lease>;
}

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewIntervalMs?: number;
  clock: Clock;
  log: Logger;
  onChange?: (leading: boolean) => void;
}

export class LeaderElector {
  private leading = false;
  private lastRenew = 0;
  readonly leaseDurationSeconds: number;
  readonly renewIntervalMs: number;

  constructor(
    private readonly api: LeaseApi,
    private readonly opts: LeaderOptions,
  ) {
    this.leaseDurationSeconds = opts.leaseDurationSeconds ?? 15;
    this.renewIntervalMs = opts.renewIntervalMs ?? 5_000;
  }

  isLeader(): boolean {
    // A leader that could not renew within the lease duration must assume it lost the Lease.
    if (this.leading && this.opts.clock.now() - this.lastRenew > this.leaseDurationSeconds * 1000) this.set(false);
    return this.leading;
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.opts.log.info(leading ? 'became leader' : 'lost leadership', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
    this.opts.onChange?.(leading);
  }

  /** One round: acquire or renew. Returns whether this replica leads afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, clock } = this.opts;
    const now = new Date(clock.now());
    try {
      const current = await this.api.getLease(namespace, name);
      if (!current) {
        await this.api.createLease(namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: this.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        });
        this.lastRenew = clock.now();
        this.set(true);
        return true;
      }
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const renewedAt = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const duration = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
      const expired = holder === '' || renewedAt + duration < clock.now();
      if (holder !== identity && !expired) {
        this.set(false);
        return false;
      }
      const taking = holder !== identity;
      await this.api.replaceLease(namespace, {
        ...current,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: this.leaseDurationSeconds,
          renewTime: now,
          ...(taking ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
        },
      });
      this.lastRenew = clock.now();
      this.set(true);
      return true;
    } catch (err) {
      const status = httpStatusOf(err);
      if (status === 409) {
        this.set(false);
        return false;
      }
      this.opts.log.warn('lease update failed', { error: errorMessage(err), status });
      return this.isLeader();
    }
  }

  /** Renews until the signal fires, then gives the Lease up so another replica takes over at once. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.tryAcquireOrRenew();
      // A follower retries at the renew interval too, so failover takes at most one lease duration.
      await this.opts.clock.sleep(this.renewIntervalMs, signal).catch(() => undefined);
    }
    await this.release();
  }

  async release(): Promise<void> {
    if (!this.leading) return;
    const { namespace, name, identity } = this.opts;
    try {
      const current = await this.api.getLease(namespace, name);
      if (current?.spec?.holderIdentity === identity) await this.api.replaceLease(namespace, { ...current, spec: { ...current.spec, holderIdentity: '' } });
    } catch (err) {
      this.opts.log.warn('could not release the lease', { error: errorMessage(err) });
    }
    this.set(false);
  }
}
