// The one subprocess runner, against real processes (sh, true, false, sleep, cat): exit codes,
// signals, stdin, environment, working folder, timeout, abort, output limits, extra pipes and a
// program that is not installed.
import { spawn as defaultSpawn } from 'node:child_process';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunner, describeFailure, relevantLines, runProcess, type SpawnFn } from '../../../src/adapters/process/index.js';

describe('process runner', () => {
  it('reports exit codes of true and false', async () => {
    const ok = await runProcess('true', []);
    expect(ok).toMatchObject({ exitCode: 0, signal: null, timedOut: false, aborted: false, truncated: false, stdout: '', stderr: '' });
    expect(ok.spawnError).toBeUndefined();
    const failed = await runProcess('false', []);
    expect(failed.exitCode).toBe(1);
    expect(describeFailure(failed)).toBe('exit code 1');
    expect((await runProcess('sh', ['-c', 'exit 7'])).exitCode).toBe(7);
  });

  it('keeps stdout and stderr apart and interleaves them in output', async () => {
    const r = await runProcess('sh', ['-c', 'echo one; echo two >&2; echo three']);
    expect(r.stdout).toBe('one\nthree\n');
    expect(r.stderr).toBe('two\n');
    // Two pipes have no common order under load; each stream keeps its own.
    expect(r.output.length).toBe(r.stdout.length + r.stderr.length);
    expect(r.output.replace('two\n', '')).toBe('one\nthree\n');
  });

  it('closes stdin unless given, and writes the given stdin', async () => {
    // With stdin closed, cat reads end-of-file at once instead of waiting for a person.
    expect((await runProcess('cat', [])).stdout).toBe('');
    const r = await runProcess('cat', [], { stdin: 'secret line\nsecond\n' });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'secret line\nsecond\n' });
    expect((await runProcess('sh', ['-c', 'wc -c'], { stdin: Buffer.alloc(100_000, 65) })).stdout.trim()).toBe('100000');
  });

  it('survives a program that exits without reading its stdin', async () => {
    const r = await runProcess('true', [], { stdin: Buffer.alloc(1_000_000, 65) });
    expect(r.exitCode).toBe(0);
  });

  it('merges the extra environment over the base environment', async () => {
    const run = createRunner({ baseEnv: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', KEEP: 'base', OVER: 'base' } });
    const r = await run('sh', ['-c', 'echo "$KEEP $OVER $ADDED"'], { env: { OVER: 'extra', ADDED: 'yes' } });
    expect(r.stdout).toBe('base extra yes\n');
  });

  it('runs in the given working folder', async () => {
    const dir = realpathSync(mkdtempSync(path.join(tmpdir(), 'vmstation-runner-')));
    expect((await runProcess('sh', ['-c', 'pwd'], { cwd: dir })).stdout.trim()).toBe(dir);
  });

  it('kills at the timeout with SIGKILL by default, or with the signal asked for', async () => {
    const r = await runProcess('sleep', ['30'], { timeoutMs: 100 });
    expect(r).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    expect(describeFailure(r, 100)).toBe('timed out after 100 ms');
    const term = await runProcess('sleep', ['30'], { timeoutMs: 100, killSignal: 'SIGTERM' });
    expect(term).toMatchObject({ timedOut: true, signal: 'SIGTERM' });
  });

  it('reports a program killed by a signal it did not expect', async () => {
    const r = await runProcess('sh', ['-c', 'kill -TERM $$']);
    expect(r).toMatchObject({ exitCode: null, signal: 'SIGTERM', timedOut: false, aborted: false });
    expect(describeFailure(r)).toBe('killed by SIGTERM');
  });

  it('stops a program when its AbortSignal aborts, also when it was aborted before the start', async () => {
    const controller = new AbortController();
    const running = runProcess('sleep', ['30'], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await running).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGKILL' });
    const r = await runProcess('sleep', ['30'], { signal: AbortSignal.abort() });
    expect(r).toMatchObject({ aborted: true, exitCode: null });
    expect(describeFailure(r)).toBe('aborted');
  });

  it('keeps at most maxOutputChars of each stream, while callbacks see everything', async () => {
    let seen = 0;
    const r = await runProcess('sh', ['-c', 'head -c 200000 /dev/zero | tr "\\0" x; echo err >&2'], { maxOutputChars: 1000, onStdout: (c) => (seen += c.length) });
    expect(r.exitCode).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.stdout).toBe('x'.repeat(1000));
    expect(r.output.length).toBe(1000);
    expect(r.stderr).toBe('err\n');
    expect(seen).toBe(200_000);
  });

  it('reads extra pipes from fd 3 on', async () => {
    const fd3: string[] = [];
    const fd4: string[] = [];
    const r = await runProcess('sh', ['-c', 'echo event >&3; echo other >&4; echo out'], { extraPipes: [(c) => fd3.push(c), (c) => fd4.push(c)] });
    expect(r.stdout).toBe('out\n');
    expect(fd3.join('')).toBe('event\n');
    expect(fd4.join('')).toBe('other\n');
  });

  it('reports a program that is not installed instead of throwing', async () => {
    const r = await runProcess('vmstation-no-such-program', ['x']);
    expect(r).toMatchObject({ exitCode: null, spawnError: { code: 'ENOENT' } });
    expect(r.stderr).toBe('vmstation-no-such-program: not installed (not found on PATH)');
    expect(describeFailure(r)).toBe('vmstation-no-such-program: not installed (not found on PATH)');
  });

  it('passes argv without a shell and measures the duration with the injected clock', async () => {
    let t = 1000;
    const calls: { command: string; args: readonly string[] }[] = [];
    const spawnRecording: SpawnFn = (command, args, options) => {
      calls.push({ command, args });
      t += 250;
      return defaultSpawn(command, args, options);
    };
    const r = await createRunner({ spawn: spawnRecording, now: () => t })('echo', ['$HOME', '; true']);
    expect(calls).toEqual([{ command: 'echo', args: ['$HOME', '; true'] }]);
    expect(r.stdout).toBe('$HOME ; true\n');
    expect(r.durationMs).toBe(250);
  });

  it('quotes the last non-empty lines', () => {
    expect(relevantLines('a\n\n b \nc\nd\n', 2)).toEqual(['c', 'd']);
  });
});
