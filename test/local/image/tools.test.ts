import { mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRunner } from '../../../src/adapters/process/index.js';
import { BUILD_TOOLS, missingToolsError, requireBuildTools } from '../../../src/image/tools.js';
import { formatError, VmstationError } from '../../../src/errors.js';

/** A PATH holding every build tool of this machine except the ones named. */
function pathWithout(...skip: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-path-'));
  for (const t of BUILD_TOOLS) if (!skip.includes(t.tool)) symlinkSync(path.join(t.tool === 'npm' ? path.dirname(process.execPath) : '/usr/bin', t.tool), path.join(dir, t.tool));
  // the tools' own interpreters (mmdebstrap is Perl, npm is Node.js)
  for (const t of ['perl', 'node', 'sh', 'env']) if (!skip.includes(t)) symlinkSync(path.join(t === 'node' ? path.dirname(process.execPath) : '/usr/bin', t), path.join(dir, t));
  return dir;
}

describe('the image build tools', () => {
  it('a build without mmdebstrap or umoci names the packages and the install command (real PATH lookups)', async () => {
    const run = createRunner({ baseEnv: { PATH: pathWithout('mmdebstrap', 'umoci') } });
    const err = await requireBuildTools(run).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VmstationError);
    const text = formatError(err as VmstationError);
    expect(text).toContain('error[image-tools-missing]');
    expect(text).toContain('mmdebstrap (Debian package mmdebstrap');
    expect(text).toContain('umoci (Debian package umoci');
    expect(text).not.toContain('skopeo (');
    expect(text).toContain('hint: install them: apt-get install -y --no-install-recommends mmdebstrap umoci');
    expect((err as VmstationError).exitCode).toBe(1);
  });

  it('passes when every tool is on PATH', async () => {
    await expect(requireBuildTools(createRunner({ baseEnv: { PATH: pathWithout() } }))).resolves.toBeUndefined();
  });

  it('one missing tool: "install it"', () => {
    expect(missingToolsError([BUILD_TOOLS[2]]).hint).toBe('install it: apt-get install -y --no-install-recommends skopeo');
  });
});

describe('vmstation image build (CLI)', () => {
  it('stops before doing anything when a tool is missing: exit 1, the packages named, nothing written', async () => {
    const { run } = await import('../../../src/cli/main.js');
    const { PassThrough } = await import('node:stream');
    const out = mkdtempSync(path.join(os.tmpdir(), 'vmstation-image-out-'));
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (d: Buffer) => (text += d.toString()));
    const code = await run(['node', 'vmstation', 'image', 'build', '--out', path.join(out, 'image'), '--cache-dir', path.join(out, 'cache')], {
      stdout: new PassThrough(),
      stderr,
      stdin: new PassThrough(),
      env: { PATH: pathWithout('mmdebstrap'), HOME: out },
      cwd: out,
      isTTY: false,
    });
    expect(code).toBe(1);
    expect(text).toContain('error[image-tools-missing]: the image build needs mmdebstrap (Debian package mmdebstrap: makes the Debian base), not found on PATH');
    expect(text).toContain('hint: install it: apt-get install -y --no-install-recommends mmdebstrap');
    expect(readdirSync(out)).toEqual([]);
  });
});
