// The one subprocess runner of VMStation (power drivers, the image build, ansible-playbook,
// Kubespray's git/pip, ssh-keyscan, kubeconfig exec plugins). Never a shell, never interactive
// (stdin closed unless the caller gives its content), a timeout and an AbortSignal, bounded
// output, and a result with exit code, signal, output and duration instead of a thrown error.
// `spawn` is injected so tests can record argv/env.
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface RunOptions {
  /** Extra environment (merged over the runner's base environment). Secrets go here, never in argv. */
  env?: NodeJS.ProcessEnv;
  /** Working folder of the command (default: this process's). */
  cwd?: string;
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string | Buffer;
  /** Kill the program after this long (with `killSignal`); the result says `timedOut`. */
  timeoutMs?: number;
  /** Kill the program when this aborts (with `killSignal`); the result says `aborted`. */
  signal?: AbortSignal;
  /** How a timeout or an abort kills the program (default SIGKILL). */
  killSignal?: NodeJS.Signals;
  /**
   * Most characters kept of each of stdout, stderr and output (default: all). The program still
   * runs to its end and the `on*` callbacks still see everything; the result says `truncated`.
   */
  maxOutputChars?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Extra pipes from the program: the first is fd 3, the next fd 4, ... (e.g. an events stream). */
  extraPipes?: readonly ((chunk: string) => void)[];
}

export interface RunResult {
  command: string;
  args: readonly string[];
  /** null when killed by a signal, the timeout, or when it could not start. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in the order they arrived. */
  output: string;
  /** True when some output was dropped by `maxOutputChars`. */
  truncated: boolean;
  /** Why the program could not start (ENOENT: not found on PATH); also said in `stderr`. */
  spawnError?: { code: string; message: string };
  durationMs: number;
}

export type Runner = (command: string, args: readonly string[], opts?: RunOptions) => Promise<RunResult>;

export interface RunnerDeps {
  spawn?: SpawnFn;
  now?: () => number;
  /** The environment every run starts from (default: this process's). */
  baseEnv?: NodeJS.ProcessEnv;
}

/** Collects text up to a limit. */
class Capped {
  text = '';
  dropped = false;
  constructor(private readonly max: number) {}
  add(chunk: string): void {
    const room = this.max - this.text.length;
    if (chunk.length <= room) this.text += chunk;
    else {
      if (room > 0) this.text += chunk.slice(0, room);
      this.dropped = true;
    }
  }
}

function spawnFailure(command: string, err: NodeJS.ErrnoException): { code: string; message: string } {
  const code = err.code ?? 'EUNKNOWN';
  return { code, message: `${command}: ${code === 'ENOENT' ? 'not installed (not found on PATH)' : err.message}` };
}

export function createRunner(deps: RunnerDeps = {}): Runner {
  const spawn = deps.spawn ?? (nodeSpawn as SpawnFn);
  const now = deps.now ?? Date.now;
  const baseEnv = deps.baseEnv ?? process.env;
  return (command, args, opts = {}) =>
    new Promise<RunResult>((resolve) => {
      const started = now();
      const max = opts.maxOutputChars ?? Infinity;
      const stdout = new Capped(max);
      const stderr = new Capped(max);
      const output = new Capped(max);
      let timedOut = false;
      let aborted = false;
      let spawnError: RunResult['spawnError'];
      let settled = false;
      const extra = opts.extraPipes ?? [];
      const stdio: SpawnOptions['stdio'] = [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...extra.map(() => 'pipe' as const)];
      const child = spawn(command, args, { stdio, env: { ...baseEnv, ...opts.env }, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
      const kill = () => child.kill(opts.killSignal ?? 'SIGKILL');
      const onAbort = () => {
        aborted = true;
        kill();
      };
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              kill();
            }, opts.timeoutMs);
      const settle = (exitCode: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const truncated = stdout.dropped || stderr.dropped || output.dropped;
        resolve({ command, args, exitCode, signal, timedOut, aborted, stdout: stdout.text, stderr: stderr.text, output: output.text, truncated, ...(spawnError ? { spawnError } : {}), durationMs: now() - started });
      };
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      const collect = (stream: Readable | null | undefined, into: Capped, on: ((chunk: string) => void) | undefined) =>
        stream?.on('data', (d: Buffer) => {
          const t = d.toString('utf8');
          into.add(t);
          output.add(t);
          on?.(t);
        });
      collect(child.stdout, stdout, opts.onStdout);
      collect(child.stderr, stderr, opts.onStderr);
      extra.forEach((on, i) => (child.stdio[3 + i] as Readable | null | undefined)?.on('data', (d: Buffer) => on(d.toString('utf8'))));
      if (opts.stdin !== undefined && child.stdin) {
        // A program that exits without reading its stdin closes the pipe: not an error of ours.
        (child.stdin as Writable).on('error', () => undefined);
        child.stdin.end(opts.stdin);
      }
      child.on('error', (err: NodeJS.ErrnoException) => {
        spawnError = spawnFailure(command, err);
        stderr.add(spawnError.message);
        output.add(spawnError.message);
        settle(null, null);
      });
      child.on('close', (code, signal) => settle(code, signal));
    });
}

/** The runner with this process's environment. */
export const runProcess: Runner = createRunner();

/** The last few non-empty lines of a tool's output, for error messages. */
export function relevantLines(text: string, max = 3): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-max);
}

/** What went wrong, in one phrase: "exit code 2", "killed by SIGTERM", "timed out after 5000 ms". */
export function describeFailure(r: RunResult, timeoutMs?: number): string {
  if (r.spawnError) return r.spawnError.message;
  if (r.timedOut) return `timed out${timeoutMs === undefined ? '' : ` after ${timeoutMs} ms`}`;
  if (r.aborted) return 'aborted';
  if (r.signal) return `killed by ${r.signal}`;
  return `exit code ${String(r.exitCode)}`;
}
