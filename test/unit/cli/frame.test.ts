import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { handleError } from '../../../src/cli/main.js';
import { ExitCode, VmstationError } from '../../../src/errors.js';
import { runCli } from '../../helpers/cli.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'vmstation-cli-'));

describe('exit codes and errors', () => {
  it('validate of the example exits 0 and prints a summary', async () => {
    const r = await runCli(['validate', '-f', 'examples/vmstation.yaml']);
    expect(r.code).toBe(ExitCode.ok);
    expect(r.stdout).toContain('examples/vmstation.yaml: valid');
    expect(r.stdout).toMatch(/masternode\s+192\.168\.4\.63\s+debian-12\s+control-plane\s+always on/);
    expect(r.stdout).toContain('Kubernetes 1.35.4 via kubespray');
    expect(r.stdout).toContain('Apps: jellyfin on storagenodet3500 :30096 (wakes on request through gateway :40096)');
  });

  it('bad usage exits 2', async () => {
    expect((await runCli(['validate', '--no-such-flag'])).code).toBe(ExitCode.usage);
    expect((await runCli(['frobnicate'])).code).toBe(ExitCode.usage);
    expect((await runCli(['validate', '--output', 'xml'])).code).toBe(ExitCode.usage);
  });

  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('validate');
    expect((await runCli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a missing file says how to create one', async () => {
    const r = await runCli(['validate'], { cwd: tmp() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[file-not-found]: vmstation.yaml: no such file');
    expect(r.stderr).toContain('vmstation init');
  });

  it('an internal bug exits 70, says it is a bug, shows the stack only with --debug', () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (c: Buffer) => (text += c.toString()));
    const io = { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env: {}, cwd: '/', isTTY: false };
    expect(handleError(new TypeError('x is undefined'), io, false)).toBe(ExitCode.internal);
    expect(text).toContain('error[internal]: internal error: x is undefined');
    expect(text).toContain('this is a bug in vmstation');
    expect(text).not.toContain('    at ');
    text = '';
    handleError(new TypeError('x is undefined'), io, true);
    expect(text).toContain('    at ');
  });

  it('a user error keeps its own exit code and hint', () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (c: Buffer) => (text += c.toString()));
    const io = { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env: {}, cwd: '/', isTTY: false };
    const err = new VmstationError({ code: 'deploy-partial', message: 'phase kubernetes failed', hint: 'run deploy again to resume', exitCode: ExitCode.partial, location: { file: 'a.yaml', line: 3, column: 5 } });
    expect(handleError(err, io, false)).toBe(3);
    expect(text).toBe('a.yaml:3:5: error[deploy-partial]: phase kubernetes failed\n  hint: run deploy again to resume\n');
  });
});

describe('vmstation init', () => {
  it('writes a commented starter file that validates', async () => {
    const dir = tmp();
    const r = await runCli(['init', '--name', 'mylab', '--nodes', 'cp1=10.1.2.10,w1=10.1.2.11,w2=10.1.2.12/worker'], { cwd: dir });
    expect(r.code).toBe(0);
    const text = readFileSync(path.join(dir, 'vmstation.yaml'), 'utf8');
    expect(text).toContain('# VMStation cluster file');
    expect(text).toContain('name: mylab');
    const v = await runCli(['validate'], { cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/cp1\s+10\.1\.2\.10\s+debian-12\s+control-plane/);
    expect(v.stdout).toMatch(/w2\s+10\.1\.2\.12\s+debian-12\s+worker/);
  });

  it('refuses to overwrite an existing file', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'vmstation.yaml'), 'mine\n');
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[file-exists]');
    expect(readFileSync(path.join(dir, 'vmstation.yaml'), 'utf8')).toBe('mine\n');
  });

  it('rejects a malformed --nodes list as bad usage', async () => {
    const r = await runCli(['init', '--nodes', 'cp1:10.0.0.1'], { cwd: tmp() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('NAME=ADDRESS');
  });
});
