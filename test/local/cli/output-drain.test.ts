// Everything the CLI prints reaches a pipe before it exits. Regression for issue 17 §5: of
// thousands of error lines written to a piped stderr, only a few hundred arrived, because the
// process exited while the asynchronous pipe writes were still queued.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const ROOT = path.resolve('.');

function bigInvalidFile(): string {
  const example = readFileSync(path.join(ROOT, 'examples/vmstation.yaml'), 'utf8');
  const nodes = Array.from({ length: 3000 }, (_, i) => `    - name: n${i}\n      address: 192.168.4.${(i % 200) + 2}\n      mac: "zz"\n      os: debian-12\n      roles: [worker]\n`).join('');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'drain-')), 'big.yaml');
  writeFileSync(file, example.replace('  nodes:\n', `  nodes:\n${nodes}`));
  return file;
}

describe('output to a pipe is complete at exit', { timeout: 120_000 }, () => {
  it('every error line of a large validation reaches a slow reader of stderr', async () => {
    const file = bigInvalidFile();
    const expected = (await runCli(['validate', '-f', file])).stderr;
    expect(expected.split('\n').length).toBeGreaterThan(5000);

    // A real pipe (a shell's |, as a user's `vmstation validate 2>&1 | less`), not the socket pair
    // child_process would make, read only after a while so the pipe fills and the writes queue up.
    const out = path.join(path.dirname(file), 'stderr.txt');
    const script = '"$0" --import "$1" "$2" validate -f "$3" 2>&1 >/dev/null | (sleep 1.5; cat > "$4")';
    const child = spawn('bash', ['-c', `set -o pipefail; ${script}`, process.execPath, import.meta.resolve('tsx'), path.join(ROOT, 'test/local/power/cli-entry.ts'), file, out], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(readFileSync(out, 'utf8')).toBe(expected);
    expect(code).toBe(1);
  });
});
