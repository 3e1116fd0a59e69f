// Suspend over SSH: `sync` (so a host that never resumes loses nothing), then the node's suspend
// command, in one command. The power manager's own key may run nothing else: on the sleepers its
// authorized_keys line forces the suspend program (sync, then the same command), whatever is
// asked, so the request is one exec and the after-wake check runs no command at all. Like
// `systemctl suspend` it may return at once or the connection may drop as the host goes down;
// both count as "sent". The caller confirms with TCP 22 going quiet.
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
    const r = await conn.exec(suspendRequest(suspendCommand), { timeoutMs: opts.commandTimeoutMs ?? 60_000 });
    if (r.exitCode !== null && r.exitCode !== 0)
      throw new SshError('closed', `${target.host}: "${suspendCommand}" failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`);
    return { exitCode: r.exitCode, output: (r.stdout + r.stderr).trim() };
  } finally {
    conn.close();
  }
}

/**
 * The command sent for a suspend: what an unrestricted key runs as is; with the power manager's
 * key sshd runs the forced suspend program instead (sync, then the node's suspendCommand).
 */
export function suspendRequest(suspendCommand: string): string {
  return `sync && ${suspendCommand}`;
}

/**
 * Proves SSH works end to end: the host key is checked and the key accepted (sshd's account
 * checks included). It runs no command: with the power manager's key any command would be the
 * forced suspend program, which must never run right after a wake.
 */
export async function sshCheck(target: SshTarget, opts: { timeoutMs?: number; open?: SshOpener } = {}): Promise<void> {
  const conn = await (opts.open ?? openSsh)(target, { timeoutMs: opts.timeoutMs ?? 10_000 });
  conn.close();
}
