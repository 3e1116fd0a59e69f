// Our vault files and Debian's real `ansible-vault` must read each other's output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SecretsFile, VAULT_HEADER } from '../../../src/secrets/store.js';
import { runCli } from '../../helpers/cli.js';

function workdir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-vault-'));
  const pw = path.join(dir, 'pw');
  writeFileSync(pw, 'correct horse battery staple\n', { mode: 0o600 });
  const bad = path.join(dir, 'bad-pw');
  writeFileSync(bad, 'wrong password\n', { mode: 0o600 });
  return { dir, pw, bad, vault: path.join(dir, 'secrets.vault.yaml') };
}

const ansibleVault = (args: string[], cwd: string) => execFileSync('ansible-vault', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('Ansible Vault compatibility', () => {
  it('reads a file encrypted by the real ansible-vault', async () => {
    const w = workdir();
    writeFileSync(w.vault, 'grafana-admin-password: "s3cret: with colon"\npower-api-token: abc123\n');
    ansibleVault(['encrypt', '--vault-password-file', w.pw, w.vault], w.dir);
    expect(readFileSync(w.vault, 'utf8').startsWith(VAULT_HEADER)).toBe(true);
    const store = await SecretsFile.open(w.vault, 'correct horse battery staple');
    expect(store.names()).toEqual(['grafana-admin-password', 'power-api-token']);
    expect(store.get('grafana-admin-password')).toBe('s3cret: with colon');
  });

  it('writes a file the real ansible-vault decrypts', async () => {
    const w = workdir();
    const r = await runCli(['secrets', 'set', 'grafana-admin-password', '--secrets-file', w.vault, '--vault-password-file', w.pw], { stdin: 'pa$$ word\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('stored grafana-admin-password');
    expect(r.stdout + r.stderr).not.toContain('pa$$ word');
    const text = readFileSync(w.vault, 'utf8');
    expect(text.split('\n')[0]).toBe(VAULT_HEADER);
    const plain = ansibleVault(['view', '--vault-password-file', w.pw, w.vault], w.dir);
    expect(parse(plain)).toEqual({ 'grafana-admin-password': 'pa$$ word' });
  });

  it('a wrong password is a clear error, never garbage (ours and ansible-vault agree)', async () => {
    const w = workdir();
    await runCli(['secrets', 'set', 'x', '--secrets-file', w.vault, '--vault-password-file', w.pw], { stdin: 'value' });
    const r = await runCli(['secrets', 'list', '--secrets-file', w.vault, '--vault-password-file', w.bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[vault-password-wrong]');
    expect(r.stderr).toContain('hint:');
    expect(() => ansibleVault(['view', '--vault-password-file', w.bad, w.vault], w.dir)).toThrow(/Decryption failed|integrity/i);
  });
});

describe('vmstation secrets', () => {
  it('set, list, get, rm; values only from stdin; the password from the environment works too', async () => {
    const w = workdir();
    const env = { VMSTATION_VAULT_PASSWORD_FILE: w.pw };
    const opts = ['--secrets-file', w.vault];
    expect((await runCli(['secrets', 'set', 'b-token', ...opts], { env, stdin: 'tok' })).code).toBe(0);
    expect((await runCli(['secrets', 'set', 'a-pass', ...opts], { env, stdin: 'pw1' })).code).toBe(0);
    const list = await runCli(['secrets', 'list', ...opts], { env });
    expect(list.stdout).toBe('a-pass\nb-token\n');
    const json = await runCli(['secrets', 'list', ...opts, '--output', 'json'], { env });
    expect(JSON.parse(json.stdout)).toEqual(['a-pass', 'b-token']);
    expect((await runCli(['secrets', 'get', 'a-pass', ...opts], { env })).stdout).toBe('pw1');
    expect((await runCli(['secrets', 'rm', 'a-pass', ...opts], { env })).code).toBe(0);
    const missing = await runCli(['secrets', 'get', 'a-pass', ...opts], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error[secret-not-found]');
  });

  it('refuses a value on argv (there is no such argument) and an empty stdin', async () => {
    const w = workdir();
    const argv = await runCli(['secrets', 'set', 'x', 'the-value', '--secrets-file', w.vault, '--vault-password-file', w.pw]);
    expect(argv.code).toBe(2);
    const empty = await runCli(['secrets', 'set', 'x', '--secrets-file', w.vault, '--vault-password-file', w.pw], { stdin: '' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('error[empty-secret]');
  });

  it('without a password says how to give one', async () => {
    const w = workdir();
    const r = await runCli(['secrets', 'list', '--secrets-file', w.vault]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[vault-password-missing]');
    expect(r.stderr).toContain('VMSTATION_VAULT_PASSWORD_FILE');
  });

  it('validate checks references against the opened vault', async () => {
    const w = workdir();
    const example = readFileSync(path.resolve(import.meta.dirname, '../../../examples/vmstation.yaml'), 'utf8');
    writeFileSync(path.join(w.dir, 'vmstation.yaml'), example);
    await runCli(['secrets', 'set', 'grafana-admin-password', '--vault-password-file', w.pw], { cwd: w.dir, stdin: 'x' });
    const r = await runCli(['validate', '--vault-password-file', w.pw], { cwd: w.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/vmstation\.yaml:\d+:\d+: error\[secret-not-found\]: secret "power-api-token"/);
    await runCli(['secrets', 'set', 'power-api-token', '--vault-password-file', w.pw], { cwd: w.dir, stdin: 'y' });
    const ok = await runCli(['validate', '--vault-password-file', w.pw], { cwd: w.dir });
    expect(ok.code).toBe(0);
    expect(ok.stderr).not.toContain('secrets-unchecked');
  });
});
