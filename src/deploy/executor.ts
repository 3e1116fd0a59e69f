// Executes a plan: phases in order, steps in order, each step through one injected runner.
// Records progress in the state file after every step, writes everything to one log file per
// run, and shows progress live (listr2 on a terminal, plain lines otherwise).
import { Listr, type DefaultRenderer, type ListrTaskWrapper, type SimpleRenderer } from 'listr2';
import type { Writable } from 'node:stream';
import { ExitCode, VmstationError, isVmstationError, errorMessage } from '../errors.js';
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

  const runStepRecorded = async (phase: PlanPhase, step: PlanStep, ctx: StepContext): Promise<string | void> => {
    opts.log.line(`step ${step.id} start${step.hosts.length > 0 ? ` [${step.hosts.join(', ')}]` : ''}`);
    const started = now();
    try {
      const summary = await opts.runStep(step, ctx);
      const record = state.phases[phase.id]!;
      record.steps.push(step.id);
      record.at = stamp();
      await writeDeployState(opts.stateFile, state);
      opts.log.line(`step ${step.id} done in ${((now() - started) / 1000).toFixed(1)} s${summary ? `: ${summary}` : ''}`);
      return summary;
    } catch (err) {
      const e = asVmstationError(err, step);
      state.phases[phase.id] = { ...state.phases[phase.id]!, status: 'failed', at: stamp(), error: `${step.id}: ${e.message}` };
      await writeDeployState(opts.stateFile, state);
      opts.log.line(`step ${step.id} FAILED: ${e.message}`);
      for (const d of e.details) opts.log.line(`  ${d}`);
      failed = { phase: phase.id, step: step.id, error: e };
      throw e;
    }
  };
  const startPhase = async (phase: PlanPhase) => {
    state.phases[phase.id] = { status: 'running', at: stamp(), steps: [] };
    await writeDeployState(opts.stateFile, state);
    opts.log.line(`phase ${phase.id} start`);
  };
  const finishPhase = async (phase: PlanPhase) => {
    state.phases[phase.id] = { ...state.phases[phase.id]!, status: 'done', at: stamp() };
    await writeDeployState(opts.stateFile, state);
    completed.push(phase.id);
    opts.log.line(`phase ${phase.id} done`);
  };

  if (opts.tty) {
    const list = new Listr<object>(
      phases.map((phase) => ({
        title: `${phase.id}: ${phase.title}`,
        task: (_ctx, task) =>
          task.newListr(
            [
              { title: 'start', task: () => startPhase(phase) },
              ...phase.steps.map((step) => ({
                title: `${step.title}${step.hosts.length > 0 ? ` [${step.hosts.join(', ')}]` : ''}`,
                task: async (_c: object, t: ListrTaskWrapper<object, typeof DefaultRenderer, typeof SimpleRenderer>) => {
                  const summary = await runStepRecorded(phase, step, { log: opts.log, progress: (text) => (t.output = text) });
                  if (summary) t.title = `${t.title} — ${summary}`;
                },
              })),
              { title: 'done', task: () => finishPhase(phase) },
            ],
            { exitOnError: true, concurrent: false },
          ),
      })),
      { exitOnError: true, concurrent: false, rendererOptions: { collapseSubtasks: false } },
    );
    try {
      await list.run();
    } catch {
      // The failure is in `failed`; listr2 already showed it.
    }
  } else {
    outer: for (const phase of phases) {
      write(`==> ${phase.id}: ${phase.title}`);
      await startPhase(phase);
      for (const step of phase.steps) {
        write(`  -> ${step.title}${step.hosts.length > 0 ? ` [${step.hosts.join(', ')}]` : ''}`);
        const started = now();
        try {
          const summary = await runStepRecorded(phase, step, { log: opts.log, progress: (text) => write(`     ${text}`) });
          write(`     ok (${((now() - started) / 1000).toFixed(1)} s)${summary ? `: ${summary}` : ''}`);
        } catch {
          write(`     FAILED`);
          break outer;
        }
      }
      await finishPhase(phase);
    }
  }
  return { choice, completed, failed, state };
}
