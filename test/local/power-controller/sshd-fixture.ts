// A real OpenSSH server on 127.0.0.1 for tests: temp host key, an authorized client key, a
// known_hosts file listing the host key (hashed, as `ssh-keyscan -H` writes it). Stopped by PID.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, writeSshdConfig } from '../../helpers/net.js';

export interface SshdFixture {
  port: number;
  dir: string;
  clientKey: string;
  knownHosts: string;
  /** known_hosts line with the host key of a different server (for the mismatch test). */
  hostKeyBlob: Buffer;
  stop(): Promise<void>;
}

export function hashedHost(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

export async function startSshd(opts: { hashed?: boolean } = {}): Promise<SshdFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-sshd-'));
  chmodSync(dir, 0o700);
  const hostKey = path.join(dir, 'host_ed25519');
  const clientKey = path.join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  chmodSync(authorized, 0o600);
  const port = await freePort();
  const [type, blob] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  const name = `[127.0.0.1]:${port}`;
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `# test known_hosts\n${opts.hashed === false ? name : hashedHost(name)} ${type} ${blob}\n`);
  const config = path.join(dir, 'sshd_config');
  writeSshdConfig(config, { port, address: '127.0.0.1', hostKey, authorizedKeys: authorized, pidFile: path.join(dir, 'sshd.pid') });
  // sshd refuses to start without its privilege separation directory (created by its init script normally).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // Wait until it accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    clientKey,
    knownHosts,
    hostKeyBlob: Buffer.from(blob, 'base64'),
    async stop() {
      if (child.exitCode === null && child.pid) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
