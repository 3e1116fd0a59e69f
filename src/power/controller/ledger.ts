// The energy ledger: kWh saved by sleeping, from each node's configured watts (awake - asleep) and
// the time it spent asleep. The counter `vmstation_energy_saved_kwh_total` grows while a node sleeps
// (on every tick) and the Node annotation gets the whole sleep when the node leaves `asleep`, so a
// restarted controller starts its counter from the annotation and nothing is counted twice.
import type { Policy } from '../core/types.js';
import type { PowerAnnotations } from './annotations.js';
import { energySavedKwh, type PowerMetrics } from './metrics.js';

export class EnergyLedger {
  /** Per node: up to when the counter holds this sleep's energy. */
  private readonly countedTo = new Map<string, number>();

  constructor(
    private readonly policy: Policy,
    private readonly metrics: PowerMetrics,
  ) {}

  private watts(node: string) {
    return this.policy.nodes[node]?.watts;
  }

  /** Starts a node's counter at the value its annotation records. */
  seed(node: string, rec: PowerAnnotations): void {
    this.metrics.seedEnergy(node, rec.energySavedKwh);
  }

  /** Adds what each sleeping node saved since it was last counted (the tick). */
  accrue(nodes: ReadonlyArray<{ name: string; record: PowerAnnotations }>, now: number): void {
    for (const { name, record } of nodes) {
      if (record.state !== 'asleep') {
        this.countedTo.delete(name);
        continue;
      }
      const from = Math.max(record.since, this.countedTo.get(name) ?? record.since);
      const kwh = energySavedKwh(this.watts(name), now - from);
      if (kwh > 0) this.metrics.energySaved.inc({ node: name }, kwh);
      this.countedTo.set(name, now);
    }
  }

  /** The node just fell asleep: counting starts now. */
  fellAsleep(node: string, now: number): void {
    this.countedTo.set(node, now);
  }

  /**
   * The node leaves `asleep` at `now`: the counter gets what it has not counted yet, and the result
   * is the annotation's new total (the whole sleep added to what it held).
   */
  wokeUp(node: string, prev: PowerAnnotations, now: number): number {
    const countedUpTo = Math.max(prev.since, this.countedTo.get(node) ?? prev.since);
    const rest = energySavedKwh(this.watts(node), now - countedUpTo);
    if (rest > 0) this.metrics.energySaved.inc({ node }, rest);
    this.countedTo.delete(node);
    return prev.energySavedKwh + energySavedKwh(this.watts(node), now - prev.since);
  }

  /** kWh saved by the node's current sleep up to `now` (not yet in the annotation). */
  pending(node: string, rec: PowerAnnotations, now: number): number {
    return rec.state === 'asleep' ? energySavedKwh(this.watts(node), now - rec.since) : 0;
  }
}
