import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection, SshError, parseKnownHosts, verifyHostKey, sshRun, type SshTarget } from '../../../src/adapters/ssh/index.js';
import { suspendOverSsh, sshCheck } from '../../../src/power/drivers/suspend.js';
import { hashedHost, startSshd, type SshdFixture } from './sshd-fixture.js';

describe('known_hosts', () => {
  const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIK', 'base64');
  const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIL', 'base64');
  const text = [
    '# comment',
    `10.78.0.61,storage ssh-ed25519 ${key.toString('base64')}`,
    `[10.78.0.62]:2222 ssh-ed25519 ${key.toString('base64')}`,
    `${hashedHost('10.78.0.63')} ssh-ed25519 ${key.toString('base64')}`,
    `10.78.0.5?,!10.78.0.55 ssh-ed25519 ${other.toString('base64')}`,
    `@revoked 10.78.0.64 ssh-ed25519 ${key.toString('base64')}`,
    `10.78.0.64 ssh-ed25519 ${key.toString('base64')}`,
  ].join('\n');
  const entries = parseKnownHosts(text);

  it('accepts a listed key by plain, bracketed-port and hashed names', () => {
    expect(verifyHostKey(entries, '10.78.0.61', 22, key).ok).toBe(true);
    expect(verifyHostKey(entries, '10.78.0.62', 2222, key).ok).toBe(true);
    expect(verifyHostKey(entries, '10.78.0.63', 22, key).ok).toBe(true);
  });

  it('rejects unknown hosts, other ports, mismatched and revoked keys', () => {
    expect(verifyHostKey(entries, '10.78.0.62', 22, key)).toMatchObject({ ok: false, reason: 'unknown-host' });
    expect(verifyHostKey(entries, '10.78.0.61', 22, Buffer.from('nope'))).toMatchObject({ ok: false, reason: 'key-mismatch' });
    expect(verifyHostKey(entries, '10.78.0.64', 22, key)).toMatchObject({ ok: false, reason: 'revoked' });
    expect(verifyHostKey(entries, '10.78.0.55', 22, other)).toMatchObject({ ok: false, reason: 'unknown-host' });
    expect(verifyHostKey(entries, '10.78.0.50', 22, other).ok).toBe(true);
  });
});

describe('SSH against a real sshd on 127.0.0.1', () => {
  let sshd: SshdFixture;
  let target: SshTarget;
  beforeAll(async () => {
    sshd = await startSshd();
    target = { host: '127.0.0.1', port: sshd.port, username: 'root', privateKeyPath: sshd.clientKey, knownHostsPath: sshd.knownHosts };
  });
  afterAll(async () => sshd.stop());

  it('runs commands with exit codes and output', async () => {
    const [a, b] = await sshRun(target, ['echo hello', 'exit 3']);
    expect(a).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
    expect(b).toMatchObject({ exitCode: 3 });
  });

  it('refuses a host whose key is not in known_hosts', async () => {
    const empty = path.join(sshd.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const err = await SshConnection.open({ ...target, knownHostsPath: empty }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).kind).toBe('host-key');
    expect((err as SshError).message).toContain('not in known_hosts');
  });

  it('refuses a host whose key changed', async () => {
    const wrong = path.join(sshd.dir, 'wrong_known_hosts');
    const line = readFileSync(sshd.knownHosts, 'utf8').split('\n')[1]!;
    const [host, type] = line.split(' ');
    writeFileSync(wrong, `${host} ${type} AAAAC3NzaC1lZDI1NTE5AAAAIPm0dd2Gk8dyCdNWq/7Mu3zO9Ci0fUXyAjVCZIGyTwDk\n`);
    const err = (await SshConnection.open({ ...target, knownHostsPath: wrong }).catch((e: unknown) => e)) as SshError;
    expect(err.kind).toBe('host-key');
    expect(err.message).toContain('does not match');
  });

  it('suspend runs sync then the suspend command; a failing command is an error', async () => {
    const marker = path.join(sshd.dir, 'suspended');
    const r = await suspendOverSsh(target, `echo suspend > ${marker}; echo going down`);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('suspend\n');
    await expect(suspendOverSsh(target, 'echo "Sleep verb not supported" >&2; exit 1')).rejects.toThrow(/Sleep verb not supported/);
  });

  it('sshCheck succeeds, and fails with a typed error on a closed port', async () => {
    await sshCheck(target);
    const err = (await sshCheck({ ...target, port: 1 }, { timeoutMs: 2000 }).catch((e: unknown) => e)) as SshError;
    expect(err.kind).toBe('connect');
  });
});
