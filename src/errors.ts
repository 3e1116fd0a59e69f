// The one error type users see. Only the top-level handler (src/cli/main.ts) prints it
// and calls process.exit; everything else throws or returns it.
import { dirname } from 'node:path';

export const ExitCode = {
  ok: 0,
  /** The user's input or environment is wrong. */
  userError: 1,
  /** Bad command-line usage. */
  usage: 2,
  /** An operation failed part-way; what was done and what was not is printed. */
  partial: 3,
  /** A bug in vmstation. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface VmstationErrorOptions {
  code: string;
  message: string;
  hint?: string;
  location?: SourceLocation;
  cause?: unknown;
  exitCode?: ExitCode;
  /** Extra lines printed under the message (e.g. the relevant lines of a tool's output). */
  details?: string[];
}

export class VmstationError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;
  readonly exitCode: ExitCode;
  readonly details: string[];

  constructor(opts: VmstationErrorOptions) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VmstationError';
    this.code = opts.code;
    this.hint = opts.hint;
    this.location = opts.location;
    this.exitCode = opts.exitCode ?? ExitCode.userError;
    this.details = opts.details ?? [];
  }
}

/** Shorthand for the common "user input or environment is wrong" case. */
export function userError(code: string, message: string, hint?: string, extra: Partial<VmstationErrorOptions> = {}): VmstationError {
  return new VmstationError({ code, message, ...(hint === undefined ? {} : { hint }), ...extra });
}

export function isVmstationError(err: unknown): err is VmstationError {
  return err instanceof VmstationError;
}

/** Formats an error for the terminal: `file:line:col: error[CODE]: message` then `  hint: ...`. */
export function formatError(err: VmstationError): string {
  const where = err.location ? `${err.location.file}:${err.location.line}:${err.location.column}: ` : '';
  const lines = [`${where}error[${err.code}]: ${err.message}`];
  for (const d of err.details) lines.push(`  ${d}`);
  if (err.hint) lines.push(`  hint: ${err.hint}`);
  return lines.join('\n');
}

/** Ends a verb with an exit code after it has printed everything itself (e.g. validation problems). */
export class ExitWith extends Error {
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.name = 'ExitWith';
  }
}

/** The message of anything thrown (an Error's message, else its text), for logs and wrapped errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const FOLDER_SYSCALLS = new Set(['mkdir', 'rmdir', 'rename', 'unlink', 'symlink', 'link', 'copyfile', 'mkdtemp']);

const FILE_SYSTEM_ERRORS: Record<string, { what: string; hint: (path: string) => string }> = {
  EACCES: { what: 'permission denied', hint: (p) => `check the owner and mode of ${p} and its folders (ls -ld ${p}), or run as a user who may use it` },
  EPERM: { what: 'operation not permitted', hint: (p) => `check the owner, mode and attributes of ${p} (ls -ld ${p}; lsattr), or run as a user who may change it` },
  ENOENT: { what: 'no such file or folder', hint: (p) => `check the path ${p}; create the missing folder first, or correct the name` },
  ENOTDIR: { what: 'a part of the path is a file, not a folder', hint: (p) => `check each part of ${p}: one of them is a file where a folder is needed` },
  EISDIR: { what: 'is a folder, a file was expected', hint: (p) => `name a file, not the folder ${p}` },
  EEXIST: { what: 'already exists', hint: (p) => `move ${p} away or choose another name` },
  EROFS: { what: 'read-only file system', hint: (p) => `${p} is on a read-only file system: choose a writable location` },
  ENOSPC: { what: 'no space left on the device', hint: (p) => `free some space on the file system that holds ${p} (df -h ${p})` },
  EDQUOT: { what: 'disk quota exceeded', hint: (p) => `free some space or raise your quota on the file system that holds ${p}` },
  ENAMETOOLONG: { what: 'file name too long', hint: (p) => `shorten the path ${p}` },
  ELOOP: { what: 'too many symbolic links', hint: (p) => `check ${p} for a symbolic link that points to itself` },
};

/**
 * The one place a file-system failure on a path (EACCES, EPERM, ENOENT, ...) becomes a user
 * error: the environment is wrong, not vmstation. Undefined for anything else.
 */
export function fileSystemError(err: unknown): VmstationError | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, path, syscall } = err as NodeJS.ErrnoException;
  const known = code === undefined ? undefined : FILE_SYSTEM_ERRORS[code];
  if (!known || typeof path !== 'string') return undefined;
  const dest = (err as NodeJS.ErrnoException & { dest?: unknown }).dest;
  const target = typeof dest === 'string' ? `${path} -> ${dest}` : path;
  // Creating, renaming or removing an entry needs rights on its folder, not on the entry (which
  // may be a temporary name the user never chose): point at the folder then.
  const folderOp = syscall !== undefined && FOLDER_SYSCALLS.has(syscall) && (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT');
  return new VmstationError({
    code: 'file-system',
    message: `${syscall ? `${syscall} ` : ''}${target}: ${known.what} (${code})`,
    hint: known.hint(folderOp ? dirname(path) : path),
    cause: err,
  });
}
