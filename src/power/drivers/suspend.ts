// Suspend over SSH: `sync` (so a host that never resumes loses nothing), then the node's suspend
// command. Like `systemctl suspend` it may return at once or the connection may drop as the host
// goes down; both count as "sent". The caller confirms with TCP 22 going quiet.
import { SshConnection, SshError, type SshTarget } from '../../adapters/ssh/index.js';

export interface SuspendResult {
  /** The suspend command's exit code; null when the connection dropped while it ran. */
  exitCode: number | null;
  output: string;
}

export type SshOpener = (target: SshTarget, opts: { timeoutMs?: number }) => Promise<Pick<SshConnection, 'exec' | 'close'>>;

export const openSsh: SshOpener = (target, opts) => SshConnection.open(target, opts);

export async function suspendOverSsh(target: SshTarget, suspendCommand: string, opts: { connectTimeoutMs?: number; commandTimeoutMs?: number; open?: SshOpener } = {}): Promise<SuspendResult> {
  const conn = await (opts.open ?? openSsh)(target, { timeoutMs: opts.connectTimeoutMs ?? 10_000 });
  try {
    const timeout = { timeoutMs: opts.commandTimeoutMs ?? 60_000 };
    const sync = await conn.exec('sync', timeout);
    if (sync.exitCode !== 0) throw new SshError('closed', `${target.host}: sync failed (exit ${String(sync.exitCode)}): ${sync.stderr.trim()}`);
    const r = await conn.exec(suspendCommand, timeout);
    if (r.exitCode !== null && r.exitCode !== 0)
      throw new SshError('closed', `${target.host}: "${suspendCommand}" failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`);
    return { exitCode: r.exitCode, output: (r.stdout + r.stderr).trim() };
  } finally {
    conn.close();
  }
}

/** Runs a harmless command to prove SSH works end to end (auth, shell, host key). */
export async function sshCheck(target: SshTarget, opts: { timeoutMs?: number; open?: SshOpener } = {}): Promise<void> {
  const conn = await (opts.open ?? openSsh)(target, { timeoutMs: opts.timeoutMs ?? 10_000 });
  try {
    const r = await conn.exec('true', { timeoutMs: opts.timeoutMs ?? 10_000 });
    if (r.exitCode !== 0) throw new SshError('closed', `${target.host}: "true" exited ${String(r.exitCode)}`);
  } finally {
    conn.close();
  }
}
