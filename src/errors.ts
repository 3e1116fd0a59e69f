// The one error type users see. Only the top-level handler (src/cli/main.ts) prints it
// and calls process.exit; everything else throws or returns it.

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
