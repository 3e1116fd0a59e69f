// Maintenance holds (issue 13 section 4): while a hold is on a node, decide() wakes the node and
// never puts it to sleep, with the hold's reason. Holds come from `vmstation power hold`, and from
// deploy, day-two upgrades and etcd restore; each has an expiry, so a hold left by a crashed run
// ends at its time without anyone releasing it. Pure: the expiry is compared with `now`.
import type { Round } from './round.js';
import type { MaintenanceHold, Millis, ObservedNode } from './types.js';

/** The node's hold in force at `now` (the one lasting longest when several are), or undefined. */
export function activeHold(node: Pick<ObservedNode, 'holds'>, now: Millis): MaintenanceHold | undefined {
  let best: MaintenanceHold | undefined;
  for (const h of node.holds ?? []) if (h.until > now && (!best || h.until > best.until)) best = h;
  return best;
}

/** Every hold in force at `now` on the node, by expiry. */
export function activeHolds(node: Pick<ObservedNode, 'holds'>, now: Millis): MaintenanceHold[] {
  return (node.holds ?? []).filter((h) => h.until > now).sort((a, b) => a.until - b.until || (a.id < b.id ? -1 : 1));
}

/** "maintenance hold (vmstation deploy of homelab) until 2026-12-03T21:00:00.000Z" */
export function describeHold(h: MaintenanceHold): string {
  return `maintenance hold (${h.reason}) until ${new Date(h.until).toISOString()}`;
}

/** A stage of decide(): every held node that is not awake gets a wake wish (a draining one is rolled back). */
export function wishesFromHolds(r: Round, wakeable: (n: ObservedNode, what: string) => boolean): void {
  for (const n of r.nodes) {
    const hold = activeHold(n, r.now);
    if (!hold || r.claimed.has(n.name) || r.wishes.has(n.name)) continue;
    if (n.power.state === 'awake' && n.ready) continue;
    const what = describeHold(hold);
    // Recorded awake but not Ready (switched off by hand): the hold wants it up, as a person would.
    if (wakeable(n, n.power.state === 'awake' ? `${what} (node not Ready)` : what))
      r.wish({ node: n.name, source: 'maintenance', reason: n.power.state === 'awake' ? `${what} (node not Ready)` : what, fromFailed: n.power.state === 'failed' });
  }
}

/** A hold appearing, released before its end, or reaching its end, on one node (the controller's Events). */
export interface HoldChange {
  node: string;
  kind: 'taken' | 'released' | 'expired';
  hold: MaintenanceHold;
}

const sameHold = (a: MaintenanceHold, b: MaintenanceHold): boolean => a.id === b.id && a.until === b.until && a.reason === b.reason;

/**
 * What changed between two looks at the nodes' holds. `before`: the holds that were in force at the
 * last look; `recorded`: every hold recorded now (expired ones included). A hold in force now and
 * not before (or taken again with another end or reason) is `taken`; one that was in force and is
 * gone before its end is `released`; one whose end has passed is `expired` (recorded or not). A
 * node no longer recorded at all (deleted) gives nothing: there is no Node to tell. Pure.
 */
export function holdChanges(before: ReadonlyMap<string, readonly MaintenanceHold[]>, recorded: ReadonlyMap<string, readonly MaintenanceHold[]>, now: Millis): HoldChange[] {
  const out: HoldChange[] = [];
  for (const [node, holds] of before) {
    const current = recorded.get(node);
    if (!current) continue;
    for (const h of holds) {
      const still = current.find((x) => x.id === h.id);
      if (h.until <= now || (still && still.until <= now)) out.push({ node, kind: 'expired', hold: h });
      else if (!still) out.push({ node, kind: 'released', hold: h });
    }
  }
  for (const [node, holds] of recorded) {
    const was = before.get(node) ?? [];
    for (const h of activeHolds({ holds }, now)) if (!was.some((x) => sameHold(x, h))) out.push({ node, kind: 'taken', hold: h });
  }
  return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}
