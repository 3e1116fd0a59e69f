// `vmstation validate` as users run it: bin/vmstation.js starts that verb from its bundle
// (dist/bundle/validate/, scripts/bundle-validate.js; issue 16 §7). Its output must be the CLI's
// to the byte: for every fixture and the example, the built command (a real process, after a
// real `npm run build`) prints the same stdout and stderr and exits with the same code as the CLI
// run in-process from the sources, in text and in JSON. The schema-invalid fixtures also take the
// path where the bundle imports zod on demand.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

const files = [
  ...['valid', 'invalid', 'warnings'].flatMap((d) =>
    readdirSync(path.join(ROOT, 'test/fixtures', d))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => path.join('test/fixtures', d, f)),
  ),
  'examples/vmstation.yaml',
  'test/fixtures/no-such-file.yaml',
].sort();

async function built(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // The same environment as runCli's: none (no vault password file from the caller's shell).
  return run(process.execPath, [path.join(ROOT, 'bin/vmstation.js'), ...args], { cwd: ROOT, env: {}, maxBuffer: 64 * 2 ** 20 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('the built `vmstation validate` (its bundle) prints what the CLI prints', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    expect(existsSync(path.join(ROOT, 'dist/bundle/validate/main.js'))).toBe(true);
  }, 300_000);

  it('covers valid, invalid and warning fixtures', () => {
    expect(files.filter((f) => f.includes('/invalid/')).length).toBeGreaterThanOrEqual(30);
    expect(files.filter((f) => f.includes('/warnings/')).length).toBeGreaterThan(5);
  });

  it.each(files)('%s', async (file) => {
    for (const args of [['validate', '-f', file], ['validate', '-f', file, '--output', 'json']]) {
      const [fromBundle, inProcess] = await Promise.all([built(args), runCli(args, { cwd: ROOT })]);
      expect(fromBundle).toEqual(inProcess);
    }
  }, 60_000);
});
