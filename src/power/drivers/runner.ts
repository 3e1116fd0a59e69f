// The one subprocess runner of the power drivers: non-interactive (stdin closed), a timeout, a
// result with exit code, output and duration. `spawn` is injected so tests can record argv/env.
import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface RunOptions {
  /** Extra environment (merged over the runner's base environment). Secrets go here, never in argv. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Working folder of the command (default: this process's). */
  cwd?: string;
}

export interface RunResult {
  command: string;
  args: readonly string[];
  /** null when killed by a signal or the timeout. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export type Runner = (command: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface RunnerDeps {
  spawn?: SpawnFn;
  now?: () => number;
  baseEnv?: NodeJS.ProcessEnv;
}

export function createRunner(deps: RunnerDeps = {}): Runner {
  const spawn = deps.spawn ?? (nodeSpawn as SpawnFn);
  const now = deps.now ?? Date.now;
  const baseEnv = deps.baseEnv ?? process.env;
  return (command, args, opts = {}) =>
    new Promise<RunResult>((resolve) => {
      const started = now();
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let settled = false;
      const settle = (exitCode: number | null, signal: NodeJS.Signals | null, extraErr = '') => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        resolve({ command, args, exitCode, signal, timedOut, stdout, stderr: stderr + extraErr, durationMs: now() - started });
      };
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...baseEnv, ...opts.env }, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, opts.timeoutMs);
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      child.on('error', (err: NodeJS.ErrnoException) => settle(null, null, `${command}: ${err.code === 'ENOENT' ? 'not installed (not found on PATH)' : err.message}`));
      child.on('close', (code, signal) => settle(code, signal));
    });
}

/** The last few non-empty lines of a tool's output, for error messages. */
export function relevantLines(text: string, max = 3): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-max);
}
