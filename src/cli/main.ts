// The CLI frame: global flags, one file per verb under ./verbs, and the one error handler.
// Only this file calls process.exit.
import { Command, CommanderError } from 'commander';
import { ExitCode, ExitWith, fileSystemError, formatDebug, formatError, isVmstationError, VmstationError } from '../errors.js';
import { processIo, writeLine, type CliIo } from './io.js';
import { VERBS } from './verbs/index.js';
import { VERSION } from './version.js';

export { VERSION };

/** The verb a command line runs (first word that is not a flag), if it is a known verb. */
function verbOf(argv: readonly string[]): string | undefined {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return VERBS.some(([name]) => name === first) ? first : undefined;
}

export async function buildProgram(io: CliIo, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('vmstation')
    .description('Describe a bare-metal homelab in one file; validate, plan and deploy Kubernetes with monitoring, host services and a power manager.')
    .version(VERSION, '-V, --version')
    .option('--debug', 'print stack traces of errors and the errors that caused them')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  const verb = verbOf(argv);
  for (const [name, load] of VERBS) if (verb === undefined || verb === name) (await load())(program, io);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  return program;
}

/** Runs the CLI and returns the exit code (tests call this; `main` exits with it). */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const program = await buildProgram(io, argv);
    await program.parseAsync([...argv]);
    return ExitCode.ok;
  } catch (err) {
    return handleError(err, io, debug);
  }
}

export function handleError(err: unknown, io: CliIo, debug: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version end through here too, with code 0.
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
    return ExitCode.usage;
  }
  if (err instanceof ExitWith) return err.exitCode;
  err = fileSystemError(err) ?? err;
  if (isVmstationError(err)) {
    writeLine(io.stderr, formatError(err));
    if (debug) writeLine(io.stderr, formatDebug(err));
    return err.exitCode;
  }
  const bug = err instanceof Error ? err : new Error(String(err));
  writeLine(io.stderr, formatError(new VmstationError({
    code: 'internal',
    message: `internal error: ${bug.message}`,
    hint: 'this is a bug in vmstation; please report it with the command you ran and its output with --debug',
    exitCode: ExitCode.internal,
  })));
  if (debug) writeLine(io.stderr, formatDebug(bug));
  return ExitCode.internal;
}

export async function main(argv: readonly string[]): Promise<void> {
  const code = await run(argv);
  process.exitCode = code;
  // Exit once stdout and stderr are flushed (to a pipe they are written asynchronously: exiting
  // earlier cut 10,001 error lines to a few hundred), and without waiting for a verb's open
  // handles (timers, sockets).
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Resolves when everything written to the stream so far has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}
