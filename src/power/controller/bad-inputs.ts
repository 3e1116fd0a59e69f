// Reports the inputs the controller leaves out because it cannot use them (a window that cannot be
// evaluated, an unreadable annotation or quantity): once when each appears, as an error log line
// and a Warning Event on the Nodes concerned, and continuously as the gauge
// `vmstation_power_bad_inputs{kind}`. The rest of the cluster is managed as usual meanwhile.
import type { InputProblem } from '../core/types.js';
import { EVENT_REASONS, type EventType } from './events.js';
import type { Logger } from './log.js';
import type { PowerMetrics } from './metrics.js';

export const BAD_INPUT_KINDS = ['window', 'node', 'pod'] as const;
export type BadInputKind = (typeof BAD_INPUT_KINDS)[number];

export function badInputKind(p: InputProblem): BadInputKind {
  if (p.subject.startsWith('pod ')) return 'pod';
  if (p.subject.startsWith('node ')) return 'node';
  return 'window';
}

export interface BadInputDeps {
  log: Logger;
  metrics: PowerMetrics;
  emit(node: string, type: EventType, reason: string, message: string): void;
  /** The nodes a cluster-wide input (a window) governs: its Events go there. */
  governedNodes(): readonly string[];
}

export class BadInputReporter {
  /** subject + message of what was reported and is still there. */
  private current = new Set<string>();

  constructor(private readonly deps: BadInputDeps) {}

  report(problems: readonly InputProblem[]): void {
    const seen = new Set<string>();
    const counts: Record<BadInputKind, number> = { window: 0, node: 0, pod: 0 };
    for (const p of problems) {
      const key = `${p.subject}\u0000${p.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const kind = badInputKind(p);
      counts[kind]++;
      if (this.current.has(key)) continue;
      this.deps.log.error('bad input left out; everything else is still managed', { subject: p.subject, kind, problem: p.message });
      const message = `${p.subject}: ${p.message}`;
      for (const node of p.node !== undefined ? [p.node] : kind === 'window' ? this.deps.governedNodes() : []) this.deps.emit(node, 'Warning', EVENT_REASONS.badInput, message);
    }
    this.current = seen;
    for (const kind of BAD_INPUT_KINDS) this.deps.metrics.badInputs.set({ kind }, counts[kind]);
  }
}
