// Executes a plan: phases in order, steps in order, each step through one injected runner.
// Records progress in the state file after every step, writes everything to one log file per
// run, and shows progress live (listr2 on a terminal, plain lines otherwise).
import { Listr, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { Writable } from 'node:stream';
import { ExitCode, VmstationError, isVmstationError, errorMessage, fileSystemError } from '../errors.js';
import type { PhaseId } from './phases.js';
import type { DeployPlan, PlanPhase, PlanStep } from './plan.js';
import { choosePhases, writeDeployState, type DeployState, type PhaseChoice, type Selection } from './state.js';

export interface StepLog {
  /** One line into the run's log file (and the live display's detail line). */
  line(text: string): void;
  /** Where subprocesses write their full output for this step. */
  logFileFor(stepId: string): string;
}

export interface StepContext {
  log: StepLog;
  /** Update the live display's detail line (e.g. the host and task running now). */
  progress(text: string): void;
}

/** Runs one step; throws (a VmstationError, ideally) when it fails; may return a one-line summary. */
export type StepRunner = (step: PlanStep, ctx: StepContext) => Promise<string | void>;

export interface ExecuteOptions {
  plan: DeployPlan;
  selection: Selection;
  previous: DeployState | undefined;
  renderHash: string;
  runId: string;
  stateFile: string;
  logFile: string;
  log: StepLog;
  runStep: StepRunner;
  out: Writable;
  /** Live display (listr2) instead of plain lines. */
  tty: boolean;
  now?: () => number;
}

export interface ExecuteResult {
  choice: PhaseChoice;
  completed: PhaseId[];
  failed?: { phase: PhaseId; step: string; error: VmstationError } | undefined;
  state: DeployState;
}

function asVmstationError(err: unknown, step: PlanStep): VmstationError {
  if (isVmstationError(err)) return err;
  const fsError = fileSystemError(err);
  if (fsError) return fsError;
  const message = errorMessage(err);
  return new VmstationError({ code: 'deploy-step-failed', message: `step ${step.id} failed: ${message}`, hint: 'see the log file for the full output, fix the cause, then run deploy again (it resumes here)', exitCode: ExitCode.partial, cause: err });
}

export async function executePlan(opts: ExecuteOptions): Promise<ExecuteResult> {
  const now = opts.now ?? Date.now;
  const choice = choosePhases(opts.plan, opts.selection, opts.previous, opts.renderHash);
  // Keep records of phases finished earlier with the same render; a new render starts clean.
  const keep = opts.previous && opts.previous.renderHash === opts.renderHash ? opts.previous.phases : {};
  const state: DeployState = { version: 1, cluster: opts.plan.cluster, renderHash: opts.renderHash, runId: opts.runId, logFile: opts.logFile, phases: { ...keep } };
  const completed: PhaseId[] = [];
  let failed: ExecuteResult['failed'];
  const stamp = () => new Date(now()).toISOString();
  const write = (line: string) => opts.out.write(`${line}\n`);

  if (choice.resumedFrom) write(`resuming from phase ${choice.resumedFrom}: ${choice.skipped.filter((s) => s.reason.startsWith('finished')).map((s) => s.id).join(', ')} finished in an earlier run`);
  for (const s of choice.skipped) opts.log.line(`skip phase ${s.id}: ${s.reason}`);

  const phases = opts.plan.phases.filter((p) => choice.run.includes(p.id));

  // Where the run is, so a failure outside a step (a state file that cannot be written, a
  // display error) is still reported against the phase it happened in.
  let current: { phase: PlanPhase; step?: PlanStep } | undefined;

  const runStepRecorded = async (phase: PlanPhase, step: PlanStep, ctx: StepContext): Promise<string | void> => {
    current = { phase, step };
    opts.log.line(`step ${step.id} start${step.hosts.length > 0 ? ` [${step.hosts.join(', ')}]` : ''}`);
    const started = now();
    let summary: string | void;
    try {
      summary = await opts.runStep(step, ctx);
    } catch (err) {
      const e = asVmstationError(err, step);
      // Recorded before the state file is touched: if that write fails too, the step's failure is not lost.
      failed = { phase: phase.id, step: step.id, error: e };
      opts.log.line(`step ${step.id} FAILED: ${e.message}`);
      for (const d of e.details) opts.log.line(`  ${d}`);
      state.phases[phase.id] = { ...state.phases[phase.id]!, status: 'failed', at: stamp(), error: `${step.id}: ${e.message}` };
      await writeDeployState(opts.stateFile, state);
      throw e;
    }
    const record = state.phases[phase.id]!;
    record.steps.push(step.id);
    record.at = stamp();
    await writeDeployState(opts.stateFile, state);
    opts.log.line(`step ${step.id} done in ${((now() - started) / 1000).toFixed(1)} s${summary ? `: ${summary}` : ''}`);
    return summary;
  };
  const startPhase = async (phase: PlanPhase) => {
    current = { phase };
    state.phases[phase.id] = { status: 'running', at: stamp(), steps: [] };
    await writeDeployState(opts.stateFile, state);
    opts.log.line(`phase ${phase.id} start`);
  };
  const finishPhase = async (phase: PlanPhase) => {
    current = { phase };
    state.phases[phase.id] = { ...state.phases[phase.id]!, status: 'done', at: stamp() };
    await writeDeployState(opts.stateFile, state);
    completed.push(phase.id);
    opts.log.line(`phase ${phase.id} done`);
  };

  const engine: PhaseEngine = { phases, startPhase, runStep: runStepRecorded, finishPhase };
  try {
    await (opts.tty ? runWithListr(engine, opts.log) : runPlain(engine, opts.log, write, now));
  } catch (err) {
    // One result path for both displays: whatever stopped the run is the failure, unless a
    // step's own failure was already recorded (it is the cause; this is its echo).
    failed ??= failureOutside(err, current);
    if (failed.error !== err) {
      // A step failed, then recording that failed too (e.g. the state file): say both.
      failed.error.details.push(`while recording this failure: ${errorMessage(err)}`);
      opts.log.line(`while recording the failure of ${failed.step}: ${errorMessage(err)}`);
    }
  }
  return { choice, completed, failed, state };
}

/** The same sequence of calls, whichever display drives it. */
interface PhaseEngine {
  phases: readonly PlanPhase[];
  startPhase(phase: PlanPhase): Promise<void>;
  runStep(phase: PlanPhase, step: PlanStep, ctx: StepContext): Promise<string | void>;
  finishPhase(phase: PlanPhase): Promise<void>;
}

const stepTitle = (step: PlanStep): string => `${step.title}${step.hosts.length > 0 ? ` [${step.hosts.join(', ')}]` : ''}`;

/** A failure that happened outside a step's own work (bookkeeping, the display). */
function failureOutside(err: unknown, at: { phase: PlanPhase; step?: PlanStep } | undefined): NonNullable<ExecuteResult['failed']> {
  const where = at?.step ? `step ${at.step.id}` : at ? `phase ${at.phase.id}` : 'deploy';
  const fsError = fileSystemError(err);
  const error = isVmstationError(err)
    ? err
    : new VmstationError({
        code: 'deploy-bookkeeping-failed',
        message: `${where} could not be recorded: ${fsError?.message ?? errorMessage(err)}`,
        hint: `${fsError ? `${fsError.hint}; then ` : 'check that the state and log folders are writable and the disk is not full, then '}run deploy again (it resumes here)`,
        exitCode: ExitCode.partial,
        cause: err,
      });
  return { phase: at?.phase.id ?? 'preflight', step: at?.step?.id ?? '(bookkeeping)', error };
}

/** Live display on a terminal; rethrows what stopped the run. */
async function runWithListr(engine: PhaseEngine, log: StepLog): Promise<void> {
  const list = new Listr<object>(
    engine.phases.map((phase) => ({
      title: `${phase.id}: ${phase.title}`,
      task: (_ctx, task) =>
        task.newListr(
          [
            { title: 'start', task: () => engine.startPhase(phase) },
            ...phase.steps.map((step) => ({
              title: stepTitle(step),
              task: async (_c: object, t: ListrTaskWrapper<object, typeof DefaultRenderer, typeof SimpleRenderer>) => {
                const summary = await engine.runStep(phase, step, { log, progress: (text) => (t.output = text) });
                if (summary) t.title = `${t.title} — ${summary}`;
              },
            })),
            { title: 'done', task: () => engine.finishPhase(phase) },
          ],
          { exitOnError: true, concurrent: false },
        ),
    })),
    { exitOnError: true, concurrent: false, rendererOptions: { collapseSubtasks: false } },
  );
  await list.run();
}

/** Plain lines (not a terminal, or CI); rethrows what stopped the run. */
async function runPlain(engine: PhaseEngine, log: StepLog, write: (line: string) => void, now: () => number): Promise<void> {
  for (const phase of engine.phases) {
    write(`==> ${phase.id}: ${phase.title}`);
    await engine.startPhase(phase);
    for (const step of phase.steps) {
      write(`  -> ${stepTitle(step)}`);
      const started = now();
      try {
        const summary = await engine.runStep(phase, step, { log, progress: (text) => write(`     ${text}`) });
        write(`     ok (${((now() - started) / 1000).toFixed(1)} s)${summary ? `: ${summary}` : ''}`);
      } catch (err) {
        write(`     FAILED`);
        throw err;
      }
    }
    await engine.finishPhase(phase);
  }
}
