// The programs the offline image build runs, the Debian package each comes from, and the error
// that names what is missing and how to install it.
import { ExitCode, VmstationError, userError } from '../errors.js';
import { relevantLines, type RunResult, type Runner } from '../power/drivers/runner.js';

/** Each tool, how to ask it for its version, and its Debian package. */
export const BUILD_TOOLS = [
  { tool: 'mmdebstrap', args: ['--version'], debianPackage: 'mmdebstrap', why: 'makes the Debian base' },
  { tool: 'umoci', args: ['--version'], debianPackage: 'umoci', why: 'checks the OCI layout' },
  { tool: 'skopeo', args: ['--version'], debianPackage: 'skopeo', why: 'writes the docker-archive' },
  { tool: 'tar', args: ['--version'], debianPackage: 'tar', why: 'writes the layers' },
  { tool: 'gzip', args: ['--version'], debianPackage: 'gzip', why: 'compresses the layers' },
  { tool: 'npm', args: ['--version'], debianPackage: 'npm', why: 'installs the production dependencies' },
] as const;

export type BuildTool = (typeof BUILD_TOOLS)[number];

/** A result that means the program was not found (the runner reports ENOENT this way). */
export function notInstalled(r: RunResult): boolean {
  return r.exitCode === null && !r.timedOut && /not installed \(not found on PATH\)/.test(r.stderr);
}

export function missingToolsError(missing: readonly BuildTool[]): VmstationError {
  const packages = [...new Set(missing.map((m) => m.debianPackage))];
  return userError(
    'image-tools-missing',
    `the image build needs ${missing.map((m) => `${m.tool} (Debian package ${m.debianPackage}: ${m.why})`).join(', ')}, not found on PATH`,
    `install ${packages.length === 1 ? 'it' : 'them'}: apt-get install -y --no-install-recommends ${packages.join(' ')}`,
  );
}

/** Fails with one error naming every missing tool and its package. */
export async function requireBuildTools(run: Runner): Promise<void> {
  const results = await Promise.all(BUILD_TOOLS.map(async (t) => ({ t, r: await run(t.tool, [...t.args], { timeoutMs: 30_000 }) })));
  const missing = results.filter(({ r }) => notInstalled(r)).map(({ t }) => t);
  if (missing.length > 0) throw missingToolsError(missing);
}

/** Throws, quoting the tool's last lines, when a build command failed. */
export function requireOk(r: RunResult, what: string): RunResult {
  if (r.exitCode === 0) return r;
  const why = r.timedOut ? 'timed out' : r.exitCode === null ? `was killed (${r.signal ?? 'no exit status'})` : `exited with ${r.exitCode}`;
  throw new VmstationError({
    code: 'image-build-failed',
    message: `${what} ${why}: ${r.command} ${r.args.join(' ')}`.slice(0, 400),
    details: relevantLines(`${r.stdout}\n${r.stderr}`, 6),
    hint: 'the lines above are the tool\'s own output; fix the cause and build again (finished steps are cached)',
    exitCode: ExitCode.userError,
  });
}
