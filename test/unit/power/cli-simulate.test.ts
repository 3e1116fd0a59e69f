// `vmstation power simulate` end to end through the CLI frame.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { root } from './fixtures.js';

const example = path.join(root, 'examples/vmstation.yaml');
const media = path.join(root, 'examples/traces/media-week.jsonl');

function tmpFile(name: string, text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vmstation-sim-')), name);
  writeFileSync(file, text);
  return file;
}

describe('vmstation power simulate', () => {
  it('prints the energy ledger, captured share, wakes and latency', async () => {
    const r = await runCli(['power', 'simulate', '-f', example, '--trace', media]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^energy used\s+\d+\.\d\d kWh$/m);
    expect(r.stdout).toMatch(/^saved\s+.* of the oracle's .*: (9\d|100)\.\d% captured$/m);
    // predict is on by default: 4 wakes ahead in the week (3 unused), one wait fewer than reactive (13).
    expect(r.stdout).toMatch(/^demands\s+29: 12 waited for a node, 0 missed$/m);
    expect(r.stdout).toMatch(/^predicted wakes\s+4, 3 unused$/m);
    expect(r.stdout).toMatch(/^latency\s+p50 45 s, p95 45 s, max 45 s/m);
    expect(r.stdout).toMatch(/^storagenodet3500\s+yes\s+/m);
  });

  it('--output json has the documented fields', async () => {
    const r = await runCli(['power', 'simulate', '-f', example, '--trace', media, '--output', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of ['energyKwh', 'alwaysOnKwh', 'oracleKwh', 'capturedShare', 'wakes', 'latencySeconds', 'missedDemands']) expect(report).toHaveProperty(key);
    expect(report.capturedShare).toBeGreaterThanOrEqual(0.9);
    expect(report.capturedShare).toBeLessThanOrEqual(1);
    expect(report.missedDemands).toBe(0);
    expect(report.latencySeconds).toEqual({ p50: 45, p95: 45, max: 45 });
    expect(report).not.toHaveProperty('transitions');
  });

  it('--transitions lists every action with its reason', async () => {
    const r = await runCli(['power', 'simulate', '-f', example, '--trace', media, '--transitions']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2026-03-02T12:45:00Z\s+storagenodet3500\s+wake\s+gateway wake request: request for jellyfin \(wake gateway\)$/m);
    expect(r.stdout).toMatch(/^2026-03-02T00:30:00Z\s+homelab\s+sleep\s+idle 30m \(since controller started observing\) >= idleAfter 30m/m);
  });

  it('a bad trace line is an error naming the file and line, exit 1', async () => {
    const lines = readFileSync(media, 'utf8').split('\n');
    lines.splice(3, 0, '{"t":"2026-03-02T19:30:00Z","kind":"request","app":"jellyfin","seconds":"ten"}');
    const bad = tmpFile('bad.jsonl', lines.join('\n'));
    const r = await runCli(['power', 'simulate', '-f', example, '--trace', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}:4:1: error[invalid-trace]: "seconds" must be a positive number`);
  });

  it('a missing trace file is an error, a missing --trace is bad usage', async () => {
    const missing = await runCli(['power', 'simulate', '-f', example, '--trace', '/nonexistent/trace.jsonl']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error[trace-not-found]: /nonexistent/trace.jsonl: no such file');
    expect((await runCli(['power', 'simulate', '-f', example])).code).toBe(2);
  });

  it('a window with a bad cron or time zone is an error before simulating', async () => {
    const text = readFileSync(example, 'utf8').replace('    minAwake: 15m\n', '    minAwake: 15m\n    timezone: Mars/Olympus\n    keepAwake:\n      - { start: "0 19 * * *", duration: 1h }\n');
    const r = await runCli(['power', 'simulate', '-f', tmpFile('c.yaml', text), '--trace', media]);
    expect(r.code).toBe(1);
    // The cluster file's own validation catches it first, with its place in the file.
    expect(r.stderr).toMatch(/c\.yaml:\d+:\d+: error\[invalid-timezone\]: "Mars\/Olympus" is not a time zone/);
    const cron = readFileSync(example, 'utf8').replace('    minAwake: 15m\n', '    minAwake: 15m\n    quietHours:\n      - { start: "every evening", duration: 1h }\n');
    const r2 = await runCli(['power', 'simulate', '-f', tmpFile('c.yaml', cron), '--trace', media]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/c\.yaml:\d+:\d+: error\[invalid-cron\]: "every evening" has 2 field\(s\); cron needs 5/);
  });
});
