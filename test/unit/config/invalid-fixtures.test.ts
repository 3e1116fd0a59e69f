// Every file under test/fixtures/invalid must be rejected with the error code, line and column
// named on its first line (`# expect: CODE at LINE:COL`), exit code 1 and no stack trace. Every
// file under test/fixtures/warnings is accepted (exit 0) with the warning its first line names.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/invalid');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('invalid cluster files', () => {
  it('has a corpus of at least 30 fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of fixtures) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    const m = /^# expect: ([a-z-]+) at (\d+):(\d+)/.exec(text);
    it(`${name} is rejected with ${m?.[1]} at ${m?.[2]}:${m?.[3]}`, async () => {
      expect(m, `${name} must start with "# expect: CODE at LINE:COL"`).not.toBeNull();
      const [, code, line, column] = m!;
      const file = path.join('test/fixtures/invalid', name);

      const text1 = await runCli(['validate', '-f', file]);
      expect(text1.code).toBe(1);
      expect(text1.stderr).toContain(`${file}:${line}:${column}: error[${code}]:`);
      expect(text1.stderr).toMatch(/\n {2}hint: \S/);
      expect(text1.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace

      const json = await runCli(['validate', '-f', file, '--output', 'json']);
      expect(json.code).toBe(1);
      const problems = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(problems).toContainEqual(
        expect.objectContaining({ file, line: Number(line), column: Number(column), severity: 'error', code, hint: expect.any(String), message: expect.any(String) }),
      );
    });
  }
});

const warningsDir = path.resolve(import.meta.dirname, '../../fixtures/warnings');
const warningFixtures = readdirSync(warningsDir).filter((f) => f.endsWith('.yaml')).sort();

describe('cluster files with a warning', () => {
  for (const name of warningFixtures) {
    const text = readFileSync(path.join(warningsDir, name), 'utf8');
    const m = /^# expect-warning: ([a-z0-9-]+) at (\d+):(\d+)/.exec(text);
    it(`${name} is accepted with warning ${m?.[1]} at ${m?.[2]}:${m?.[3]}`, async () => {
      expect(m, `${name} must start with "# expect-warning: CODE at LINE:COL"`).not.toBeNull();
      const [, code, line, column] = m!;
      const file = path.join('test/fixtures/warnings', name);
      const r = await runCli(['validate', '-f', file]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`${file}:${line}:${column}: warning[${code}]:`);
      expect(r.stderr).toMatch(/\n {2}hint: \S/);
      expect(r.stderr).not.toContain('error[');
    });
  }
});

describe('the README counts the fixtures as a reader would', () => {
  it('states how many invalid files there are, how many error codes they cover, and how many warning files', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8').replace(/\s+/g, ' ');
    const codes = new Set(fixtures.map((f) => /^# expect: ([a-z0-9-]+)/.exec(readFileSync(path.join(dir, f), 'utf8'))?.[1]));
    const stated = /`test\/fixtures\/invalid\/` holds (\d+) invalid files covering (\d+) error codes/.exec(readme);
    expect(stated?.slice(1).map(Number), 'README: "`test/fixtures/invalid/` holds N invalid files covering M error codes"').toEqual([fixtures.length, codes.size]);
    expect(Number(/`test\/fixtures\/warnings\/` holds (\d+) files/.exec(readme)?.[1])).toBe(warningFixtures.length);
  });
});
