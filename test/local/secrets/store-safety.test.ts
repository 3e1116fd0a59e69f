// The secrets store loses nothing (issue 17 §5): concurrent writers each keep their value, a
// symlinked vault stays a symlink and keeps its mode, a damaged file is told apart from a wrong
// password, and binary values are refused instead of coming back changed.
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../../../src/cli/main.js';
import { SecretsFile, vaultDamage } from '../../../src/secrets/store.js';
import { runCli } from '../../helpers/cli.js';

const PASSWORD = 'correct horse battery staple';

function workdir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-store-'));
  const pw = path.join(dir, 'pw');
  writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
  return { dir, pw, vault: path.join(dir, 'secrets.vault.yaml') };
}

const set = (w: ReturnType<typeof workdir>, name: string, stdin: string, vault = w.vault) =>
  runCli(['secrets', 'set', name, '--secrets-file', vault, '--vault-password-file', w.pw], { stdin });

describe('secrets: nothing is lost', () => {
  it('10 concurrent `secrets set` runs keep all 10 values (the store takes a lock)', async () => {
    const w = workdir();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => set(w, `key-${i}`, `value-${i}`)));
    expect(results.map((r) => r.code)).toEqual(Array(10).fill(0));
    const store = await SecretsFile.open(w.vault, PASSWORD);
    expect(store.names()).toEqual(Array.from({ length: 10 }, (_, i) => `key-${i}`).sort());
    for (let i = 0; i < 10; i++) expect(store.get(`key-${i}`)).toBe(`value-${i}`);
  });

  // proper-lockfile retries on every error: a missing folder was retried 60 times (about 30 s)
  // before the user heard of it. The test's own timeout (5 s) is what fails if that comes back.
  it('a vault in a folder that does not exist is reported at once, not after the lock\'s retries', { timeout: 5000 }, async () => {
    const w = workdir();
    const missing = path.join(w.dir, 'missing', 'secrets.vault.yaml');
    await expect(SecretsFile.update(missing, PASSWORD, (s) => s.set('a', 'b'))).rejects.toThrow(/ENOENT/);
  });

  it('writes through a symlinked vault: the link stays, the target changes, its mode is kept', async () => {
    const w = workdir();
    mkdirSync(path.join(w.dir, 'real'));
    const target = path.join(w.dir, 'real', 'vault.yaml');
    expect((await set(w, 'first', 'one', target)).code).toBe(0);
    chmodSync(target, 0o640);
    symlinkSync('real/vault.yaml', w.vault);
    expect((await set(w, 'second', 'two')).code).toBe(0);
    expect(lstatSync(w.vault).isSymbolicLink()).toBe(true);
    expect(readlinkSync(w.vault)).toBe('real/vault.yaml');
    expect(statSync(target).mode & 0o777).toBe(0o640);
    const plain = execFileSync('ansible-vault', ['view', '--vault-password-file', w.pw, target], { encoding: 'utf8' });
    expect(parse(plain)).toEqual({ first: 'one', second: 'two' });
  });

  it('a dangling symlink is followed: the file is created at its target', async () => {
    const w = workdir();
    symlinkSync('elsewhere.vault.yaml', w.vault);
    expect((await set(w, 'k', 'v')).code).toBe(0);
    expect(lstatSync(w.vault).isSymbolicLink()).toBe(true);
    expect(statSync(path.join(w.dir, 'elsewhere.vault.yaml')).mode & 0o777).toBe(0o600);
  });

  it('a damaged (cut off) vault is reported as damaged, not as a wrong password; nothing is written', async () => {
    const w = workdir();
    await set(w, 'k', 'v');
    const text = readFileSync(w.vault, 'utf8');
    writeFileSync(w.vault, text.slice(0, Math.floor(text.length * 0.6)));
    const before = readFileSync(w.vault, 'utf8');
    const r = await set(w, 'other', 'x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[secrets-damaged]');
    expect(r.stderr).not.toContain('vault-password-wrong');
    expect(readFileSync(w.vault, 'utf8')).toBe(before);
    // Debian's ansible-vault refuses the same file.
    expect(() => execFileSync('ansible-vault', ['view', '--vault-password-file', w.pw, w.vault], { stdio: 'pipe' })).toThrow();
  });

  it('an intact vault with the wrong password says so, and that the structure is intact', async () => {
    const w = workdir();
    await set(w, 'k', 'v');
    writeFileSync(w.pw, 'not the password\n');
    const r = await runCli(['secrets', 'list', '--secrets-file', w.vault, '--vault-password-file', w.pw]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[vault-password-wrong]: cannot decrypt");
    expect(r.stderr).toContain('the file\'s structure is intact');
  });

  it('names each kind of damage', () => {
    const header = '$ANSIBLE_VAULT;1.1;AES256';
    const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
    const good = `${header}\n${hex(`${'a'.repeat(64)}\n${'b'.repeat(64)}\n${'c'.repeat(64)}`)}\n`;
    expect(vaultDamage(good)).toBeUndefined();
    expect(vaultDamage(`${header}\n`)).toBe('it has a header but no encrypted content');
    expect(vaultDamage(`${header}\nzz\n`)).toBe('its content has characters that are not hexadecimal');
    expect(vaultDamage(`${header}\nabc\n`)).toContain('odd length');
    expect(vaultDamage(`${header}\n${hex(`${'a'.repeat(64)}\n${'b'.repeat(64)}`)}\n`)).toContain('2 part(s)');
    expect(vaultDamage(`${header}\n${hex(`${'a'.repeat(62)}\n${'b'.repeat(64)}\n${'c'.repeat(64)}`)}\n`)).toBe('its salt is not 32 bytes');
    expect(vaultDamage(`${header}\n${hex(`${'a'.repeat(64)}\n${'b'.repeat(64)}\n${'c'.repeat(40)}`)}\n`)).toContain('AES blocks');
  });

  it('refuses binary values (not UTF-8, or a NUL byte) and keeps UTF-8 text exactly', async () => {
    const w = workdir();
    for (const bytes of [Buffer.from([0xff, 0xfe, 0x00, 0x41]), Buffer.from('abc\0def')]) {
      const withBytes = await runCliBytes(['secrets', 'set', 'bin', '--secrets-file', w.vault, '--vault-password-file', w.pw], bytes);
      expect(withBytes.code).toBe(1);
      expect(withBytes.stderr).toContain('error[secret-binary]');
      expect(withBytes.stderr).toContain('base64');
    }
    const text = 'pässwörd ✓ 日本\ttab';
    expect((await set(w, 'utf8', `${text}\n`)).code).toBe(0);
    expect((await SecretsFile.open(w.vault, PASSWORD)).get('utf8')).toBe(text);
    expect((await SecretsFile.open(w.vault, PASSWORD)).has('bin')).toBe(false);
  });
});

/** runCli with raw bytes on standard input. */
async function runCliBytes(args: string[], bytes: Buffer) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await run(['node', 'vmstation', ...args], { stdout, stderr, stdin: Readable.from([bytes]), env: {}, cwd: process.cwd(), isTTY: false });
  return { code, stderr: err };
}
