// A small SSH client over ssh2 with host-key checking against a known_hosts file (never off).
// One connection runs commands one after another; results carry exit code, output and duration.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { parseKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';
import { expandHome } from '../../util/home.js';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** Path of the private key (OpenSSH format; `~` is expanded). */
  privateKeyPath: string;
  /** Path of the known_hosts file the host key must be listed in. */
  knownHostsPath: string;
}

export type SshErrorKind = 'host-key' | 'auth' | 'connect' | 'timeout' | 'closed' | 'config';

export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SshError';
  }
}

export interface SshExecResult {
  command: string;
  /** Exit status; null when the channel closed without one (e.g. the host went down). */
  exitCode: number | null;
  signal?: string | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The raw standard output, when asked for (`binary: true`): files copied between hosts. */
  stdoutBytes?: Buffer;
}

export interface SshExecOptions {
  timeoutMs?: number;
  /** Sent as the command's standard input, then closed (e.g. a file to write on the host). */
  stdin?: Buffer | Readable;
  /** Also return the standard output as bytes (stdoutBytes). */
  binary?: boolean;
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(expandHome(path));
  } catch (err) {
    throw new SshError('config', `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

/** An open SSH connection. */
export class SshConnection {
  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
  ) {}

  static async open(target: SshTarget, opts: { timeoutMs?: number } = {}): Promise<SshConnection> {
    const [privateKey, knownHostsText] = await Promise.all([readOrFail(target.privateKeyPath, 'SSH private key'), readOrFail(target.knownHostsPath, 'known_hosts file')]);
    const entries = parseKnownHosts(knownHostsText.toString('utf8'));
    const client = new Client();
    let verdict: HostKeyVerdict | undefined;
    return new Promise<SshConnection>((resolve, reject) => {
      let settled = false;
      const fail = (err: SshError) => {
        if (settled) return;
        settled = true;
        client.end();
        reject(err);
      };
      client.once('ready', () => {
        settled = true;
        resolve(new SshConnection(client, target));
      });
      client.once('error', (err: Error & { level?: string }) => {
        if (verdict && !verdict.ok) return fail(new SshError('host-key', verdict.message, { cause: err }));
        if (err.level === 'client-authentication') return fail(new SshError('auth', `${target.username}@${target.host}: the key ${target.privateKeyPath} was not accepted`, { cause: err }));
        if (err.level === 'client-timeout') return fail(new SshError('timeout', `${target.host}:${target.port}: SSH handshake timed out`, { cause: err }));
        fail(new SshError('connect', `${target.host}:${target.port}: ${err.message}`, { cause: err }));
      });
      client.once('close', () => fail(new SshError('closed', `${target.host}:${target.port}: connection closed before it was ready`)));
      client.connect({
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey,
        readyTimeout: opts.timeoutMs ?? 10_000,
        keepaliveInterval: 5_000,
        keepaliveCountMax: 2,
        hostVerifier: (key: Buffer) => {
          verdict = verifyHostKey(entries, target.host, target.port, key);
          return verdict.ok;
        },
      });
    });
  }

  /**
   * Runs one command (non-interactive, no pty), with `stdin` streamed to it when given. Resolves
   * when the channel closes; a channel that closes without an exit status (the host went down)
   * gives exitCode null.
   */
  exec(command: string, opts: SshExecOptions = {}): Promise<SshExecResult> {
    const started = Date.now();
    return new Promise<SshExecResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const onClientClose = () => finish(null, undefined);
      const finish = (exitCode: number | null, signal: string | undefined) => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        this.client.off('close', onClientClose);
        const bytes = Buffer.concat(stdout);
        resolve({ command, exitCode, signal, stdout: bytes.toString('utf8'), stderr, durationMs: Date.now() - started, ...(opts.binary ? { stdoutBytes: bytes } : {}) });
      };
      const stdout: Buffer[] = [];
      let stderr = '';
      this.client.on('close', onClientClose);
      this.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          done = true;
          this.client.off('close', onClientClose);
          reject(new SshError('closed', `${this.target.host}: cannot start "${command}": ${err.message}`, { cause: err }));
          return;
        }
        if (opts.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            if (done) return;
            done = true;
            this.client.off('close', onClientClose);
            channel.close();
            reject(new SshError('timeout', `${this.target.host}: "${command}" did not finish within ${opts.timeoutMs} ms`));
          }, opts.timeoutMs);
        }
        let exitCode: number | null = null;
        let signal: string | undefined;
        channel.on('data', (d: Buffer) => stdout.push(d));
        channel.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        channel.on('exit', (code: number | null, sig?: string) => {
          exitCode = code;
          signal = sig;
        });
        channel.on('close', () => finish(exitCode, signal));
        // Standard input (e.g. a file being copied): streamed with backpressure, then EOF. A
        // source that fails ends the input early (EOF), so the remote command sees a short input.
        const input = opts.stdin;
        if (Buffer.isBuffer(input)) channel.end(input);
        else if (input) {
          input.once('error', (e: Error) => {
            stderr += `local input failed: ${e.message}\n`;
            input.unpipe(channel);
            channel.end();
          });
          input.pipe(channel);
        }
      });
    });
  }

  close(): void {
    this.client.end();
  }
}

/** Opens a connection, runs the commands in order (stopping at the first that fails), closes. */
export async function sshRun(target: SshTarget, commands: readonly string[], opts: { connectTimeoutMs?: number; commandTimeoutMs?: number } = {}): Promise<SshExecResult[]> {
  const conn = await SshConnection.open(target, opts.connectTimeoutMs === undefined ? {} : { timeoutMs: opts.connectTimeoutMs });
  try {
    const results: SshExecResult[] = [];
    for (const c of commands) {
      const r = await conn.exec(c, opts.commandTimeoutMs === undefined ? {} : { timeoutMs: opts.commandTimeoutMs });
      results.push(r);
      if (r.exitCode !== 0) break;
    }
    return results;
  } finally {
    conn.close();
  }
}
