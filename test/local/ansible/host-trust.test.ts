// The known_hosts file VMStation manages, against a real sshd on 127.0.0.1 and real ssh-keyscan:
// first contact is recorded (and then plain ssh with StrictHostKeyChecking=yes accepts the host),
// a second run finds it known, a changed key is refused with a hint.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTrust, ensureKnownHosts, fingerprint, judgeHost, parseKeyscan, sshKeyscan } from '../../../src/adapters/ssh/host-trust.js';
import { parseKnownHosts } from '../../../src/adapters/ssh/known-hosts.js';
import { startSshd, type SshdFixture } from '../power-controller/sshd-fixture.js';

let sshd: SshdFixture;
let dir: string;
beforeAll(async () => {
  sshd = await startSshd({ hashed: false });
  dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-trust-'));
});
afterAll(async () => {
  await sshd.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the managed known_hosts file with a real sshd', () => {
  it('records a first contact, then finds the host known, and ssh accepts it with strict checking', async () => {
    const file = path.join(dir, 'sub', 'known_hosts');
    const target = { name: 'worker1', address: '127.0.0.1', port: sshd.port };
    const first = await ensureKnownHosts(file, [target]);
    expect(first.outcomes[0]!.status).toBe('recorded');
    const shown = describeTrust(first);
    expect(shown[0]).toMatch(new RegExp(`^first contact with worker1 \\(\\[127.0.0.1\\]:${sshd.port}\\): recorded ssh-ed25519 SHA256:`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The recorded fingerprint is the server's real one (as ssh-keygen computes it).
    const real = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' });
    expect(shown[0]).toContain(real.split(/\s+/)[1]!);

    const second = await ensureKnownHosts(file, [target]);
    expect(second.outcomes[0]!.status).toBe('known');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);

    const out = execFileSync(
      'ssh',
      ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${file}`, '-o', 'BatchMode=yes', '-o', 'GlobalKnownHostsFile=/dev/null', '-i', sshd.clientKey, '-p', String(sshd.port), `${os.userInfo().username}@127.0.0.1`, 'echo trusted'],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('trusted');
  });

  it('refuses a host whose key changed, with the way out', async () => {
    const file = path.join(dir, 'wrong_known_hosts');
    const keyDir = mkdtempSync(path.join(dir, 'k-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keyDir, 'k')]);
    const other = readFileSync(path.join(keyDir, 'k.pub'), 'utf8').split(/\s+/);
    writeFileSync(file, `[127.0.0.1]:${sshd.port} ${other[0]} ${other[1]}\n`);
    const err = await ensureKnownHosts(file, [{ name: 'worker1', address: '127.0.0.1', port: sshd.port }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ssh-host-key-mismatch' });
    expect((err as Error).message).toContain('worker1');
    expect((err as { hint: string }).hint).toContain(`ssh-keygen -R [127.0.0.1]:${sshd.port} -f ${file}`);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a host that does not answer is reported, not recorded', async () => {
    const file = path.join(dir, 'none_known_hosts');
    const r = await ensureKnownHosts(file, [{ name: 'asleep', address: '127.0.0.1', port: 1 }], sshKeyscan);
    expect(r.outcomes[0]!.status).toBe('unreachable');
    expect(describeTrust(r)[0]).toMatch(/did not answer ssh-keyscan/);
  });
});

describe('judging scanned keys (pure)', () => {
  const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIIuZnfUyImEMEH4VNr5hzgAAAAAAAAAAAAAAAAAAAAAA';
  const t = { name: 'n', address: '10.78.0.61', port: 22 };
  it('a known key of another type does not make a new type a mismatch', () => {
    const entries = parseKnownHosts(`n,10.78.0.61 ssh-ed25519 ${key}\n`);
    const scanned = parseKeyscan(`10.78.0.61 ecdsa-sha2-nistp256 AAAAE2VjZHNh\n10.78.0.61 ssh-ed25519 ${key}\n`);
    expect(judgeHost(entries, t, scanned).status).toBe('known');
  });
  it('fingerprints are OpenSSH SHA256 without padding', () => {
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
