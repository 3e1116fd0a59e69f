// The deploy state file: which phases and steps finished, for which render. A failed deploy
// resumes from the failed phase and skips the finished ones, as long as the render is the same
// (a changed cluster file starts over). Written atomically after every step.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PHASES, type PhaseId } from './phases.js';
import type { DeployPlan } from './plan.js';

export type PhaseStatus = 'done' | 'failed' | 'running';

export interface PhaseRecord {
  status: PhaseStatus;
  at: string;
  /** Finished step ids (`phase/name`). */
  steps: string[];
  error?: string | undefined;
}

export interface DeployState {
  version: 1;
  cluster: string;
  /** Hash of the rendered files the phases were run with. */
  renderHash: string;
  runId: string;
  logFile: string;
  phases: Partial<Record<PhaseId, PhaseRecord>>;
}

export async function readDeployState(file: string): Promise<DeployState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as DeployState;
    return parsed.version === 1 ? parsed : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A corrupt state file only costs re-running finished phases (they are idempotent).
    return undefined;
  }
}

export async function writeDeployState(file: string, state: DeployState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

export interface Selection {
  /** Only this phase. */
  phase?: PhaseId | undefined;
  /** This phase and every later one. */
  from?: PhaseId | undefined;
}

export interface PhaseChoice {
  run: PhaseId[];
  /** Phases not run, with why. */
  skipped: Array<{ id: PhaseId; reason: string }>;
  /** Set when resuming an earlier failed run. */
  resumedFrom?: PhaseId | undefined;
}

/** Which phases this run executes (pure). */
export function choosePhases(plan: DeployPlan, selection: Selection, previous: DeployState | undefined, renderHash: string): PhaseChoice {
  const ids = plan.phases.map((p) => p.id);
  const planSkipped = new Map(plan.phases.filter((p) => p.skipped).map((p) => [p.id, `plan: ${p.skipped ?? ''}`]));
  const pick = (want: (id: PhaseId, i: number) => boolean, reasonNot: string, resumedFrom?: PhaseId): PhaseChoice => {
    const run: PhaseId[] = [];
    const skipped: PhaseChoice['skipped'] = [];
    ids.forEach((id, i) => {
      if (!want(id, i)) skipped.push({ id, reason: reasonNot });
      else if (planSkipped.has(id)) skipped.push({ id, reason: planSkipped.get(id)! });
      else run.push(id);
    });
    return { run, skipped, ...(resumedFrom ? { resumedFrom } : {}) };
  };
  if (selection.phase) return pick((id) => id === selection.phase, `only --phase ${selection.phase} was asked for`);
  if (selection.from) {
    const start = PHASES.indexOf(selection.from);
    return pick((_id, i) => i >= start, `before --from ${selection.from}`);
  }
  if (previous && previous.renderHash === renderHash && previous.cluster === plan.cluster) {
    const firstOpen = ids.findIndex((id) => !planSkipped.has(id) && previous.phases[id]?.status !== 'done');
    if (firstOpen > 0) return pick((_id, i) => i >= firstOpen, 'finished in an earlier run (same render)', ids[firstOpen]);
    if (firstOpen === -1) return pick(() => true, ''); // everything finished before: a full re-run converges
  }
  return pick(() => true, '');
}
