// Tells people about maintenance holds (issue 13 section 4: "the reason shows in power status, in
// the metrics and in an Event"): a Normal Event on each held Node when a hold comes into force
// (PowerHold), is released before its end (PowerHoldReleased) or reaches its end
// (PowerHoldExpired), with the hold's id, reason and end, and a log line. The gauge
// vmstation_power_hold is read from the Nodes at scrape time (metrics.ts). The leader reports,
// once per change it sees; a replica that becomes leader announces the holds in force again.
import { holdChanges, type HoldChange } from '../core/hold.js';
import type { MaintenanceHold } from '../core/types.js';
import { EVENT_REASONS, type EventType } from './events.js';
import type { Logger } from './log.js';

export interface HoldReporterDeps {
  log: Logger;
  emit(node: string, type: EventType, reason: string, message: string): void;
}

const REASON: Record<HoldChange['kind'], string> = { taken: EVENT_REASONS.holdTaken, released: EVENT_REASONS.holdReleased, expired: EVENT_REASONS.holdExpired };

export function holdEventMessage(c: HoldChange): string {
  const what = `maintenance hold ${c.hold.id}: ${c.hold.reason}`;
  const end = new Date(c.hold.until).toISOString();
  if (c.kind === 'taken') return `${what}, until ${end}: the node is woken and not put to sleep`;
  if (c.kind === 'released') return `${what}: released (it would have ended at ${end}); the power policy applies again`;
  return `${what}: ended at ${end} without being released; the power policy applies again`;
}

export class HoldReporter {
  /** The holds in force per node at the last report. */
  private current = new Map<string, readonly MaintenanceHold[]>();

  constructor(private readonly deps: HoldReporterDeps) {}

  /** `recorded`: every hold recorded on each Node now (expired ones included). */
  report(recorded: ReadonlyMap<string, readonly MaintenanceHold[]>, now: number): HoldChange[] {
    const changes = holdChanges(this.current, recorded, now);
    for (const c of changes) {
      this.deps.log.info(`maintenance hold ${c.kind}`, { node: c.node, id: c.hold.id, reason: c.hold.reason, until: new Date(c.hold.until).toISOString() });
      this.deps.emit(c.node, 'Normal', REASON[c.kind], holdEventMessage(c));
    }
    this.current = new Map([...recorded].map(([node, holds]) => [node, holds.filter((h) => h.until > now)]));
    return changes;
  }

  /** Forget what was announced (leadership lost: the next leader announces). */
  reset(): void {
    this.current = new Map();
  }
}
