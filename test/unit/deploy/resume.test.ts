// A deploy that fails part-way resumes from the failed phase and skips the finished ones; the
// state file and the log file say what happened. Steps are recorded, not run (the executor is
// the subject here; the real steps have their own tests).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VmstationError } from '../../../src/errors.js';
import type { StepRunner } from '../../../src/deploy/executor.js';
import { parseSelection, runDeploy } from '../../../src/deploy/run.js';
import { choosePhases, readDeployState } from '../../../src/deploy/state.js';
import { planDeploy } from '../../../src/deploy/plan.js';
import { renderCluster } from '../../../src/render/index.js';
import { run } from '../../../src/cli/main.js';
import { REPO, loadClusterFile } from './helpers.js';

const cluster = loadClusterFile('examples/vmstation.yaml');
const artifacts = renderCluster(cluster);

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), 'deploy-resume-'));
  return { renderDir: path.join(dir, 'render'), stateFile: path.join(dir, 'state.json'), logsDir: path.join(dir, 'logs') };
}

function recorder(failOn?: { step: string; times: number }) {
  const ran: string[] = [];
  let failures = 0;
  const runStep: StepRunner = (step) => {
    ran.push(step.id);
    if (failOn && step.id === failOn.step && failures < failOn.times) {
      failures++;
      return Promise.reject(new VmstationError({ code: 'injected', message: 'injected failure', exitCode: 3 }));
    }
    return Promise.resolve('ok');
  };
  return { ran, runStep };
}

async function deploy(where: ReturnType<typeof setup>, runStep: StepRunner, extra: Partial<Parameters<typeof runDeploy>[0]> = {}) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const result = await runDeploy({ cluster, artifacts, ...where, selection: {}, yes: true, dryRun: false, out, input: new PassThrough(), tty: false, runStep, ...extra }).catch((e: unknown) => e);
  return { result, text: () => text };
}

describe('deploy resume', () => {
  it('stops at an injected failure, then resumes from that phase skipping finished ones', async () => {
    const where = setup();
    const first = recorder({ step: 'monitoring/apply', times: 1 });
    const r1 = await deploy(where, first.runStep);
    expect(r1.result).toBeInstanceOf(VmstationError);
    const err = r1.result as VmstationError;
    expect(err.exitCode).toBe(3);
    expect(err.message).toBe('deploy stopped in phase monitoring (step monitoring/apply): injected failure');
    expect(err.details.slice(0, 2)).toEqual(['done: preflight, host, kubernetes, addons', 'not run: power, verify']);
    expect(first.ran.at(-1)).toBe('monitoring/apply');
    const state = await readDeployState(where.stateFile);
    expect(state?.phases.kubernetes?.status).toBe('done');
    expect(state?.phases.monitoring).toMatchObject({ status: 'failed', error: 'monitoring/apply: injected failure' });
    expect(r1.text()).toContain('==> monitoring');
    expect(r1.text()).toContain('     FAILED');

    const second = recorder();
    const r2 = await deploy(where, second.runStep);
    expect(r2.result).toMatchObject({ result: { completed: ['monitoring', 'power', 'verify'] } });
    expect(second.ran[0]).toBe('monitoring/apply');
    expect(second.ran.some((s) => s.startsWith('kubernetes/') || s.startsWith('preflight/') || s.startsWith('host/'))).toBe(false);
    expect(r2.text()).toContain('resuming from phase monitoring: preflight, host, kubernetes, addons finished in an earlier run');
    const log = readFileSync((r2.result as { logFile: string }).logFile, 'utf8');
    expect(log).toContain('skip phase kubernetes: finished in an earlier run (same render)');

    // Everything finished: the next deploy runs every phase again (idempotent convergence).
    const third = recorder();
    await deploy(where, third.runStep);
    expect(third.ran[0]).toBe('preflight/checks');
  });

  it('starts over when the render changed since the failed run', async () => {
    const where = setup();
    await deploy(where, recorder({ step: 'monitoring/apply', times: 1 }).runStep);
    const changed = recorder();
    const other = renderCluster(loadClusterFile('examples/vmstation.yaml')).map((a) => (a.path === 'manifests/grafana.yaml' ? { ...a, content: `${a.content}# changed\n` } : a));
    await deploy(where, changed.runStep, { artifacts: other });
    expect(changed.ran[0]).toBe('preflight/checks');
  });

  it('--phase runs one phase, --from the rest; both at once is a usage error', () => {
    const plan = planDeploy({ cluster, manifests: artifacts.filter((a) => a.path.startsWith('manifests/')).map((a) => ({ path: a.path, component: a.component })) });
    expect(choosePhases(plan, parseSelection('host', undefined), undefined, 'h').run).toEqual(['host']);
    expect(choosePhases(plan, parseSelection(undefined, 'power'), undefined, 'h').run).toEqual(['power', 'verify']);
    expect(() => parseSelection('host', 'power')).toThrow('--phase and --from cannot be used together');
    expect(() => parseSelection('hosts', undefined)).toThrow('no phase named "hosts"');
  });

  it('asks for confirmation and stops unless the answer is yes', async () => {
    const where = setup();
    const input = new PassThrough();
    const rec = recorder();
    const pending = deploy(where, rec.runStep, { yes: false, input });
    input.write('no\n');
    const r = await pending;
    expect(r.result).toMatchObject({ code: 'not-confirmed' });
    expect(r.text()).toContain('Type yes to deploy vmstation-homelab: ');
    expect(rec.ran).toEqual([]);
    expect(existsSync(where.stateFile)).toBe(false);
  });

  it('runs the same steps with the live listr2 display (terminal mode)', async () => {
    const where = setup();
    const rec = recorder();
    const r = await deploy(where, rec.runStep, { tty: true });
    expect(r.result).toMatchObject({ result: { failed: undefined } });
    const state = await readDeployState(where.stateFile);
    expect(Object.entries(state!.phases).filter(([, p]) => p.status === 'done').map(([id]) => id)).toEqual((r.result as { result: { completed: string[] } }).result.completed);
    expect(rec.ran[0]).toBe('preflight/checks');
    expect(rec.ran.at(-1)).toBe('verify/checks');
  });

  // Issue 16 §1: in terminal mode a failure that is not a step's (here: the state file cannot be
  // written) was swallowed and the run said "deploy finished". Both displays share one result path.
  for (const tty of [false, true]) {
    it(`a state file that cannot be written mid-run fails the deploy (${tty ? 'listr2' : 'plain'} display)`, async () => {
      const where = setup();
      const ran: string[] = [];
      const runStep: StepRunner = (step) => {
        ran.push(step.id);
        if (step.id === 'kubernetes/kubespray-cluster') {
          // The state file's folder turns into a plain file: the next state write fails (mkdir gives EEXIST).
          rmSync(path.dirname(where.stateFile), { recursive: true, force: true });
          writeFileSync(path.dirname(where.stateFile), 'not a folder\n');
        }
        return Promise.resolve('ok');
      };
      where.stateFile = path.join(path.dirname(where.stateFile), 'state', 'state.json');
      mkdirSync(path.dirname(where.stateFile));
      const r = await deploy(where, runStep, { tty });
      expect(r.result).toBeInstanceOf(VmstationError);
      const err = r.result as VmstationError;
      expect(err.exitCode).toBe(3);
      expect(err.code).toBe('deploy-bookkeeping-failed');
      expect(err.message).toMatch(/^deploy stopped in phase kubernetes \(step kubernetes\/kubespray-cluster\): step kubernetes\/kubespray-cluster could not be recorded: mkdir \S+\/state: already exists \(EEXIST\)$/);
      expect(err.details[0]).toBe('done: preflight, host');
      expect(ran.at(-1)).toBe('kubernetes/kubespray-cluster');
      expect(r.text()).not.toContain('deploy finished');
    });
  }

  it('--dry-run prints the plan and runs nothing (CLI)', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const code = await run(['node', 'vmstation', 'deploy', '-f', `${REPO}examples/vmstation.yaml`, '--dry-run'], { stdout: out, stderr: new PassThrough(), stdin: new PassThrough(), env: { ...process.env, VMSTATION_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'st-')) }, cwd: REPO, isTTY: false });
    expect(code).toBe(0);
    expect(text).toContain('Plan for vmstation-homelab: Kubernetes 1.35.4 via kubespray');
    expect(text).toContain('dry run: nothing was changed');
  });
});
