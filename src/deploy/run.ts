// One deploy run: render into the state folder, plan, confirm, execute, report. The CLI verb
// only parses flags and calls this; tests call it with their own step runner and streams.
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Cluster } from '../config/model.js';
import { ExitCode, VmstationError, userError } from '../errors.js';
import type { ControllerImage } from '../image/reference.js';
import type { Artifact } from '../render/artifact.js';
import { writeRenderTree } from '../render/write.js';
import { executePlan, type ExecuteResult, type StepLog, type StepRunner } from './executor.js';
import { isPhase, PHASES, type PhaseId } from './phases.js';
import { upgradeProgress } from './changes/index.js';
import { withHold, type HoldProvider } from './hold.js';
import { formatPlan, planDeploy, type DeployPlan, type Observed } from './plan.js';
import { readDeployState, type Selection } from './state.js';

export function renderHash(artifacts: readonly Artifact[]): string {
  const h = createHash('sha256');
  for (const a of [...artifacts].sort((x, y) => (x.path < y.path ? -1 : 1))) h.update(a.path).update('\0').update(a.content).update('\0');
  return h.digest('hex').slice(0, 16);
}

export function parseSelection(phase: string | undefined, from: string | undefined): Selection {
  if (phase && from) throw new VmstationError({ code: 'usage', message: '--phase and --from cannot be used together', exitCode: ExitCode.usage });
  for (const p of [phase, from]) if (p !== undefined && !isPhase(p)) throw new VmstationError({ code: 'unknown-phase', message: `no phase named "${p}"`, hint: `phases are: ${PHASES.join(', ')}`, exitCode: ExitCode.usage });
  return { ...(phase ? { phase: phase as PhaseId } : {}), ...(from ? { from: from as PhaseId } : {}) };
}

/** Reads one line from the input (the confirmation). */
export function readLine(input: Readable): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) done(buf.slice(0, i));
    };
    const done = (line: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      resolve(line.trim());
    };
    const onEnd = () => done(buf);
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

export interface DeployRunOptions {
  cluster: Cluster;
  artifacts: Artifact[];
  renderDir: string;
  stateFile: string;
  logsDir: string;
  selection: Selection;
  yes: boolean;
  dryRun: boolean;
  out: Writable;
  input: Readable;
  tty: boolean;
  runStep: StepRunner;
  now?: () => number;
  /** Output the dry-run plan as JSON. */
  json?: boolean;
  /** The power manager's image (plans its side-load step). */
  powerImage?: ControllerImage | undefined;
  /** What the cluster reports (day two), when it answered. */
  observed?: Observed | undefined;
  /** Holds the nodes awake for the run (see hold.ts); released when the run ends, also on failure. */
  hold?: HoldProvider | undefined;
}

/** How long a deploy's hold may outlive a crashed run. */
export const DEPLOY_HOLD_MAX_MS = 4 * 3600_000;

function holdReason(plan: DeployPlan): string {
  const kinds = [...new Set((plan.changes ?? []).map((c) => c.kind).filter((k) => k === 'add' || k === 'remove' || k === 'rename' || k === 'upgrade'))];
  return `vmstation deploy of ${plan.cluster}${kinds.length > 0 ? ` (${kinds.join(', ')}${kinds.includes('upgrade') ? ` to ${plan.kubernetesVersion}` : ''})` : ''}`;
}

export interface DeployRunResult {
  plan: DeployPlan;
  result?: ExecuteResult;
  logFile?: string;
}

/** After a failed upgrade: the nodes already on the new version and the ones still to do. */
function upgradeLines(plan: DeployPlan, result: ExecuteResult): string[] {
  const steps = plan.phases.find((p) => p.id === 'kubernetes')?.steps ?? [];
  const progress = upgradeProgress(steps, new Set(result.state.phases.kubernetes?.steps ?? []));
  if (!progress) return [];
  return [`upgraded to ${plan.kubernetesVersion}: ${progress.done.join(', ') || 'none yet'}`, `not upgraded yet: ${progress.notDone.join(', ') || 'none'} (run deploy again: it plans only these)`];
}

export async function runDeploy(opts: DeployRunOptions): Promise<DeployRunResult> {
  const now = opts.now ?? Date.now;
  const manifests = opts.artifacts.filter((a) => a.path.startsWith('manifests/')).map((a) => ({ path: a.path, component: a.component }));
  const plan = planDeploy({ cluster: opts.cluster, manifests, observed: opts.observed, powerImage: opts.powerImage });
  const write = (line = '') => opts.out.write(`${line}\n`);
  if (opts.dryRun) {
    if (opts.json) write(JSON.stringify(plan, null, 2));
    else {
      write(formatPlan(plan));
      write();
      write('dry run: nothing was changed');
    }
    return { plan };
  }
  if (plan.refusals && plan.refusals.length > 0) {
    if (!opts.yes) write(formatPlan(plan));
    const [first, ...rest] = plan.refusals;
    throw new VmstationError({
      code: first?.code ?? 'change-refused',
      message: `deploy refused before changing anything: ${first?.message ?? ''}`,
      hint: first?.hint ?? 'fix the cluster file',
      details: rest.map((r) => `error[${r.code}]: ${r.message} (hint: ${r.hint})`),
    });
  }
  if (!opts.yes) {
    write(formatPlan(plan));
    write();
    opts.out.write(`Type yes to deploy ${plan.cluster}: `);
    const answer = await readLine(opts.input);
    if (answer !== 'yes') throw userError('not-confirmed', 'deploy cancelled: the answer was not "yes"', 'type yes, or pass --yes in scripts');
  }
  const hash = renderHash(opts.artifacts);
  await writeRenderTree('/', opts.renderDir, opts.artifacts);
  const runId = new Date(now()).toISOString().replace(/[:.]/g, '-');
  mkdirSync(opts.logsDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(opts.logsDir, `deploy-${runId}.log`);
  const log: StepLog = {
    line: (text) => appendFileSync(logFile, `${new Date(now()).toISOString()} ${text}\n`, { mode: 0o600 }),
    logFileFor: (stepId) => path.join(opts.logsDir, `deploy-${runId}-${stepId.replace(/[^a-z0-9-]+/gi, '-')}.log`),
  };
  log.line(`deploy ${plan.cluster} (render ${hash}) selection ${JSON.stringify(opts.selection)}`);
  const previous = await readDeployState(opts.stateFile);
  const result = await withHold(opts.hold, { reason: holdReason(plan), nodes: opts.cluster.spec.nodes.map((n) => n.name), maxMs: DEPLOY_HOLD_MAX_MS }, async (hold) => {
    for (const n of hold?.notes ?? []) write(`hold: ${n}`);
    log.line(`hold taken: ${holdReason(plan)}`);
    try {
      return await executePlan({ plan, selection: opts.selection, previous, renderHash: hash, runId, stateFile: opts.stateFile, logFile, log, runStep: opts.runStep, out: opts.out, tty: opts.tty, now });
    } finally {
      log.line('hold released');
    }
  });
  write();
  if (result.failed) {
    const notRun = result.choice.run.filter((p) => !result.completed.includes(p) && p !== result.failed!.phase);
    const e = result.failed.error;
    throw new VmstationError({
      code: e.code,
      message: `deploy stopped in phase ${result.failed.phase} (step ${result.failed.step}): ${e.message}`,
      hint: `${e.hint ?? ''}${e.hint ? '; ' : ''}run \`vmstation deploy\` again to resume from ${result.failed.phase} (log: ${logFile})`,
      details: [`done: ${result.completed.join(', ') || 'nothing'}`, `not run: ${notRun.join(', ') || 'nothing'}`, ...upgradeLines(plan, result), ...e.details],
      exitCode: e.exitCode === ExitCode.userError ? ExitCode.userError : ExitCode.partial,
      cause: e,
    });
  }
  write(`deploy finished: ${result.completed.join(', ') || 'no phase ran'}${result.choice.skipped.length > 0 ? ` (skipped: ${result.choice.skipped.map((s) => s.id).join(', ')})` : ''}`);
  write(`log: ${logFile}`);
  return { plan, result, logFile };
}
