import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { classifyIpmiFailure, IpmiDriver, IpmiError } from '../../../src/power/drivers/ipmi.js';
import { createRunner, type RunResult, type SpawnFn } from '../../../src/adapters/process/index.js';
import { mapSecrets } from '../../../src/power/drivers/secrets.js';

const bmc = { address: '10.78.0.162', port: 623, cipherSuite: 3, username: { secret: 'bmc-user' }, password: { secret: 'bmc-pass' } };

/** A spawn that records argv/env and answers like ipmitool would. */
function recordingSpawn(answer: { code: number; stdout?: string; stderr?: string }) {
  const calls: Array<{ command: string; args: readonly string[]; env: NodeJS.ProcessEnv | undefined }> = [];
  const spawn: SpawnFn = (command, args, options) => {
    calls.push({ command, args, env: options.env });
    const child = new EventEmitter() as ChildProcess;
    const out = new PassThrough();
    const err = new PassThrough();
    Object.assign(child, { stdout: out, stderr: err, kill: () => true });
    setImmediate(() => {
      out.end(answer.stdout ?? '');
      err.end(answer.stderr ?? '');
      child.emit('close', answer.code, null);
    });
    return child;
  };
  return { spawn, calls };
}

describe('IpmiDriver', () => {
  it('runs ipmitool lanplus with the password only in IPMI_PASSWORD, never in argv', async () => {
    const { spawn, calls } = recordingSpawn({ code: 0, stdout: 'Chassis Power Control: Up/On\n' });
    const driver = new IpmiDriver(createRunner({ spawn, baseEnv: {} }), mapSecrets({ 'bmc-user': 'admin', 'bmc-pass': 's3cret-pw' }));
    await driver.powerOn(bmc);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.command).toBe('ipmitool');
    expect(calls[0]!.args).toEqual(['-I', 'lanplus', '-C', '3', '-H', '10.78.0.162', '-p', '623', '-U', 'admin', '-E', 'chassis', 'power', 'on']);
    expect(calls[0]!.args.join(' ')).not.toContain('s3cret-pw');
    expect(calls[0]!.env?.IPMI_PASSWORD).toBe('s3cret-pw');
  });

  it('reads the chassis power state', async () => {
    const { spawn } = recordingSpawn({ code: 0, stdout: 'Chassis Power is off\n' });
    const driver = new IpmiDriver(createRunner({ spawn, baseEnv: {} }), mapSecrets({ 'bmc-user': 'admin', 'bmc-pass': 'x' }));
    expect(await driver.status(bmc)).toBe('off');
  });

  it('fails with credentials-missing before running anything when a secret is absent', async () => {
    const { spawn, calls } = recordingSpawn({ code: 0 });
    const driver = new IpmiDriver(createRunner({ spawn, baseEnv: {} }), mapSecrets({ 'bmc-user': 'admin' }));
    const err = await driver.powerOn(bmc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpmiError);
    expect((err as IpmiError).kind).toBe('credentials-missing');
    expect(calls).toHaveLength(0);
  });

  it('maps failures to kinds with the relevant lines (real ipmitool output)', async () => {
    const { spawn } = recordingSpawn({ code: 1, stderr: 'Error: Unable to establish IPMI v2 / RMCP+ session\n' });
    const driver = new IpmiDriver(createRunner({ spawn, baseEnv: {} }), mapSecrets({ 'bmc-user': 'admin', 'bmc-pass': 'x' }));
    const err = (await driver.powerOn(bmc).catch((e: unknown) => e)) as IpmiError;
    expect(err.kind).toBe('unreachable');
    expect(err.details).toEqual(['Error: Unable to establish IPMI v2 / RMCP+ session']);
  });

  it('classifies known ipmitool failure output', () => {
    const r = (stderr: string, extra: Partial<RunResult> = {}): RunResult => ({ command: 'ipmitool', args: [], exitCode: 1, signal: null, timedOut: false, aborted: false, stdout: '', stderr, output: stderr, truncated: false, durationMs: 1, ...extra });
    expect(classifyIpmiFailure(r('Error in open session response message : invalid authentication algorithm\n\nError: Unable to establish IPMI v2 / RMCP+ session'))).toBe('unreachable');
    expect(classifyIpmiFailure(r('> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session'))).toBe('auth');
    expect(classifyIpmiFailure(r('', { timedOut: true, exitCode: null }))).toBe('timeout');
    expect(classifyIpmiFailure(r('ipmitool: not installed (not found on PATH)'))).toBe('not-installed');
  });
});

describe('runner', () => {
  it('reports a missing program instead of throwing', async () => {
    const r = await createRunner()('vmstation-no-such-program', []);
    expect(r.exitCode).toBeNull();
    expect(r.stderr).toContain('not installed');
  });

  it('kills a command at its timeout', async () => {
    const r = await createRunner()('sleep', ['5'], { timeoutMs: 100 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
  });
});
