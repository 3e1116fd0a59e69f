// File-system errors on a path are the user's environment, not a bug: exit 1 with the path and a
// hint, from one translation (src/errors.ts fileSystemError). Regression for issue 16 §1: EACCES,
// EPERM and ENOENT in render, secrets set and deploy printed "internal error ... a bug" (exit 70).
// The CLI runs as a real process; as root it is denied by dropping CAP_DAC_OVERRIDE (setpriv),
// so mode bits apply to it as to any user.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { fileSystemError } from '../../../src/errors.js';

const ROOT = path.resolve('.');
const CLI = ['--import', import.meta.resolve('tsx'), path.join(ROOT, 'test/local/power/cli-entry.ts')];
const run = promisify(execFile);

async function vmstation(cwd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; denied?: boolean } = {}) {
  const cmd = opts.denied ? 'setpriv' : process.execPath;
  const argv = opts.denied ? ['--bounding-set=-dac_override,-dac_read_search', process.execPath, ...CLI, ...args] : [...CLI, ...args];
  const child = run(cmd, argv, { cwd, env: { ...process.env, ...opts.env } });
  child.child.stdin?.end(opts.stdin ?? '');
  return child.then(
    (r) => ({ code: 0, stderr: r.stderr }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
  );
}

function workdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fs-errors-'));
  copyFileSync(path.join(ROOT, 'examples/vmstation.yaml'), path.join(dir, 'vmstation.yaml'));
  writeFileSync(path.join(dir, 'vault-pass'), 'test-password\n', { mode: 0o600 });
  mkdirSync(path.join(dir, 'locked'), { mode: 0o555 });
  chmodSync(path.join(dir, 'locked'), 0o555);
  return dir;
}

describe('file-system errors are user errors (exit 1, the path, a hint)', { timeout: 90_000 }, () => {
  it('render -o into a folder the user may not write: EACCES', async () => {
    const dir = workdir();
    const r = await vmstation(dir, ['render', '-o', 'locked/out'], { denied: true });
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).toMatch(/^error\[file-system\]: mkdir \S+\/locked\/out\.tmp-[0-9a-f]+: permission denied \(EACCES\)$/m);
    expect(r.stderr).toContain(`hint: check the owner and mode of ${path.join(dir, 'locked')} and its folders`);
    expect(r.code).toBe(1);
  });

  it('secrets set in a folder that does not exist: ENOENT', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'elsewhere.yaml'), (await import('node:fs')).readFileSync(path.join(dir, 'vmstation.yaml'), 'utf8').replace('file: secrets.vault.yaml', 'file: missing/secrets.vault.yaml'));
    const r = await vmstation(dir, ['secrets', 'set', 'grafana-admin-password', '-f', 'elsewhere.yaml', '--vault-password-file', 'vault-pass'], { stdin: 's3cret\n' });
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).toMatch(/^error\[file-system\]: (open|mkdir) \S+\/missing\/secrets\.vault\.yaml\S*: no such file or folder \(ENOENT\)$/m);
    expect(r.stderr).not.toContain('s3cret');
    expect(r.code).toBe(1);
  });

  it('secrets set in a folder the user may not write: EACCES', async () => {
    const dir = workdir();
    writeFileSync(path.join(dir, 'locked.yaml'), (await import('node:fs')).readFileSync(path.join(dir, 'vmstation.yaml'), 'utf8').replace('file: secrets.vault.yaml', 'file: locked/secrets.vault.yaml'));
    const r = await vmstation(dir, ['secrets', 'set', 'grafana-admin-password', '-f', 'locked.yaml', '--vault-password-file', 'vault-pass'], { stdin: 's3cret\n', denied: true });
    expect(r.stderr).toMatch(/^error\[file-system\]: (open|mkdir) \S+\/locked\/secrets\.vault\.yaml\S*: permission denied \(EACCES\)$/m);
    expect(r.code).toBe(1);
  });

  it('deploy with a state folder the user may not write: EACCES before anything runs', async () => {
    const dir = workdir();
    const r = await vmstation(dir, ['deploy', '--yes'], { env: { VMSTATION_STATE_DIR: path.join(dir, 'locked') }, denied: true });
    expect(r.stderr).not.toContain('internal error');
    expect(r.stderr).toMatch(/^error\[file-system\]: mkdir \S+\/locked\/vmstation-homelab: permission denied \(EACCES\)$/m);
    expect(r.code).toBe(1);
  });
});

describe('fileSystemError (the one translation)', () => {
  const errno = (code: string, syscall: string, p?: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(p ? { path: p } : {}) });

  it('maps the codes of a path to a message and a hint; the folder for entry-changing calls', () => {
    expect(fileSystemError(errno('EPERM', 'rename', '/srv/a/b.tmp'))).toMatchObject({ code: 'file-system', exitCode: 1, message: 'rename /srv/a/b.tmp: operation not permitted (EPERM)', hint: expect.stringContaining('/srv/a ') as string });
    expect(fileSystemError(errno('EACCES', 'open', '/srv/a/b'))?.hint).toContain('/srv/a/b ');
    expect(fileSystemError(errno('ENOSPC', 'write', '/srv/a/b'))?.message).toBe('write /srv/a/b: no space left on the device (ENOSPC)');
  });

  it('leaves everything else alone (no path, unknown code, not an Error)', () => {
    expect(fileSystemError(errno('EACCES', 'open'))).toBeUndefined();
    expect(fileSystemError(errno('ECONNREFUSED', 'connect', '/x'))).toBeUndefined();
    expect(fileSystemError('EACCES')).toBeUndefined();
  });
});

describe('input limits (issue 17 §5)', () => {
  it('a cluster file over 4 MiB is refused before it is parsed, exit 1', async () => {
    const { runCli } = await import('../../helpers/cli.js');
    const dir = mkdtempSync(path.join(tmpdir(), 'too-large-'));
    const file = path.join(dir, 'huge.yaml');
    writeFileSync(file, `# ${'x'.repeat(4 * 2 ** 20)}\n`);
    const started = Date.now();
    const r = await runCli(['validate', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[file-too-large]: ');
    expect(r.stderr).toContain('may be at most 4 MiB');
    expect(Date.now() - started).toBeLessThan(20_000); // refused by its size, not after parsing it
  });
});
