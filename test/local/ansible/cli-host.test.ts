// The `host` verb: listed in help, refuses unknown tags and a Kerberos run without the vault password.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { ROOT } from '../../unit/ansible/clusters.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-cli-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const example = readFileSync(path.join(ROOT, 'examples/vmstation.yaml'), 'utf8');

describe('vmstation host', () => {
  it('is listed in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/^\s+host\b.*host layer/m);
  });

  it('refuses an unknown tag', async () => {
    writeFileSync(path.join(dir, 'vmstation.yaml'), example);
    const r = await runCli(['host', '--tags', 'ntp,dns', '--work-dir', path.join(dir, 'work')], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[unknown-tag]: unknown host-layer tag dns');
  });

  it('needs the vault password when Kerberos is on', async () => {
    writeFileSync(path.join(dir, 'krb.yaml'), example.replace(/kerberos:\n(\s+)enabled: false/, 'kerberos:\n$1enabled: true'));
    const r = await runCli(['host', '-f', 'krb.yaml', '--work-dir', path.join(dir, 'work')], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[vault-password-missing]');
  });
});
