// The one way VMStation runs ansible-playbook (the host layer, Kubespray, ...): never
// interactive (stdin closed, no prompts, no colors), progress streamed as typed events from our
// callback plugin, the full human output written to a log file, known failures classified.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ansibleYaml } from '../../util/ansible-yaml.js';
import { userError } from '../../errors.js';
import { createRunner, type RunResult, type SpawnFn } from '../process/index.js';
import { CALLBACK_NAME, CALLBACK_PLUGIN_SOURCE, EVENTS_FD_ENV } from './callback-plugin.js';
import { checkAnsibleVersion, classifyAnsibleRun } from './classify.js';
import { LineSplitter, parseEventLine, type AnsibleEvent, type HostStats } from './events.js';

export type { SpawnFn } from '../process/index.js';

export interface PlaybookRunOptions {
  /** Folder to run in (where ansible.cfg is). */
  cwd: string;
  /** The playbook, relative to cwd or absolute. */
  playbook: string;
  inventory?: string;
  /** Variables files passed as `-e @FILE` (e.g. a temporary secrets file, mode 0600). */
  extraVarsFiles?: readonly string[];
  tags?: readonly string[];
  skipTags?: readonly string[];
  limit?: string;
  check?: boolean;
  diff?: boolean;
  /** Where the full human output goes. */
  logFile: string;
  onEvent?: (event: AnsibleEvent) => void;
  /** Extra environment (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  ansiblePlaybook?: string;
  spawn?: SpawnFn;
  /** Kill the run after this long (default: no limit). */
  timeoutMs?: number;
}

export interface PlaybookRunResult {
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  events: AnsibleEvent[];
  /** The recap: per host ok/changed/failed/unreachable/... */
  stats: Record<string, HostStats>;
  /** stdout + stderr of ansible-playbook, also in the log file. */
  output: string;
  logFile: string;
  argv: string[];
}

/** The arguments, in order; secrets never appear here (they go through -e @FILE). */
export function playbookArgs(opts: Pick<PlaybookRunOptions, 'playbook' | 'inventory' | 'extraVarsFiles' | 'tags' | 'skipTags' | 'limit' | 'check' | 'diff'>): string[] {
  const args: string[] = [];
  if (opts.inventory) args.push('-i', opts.inventory);
  for (const f of opts.extraVarsFiles ?? []) args.push('-e', `@${f}`);
  if (opts.tags && opts.tags.length > 0) args.push('--tags', opts.tags.join(','));
  if (opts.skipTags && opts.skipTags.length > 0) args.push('--skip-tags', opts.skipTags.join(','));
  if (opts.limit) args.push('--limit', opts.limit);
  if (opts.check) args.push('--check');
  if (opts.diff) args.push('--diff');
  args.push(opts.playbook);
  return args;
}

/** Environment that keeps ansible-playbook from ever waiting on a person. */
export function nonInteractiveEnv(pluginDir: string): NodeJS.ProcessEnv {
  return {
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_CALLBACK_PLUGINS: pluginDir,
    ANSIBLE_CALLBACKS_ENABLED: CALLBACK_NAME,
    ANSIBLE_STDOUT_CALLBACK: 'default',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_ASK_PASS: 'False',
    ANSIBLE_BECOME_ASK_PASS: 'False',
    ANSIBLE_ASK_VAULT_PASS: 'False',
    PYTHONUNBUFFERED: '1',
    SSH_ASKPASS_REQUIRE: 'never',
  };
}

function emptyStats(): HostStats {
  return { ok: 0, changed: 0, failed: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 };
}

/** Runs ansible-playbook to the end; never throws for a failed playbook (see `requireSuccess`). */
export async function runPlaybook(opts: PlaybookRunOptions): Promise<PlaybookRunResult> {
  const pluginDir = await mkdtemp(path.join(os.tmpdir(), 'vmstation-ansible-cb-'));
  await writeFile(path.join(pluginDir, `${CALLBACK_NAME}.py`), CALLBACK_PLUGIN_SOURCE);
  await mkdir(path.dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'w', mode: 0o600 });
  const argv = playbookArgs(opts);
  const bin = opts.ansiblePlaybook ?? 'ansible-playbook';
  const run = createRunner(opts.spawn ? { spawn: opts.spawn } : {});
  const events: AnsibleEvent[] = [];
  log.write(`# ${new Date().toISOString()} ${bin} ${argv.join(' ')} (in ${opts.cwd})\n`);

  try {
    const split = new LineSplitter();
    const handle = (line: string) => {
      const e = parseEventLine(line);
      if (!e) return;
      events.push(e);
      opts.onEvent?.(e);
    };
    const toLog = (t: string) => log.write(t);
    const result = await run(bin, argv, {
      cwd: opts.cwd,
      env: { ...opts.env, ...nonInteractiveEnv(pluginDir), [EVENTS_FD_ENV]: '3' },
      killSignal: 'SIGTERM',
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      onStdout: toLog,
      onStderr: toLog,
      // fd 3 is the events pipe our callback plugin writes to.
      extraPipes: [(chunk) => split.push(chunk).forEach(handle)],
    });
    throwIfNotStarted(result);
    split.end().forEach(handle);
    const statsEvent = events.findLast((e) => e.event === 'stats');
    const stats: Record<string, HostStats> = statsEvent && statsEvent.event === 'stats' ? statsEvent.hosts : {};
    for (const e of events) if (e.event === 'host_result' && !stats[e.host]) stats[e.host] = emptyStats();
    return { exitCode: result.exitCode, signal: result.signal, durationMs: result.durationMs, events, stats, output: result.output, logFile: opts.logFile, argv: [bin, ...argv] };
  } finally {
    await new Promise<void>((resolve) => log.end(resolve));
    await rm(pluginDir, { recursive: true, force: true });
  }
}

/** ansible-playbook missing is the user's to fix; any other failure to start is not. */
function throwIfNotStarted(r: RunResult): void {
  if (!r.spawnError) return;
  if (r.spawnError.code === 'ENOENT') throw userError('ansible-not-installed', `${r.command} was not found`, 'install ansible-core 2.14 or newer (Debian: apt install ansible-core; RHEL: dnf install ansible-core)');
  throw new Error(r.spawnError.message);
}

/** Throws the classified error of a failed run. */
export function requireSuccess(result: PlaybookRunResult): PlaybookRunResult {
  const err = classifyAnsibleRun({ exitCode: result.exitCode, signal: result.signal, events: result.events, output: result.output, logFile: result.logFile });
  if (err) throw err;
  return result;
}

/** Total changed tasks over all hosts (from the recap). */
export function changedCount(result: Pick<PlaybookRunResult, 'stats'>): number {
  return Object.values(result.stats).reduce((n, s) => n + s.changed, 0);
}

/** Checks `ansible-playbook --version` against the minimum VMStation needs. */
export async function ensureAnsibleVersion(minimum: string, opts: { ansiblePlaybook?: string; spawn?: SpawnFn } = {}): Promise<string> {
  const bin = opts.ansiblePlaybook ?? 'ansible-playbook';
  const r = await createRunner(opts.spawn ? { spawn: opts.spawn } : {})(bin, ['--version'], { env: { ANSIBLE_NOCOLOR: '1' } });
  throwIfNotStarted(r);
  const text = r.output;
  const err = checkAnsibleVersion(text, minimum);
  if (err) throw err;
  return text;
}

/**
 * Where secret variable files live while a playbook runs: one folder per user, mode 0700, a
 * sub-folder per run named by its PID. A run killed with SIGKILL cannot remove its file; the next
 * run removes every sub-folder whose process is gone, so a plaintext file outlives its run only
 * until then.
 */
export function secretVarsRoot(tmp = os.tmpdir()): string {
  return path.join(tmp, `vmstation-secrets-${process.getuid?.() ?? 'user'}`);
}

/** Removes the run folders of processes that are gone (left by a run killed mid-playbook). */
export async function cleanStaleSecretVars(root: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    await rm(path.join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` with a variables file holding `vars` (mode 0600, in this run's folder under
 * secretVarsRoot()), removed afterwards: how secrets reach a playbook without touching argv or the
 * render tree.
 */
export async function withSecretVarsFile<T>(vars: Record<string, string | boolean>, fn: (file: string) => Promise<T>, root = secretVarsRoot()): Promise<T> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  // Someone else's folder of that name (another user made it first) must not receive our secrets.
  const info = await stat(root);
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid()) || (info.mode & 0o077) !== 0)
    throw userError('secrets-folder-unsafe', `${root} is not a private folder of this user (mode 0700)`, `remove it (it holds only vmstation's temporary files), then run again`);
  await cleanStaleSecretVars(root);
  const dir = await mkdtemp(path.join(root, `run-${process.pid}-`));
  const file = path.join(dir, 'secrets.yaml');
  try {
    // Tagged !unsafe: a password holding "{{ ... }}" must reach the node as written, never be evaluated.
    await writeFile(file, ansibleYaml(vars), { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
