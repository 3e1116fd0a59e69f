// How the one handler prints errors: several hints and a docs link; the `cause` chain and the
// stacks only with --debug (issue 16 §4). The CLI runs in-process on a real file-system failure.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { handleError } from '../../../src/cli/main.js';
import { ExitCode, VmstationError, formatDebug, formatError } from '../../../src/errors.js';
import { runCli } from '../../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function capture() {
  const stderr = new PassThrough();
  const out = { text: '' };
  stderr.on('data', (c: Buffer) => (out.text += c.toString()));
  return { io: { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env: {}, cwd: '/', isTTY: false }, out };
}

describe('error output', () => {
  it('prints every hint on its own line, then the docs section', () => {
    const err = new VmstationError({ code: 'x', message: 'it failed', hint: 'first', hints: ['second', 'third'], docs: 'docs/host-layer.md#ssh-host-keys', details: ['detail'] });
    expect(err.hint).toBe('first');
    expect(err.hints).toEqual(['first', 'second', 'third']);
    expect(formatError(err)).toBe('error[x]: it failed\n  detail\n  hint: first\n  hint: second\n  hint: third\n  docs: docs/host-layer.md#ssh-host-keys');
    expect(formatError(new VmstationError({ code: 'y', message: 'm', hints: ['only'] }))).toBe('error[y]: m\n  hint: only');
  });

  it('render -o under a file: the message and hint without --debug, no cause and no stack', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-errors-'));
    writeFileSync(path.join(dir, 'plain-file'), 'x');
    const r = await runCli(['render', '-f', path.join(ROOT, 'examples/vmstation.yaml'), '-o', 'plain-file/out'], { cwd: dir });
    expect(r.code).toBe(ExitCode.userError);
    expect(r.stderr).toBe('error[render-target-unreadable]: cannot read plain-file/out: ENOTDIR\n  hint: choose another folder with -o\n');
    expect(r.stderr).not.toContain('caused by');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('render -o under a file with --debug: the stack, then the cause with its own stack', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-errors-'));
    writeFileSync(path.join(dir, 'plain-file'), 'x');
    const r = await runCli(['--debug', 'render', '-f', path.join(ROOT, 'examples/vmstation.yaml'), '-o', 'plain-file/out'], { cwd: dir });
    expect(r.code).toBe(ExitCode.userError);
    const lines = r.stderr.split('\n');
    const first = lines.findIndex((l) => l.startsWith('VmstationError: '));
    const cause = lines.findIndex((l) => /^caused by: Error: ENOTDIR: not a directory/.test(l));
    expect(first).toBeGreaterThan(0);
    expect(cause).toBeGreaterThan(first);
    expect(lines.slice(first + 1, cause).some((l) => /^\s+at /.test(l))).toBe(true);
  });

  it('--debug follows a chain of causes, stops at a loop, and prints non-Error causes', () => {
    const root = new Error('socket hang up');
    const mid = new Error('GET /api failed', { cause: root });
    const top = new VmstationError({ code: 'api', message: 'cannot reach the API', hint: 'check the server', cause: mid });
    const { io, out } = capture();
    expect(handleError(top, io, true)).toBe(ExitCode.userError);
    expect(out.text).toMatch(/^error\[api\]: cannot reach the API\n {2}hint: check the server\nVmstationError: cannot reach the API\n/);
    expect(out.text).toMatch(/\ncaused by: Error: GET \/api failed\n\s+at /);
    expect(out.text).toMatch(/\ncaused by: Error: socket hang up\n\s+at /);
    expect(out.text.indexOf('GET /api failed')).toBeLessThan(out.text.indexOf('socket hang up'));

    const a = new Error('a');
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(formatDebug(a).split('\n').filter((l) => l.startsWith('caused by'))).toEqual(['caused by: ' + (b.stack ?? '').split('\n')[0], 'caused by: (the same error again: the chain is a loop)']);
    expect(formatDebug(new Error('e', { cause: 'a plain string' }))).toMatch(/\ncaused by: a plain string$/);
  });

  it('an internal error prints its cause only with --debug', () => {
    const bug = new TypeError('x is undefined', { cause: new RangeError('index 9 out of range') });
    const quiet = capture();
    expect(handleError(bug, quiet.io, false)).toBe(ExitCode.internal);
    expect(quiet.out.text).not.toContain('index 9');
    expect(quiet.out.text).not.toMatch(/^\s+at /m);
    const loud = capture();
    handleError(bug, loud.io, true);
    expect(loud.out.text).toMatch(/caused by: RangeError: index 9 out of range/);
  });

  it('every docs link an error carries names a section that exists', () => {
    const links = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/'(docs\/[\w.-]+\.md#[\w-]+)'/g)) links.add(m[1]!);
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(links.size).toBeGreaterThan(0);
    for (const link of links) {
      const [file, anchor] = link.split('#') as [string, string];
      // GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped.
      const anchors = readFileSync(path.join(ROOT, file), 'utf8')
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => l.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s/g, '-'));
      expect(anchors, link).toContain(anchor);
    }
  });
});
