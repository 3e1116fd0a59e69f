// `vmstation deploy --phase host` through the CLI against the lab: the host layer (src/host,
// site.yaml) applied to the three lab hosts with the real ansible-playbook over SSH, host keys
// checked; the state file records the phase, the log file exists.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { labFixture, sshOk } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../src/cli/main.js';
import type { DeployState } from '../../../src/deploy/state.js';

describe('deploy --phase host on the lab', () => {
  it('applies the host layer to every lab host and records the phase', async () => {
    const lab = labFixture();
    const stateRoot = mkdtempSync(path.join(tmpdir(), 'deploy-host-'));
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    let errText = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    err.on('data', (d: Buffer) => (errText += d.toString()));
    // The host layer keeps the power manager's SSH key in the secrets file: one is created beside
    // the lab's cluster file for this run and removed after it (other tests bring their own).
    const vaultPassword = path.join(stateRoot, 'vault-password');
    writeFileSync(vaultPassword, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    const secretsFile = path.join(path.dirname(lab.clusterFile), 'secrets.vault.yaml');
    const hadSecrets = existsSync(secretsFile);
    const started = Date.now();
    const code = await run(['node', 'vmstation', 'deploy', '-f', lab.clusterFile, '--phase', 'host', '--yes'], {
      stdout: out,
      stderr: err,
      stdin: new PassThrough(),
      env: { ...process.env, VMSTATION_STATE_DIR: stateRoot, VMSTATION_VAULT_PASSWORD_FILE: vaultPassword },
      cwd: path.dirname(lab.clusterFile),
      isTTY: false,
    }).finally(() => {
      if (!hadSecrets) rmSync(secretsFile, { force: true });
    });
    console.log(`[deploy --phase host] ${((Date.now() - started) / 1000).toFixed(1)} s\n${text.split('\n').slice(0, 12).join('\n')}`);
    expect(code, `${errText}\n${text}`).toBe(0);
    expect(text).toContain('==> host: Host layer');
    expect(text).toMatch(/ {5}ok \(\d+\.\d s\): 3 host\(s\), \d+ change\(s\)/);
    expect(text).toContain('deploy finished: host (skipped: preflight, kubernetes, addons, monitoring, infrastructure, power, verify)');
    const state = JSON.parse(readFileSync(path.join(stateRoot, 'vmstation-lab', 'deploy-state.json'), 'utf8')) as DeployState;
    expect(state.phases.host).toMatchObject({ status: 'done', steps: ['host/site'] });
    expect(Object.keys(state.phases)).toEqual(['host']);
    expect(existsSync(state.logFile)).toBe(true);
    // What the host layer manages is in place: chrony on the server node serves the lab.
    for (const n of lab.nodes) expect((await sshOk(n.name, 'systemctl is-active chrony rsyslog')).trim()).toBe('active\nactive');
  }, 600_000);
});
