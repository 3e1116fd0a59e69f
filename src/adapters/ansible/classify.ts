// Turns a finished ansible-playbook run into a VmstationError naming the host and task, with a
// hint, for the failures we know; anything else still fails, quoting the last lines of output.
// Pure: tested against outputs recorded from real runs (test/unit/ansible/fixtures).
import { ExitCode, VmstationError } from '../../errors.js';
import { firstLine, type AnsibleEvent, type HostResultEvent } from './events.js';

export interface FinishedRun {
  exitCode: number | null;
  signal?: string | null | undefined;
  events: readonly AnsibleEvent[];
  /** The human output (stdout and stderr) of ansible-playbook. */
  output: string;
  logFile?: string | undefined;
}

function tailLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim())
    .slice(-n);
}

function logHint(run: FinishedRun): string {
  return run.logFile ? `; the full log is ${run.logFile}` : '';
}

/** The block of lines after `ERROR!` that Ansible prints for parse errors (file, line, excerpt). */
function errorBlock(output: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((l) => l.startsWith('ERROR!'));
  if (start < 0) return tailLines(output, 8);
  return lines.slice(start, start + 14).map((l) => l.trimEnd()).filter((l, i, all) => l.trim() || (i > 0 && all[i - 1]?.trim()));
}

function unreachableError(results: HostResultEvent[], run: FinishedRun): VmstationError {
  const first = results[0]!;
  const msg = first.msg ?? '';
  const hosts = [...new Set(results.map((r) => r.host))];
  const details = results.map((r) => `${r.host}: ${firstLine(r.msg ?? '')}`);
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i.test(msg))
    return new VmstationError({
      code: 'ssh-host-key-mismatch',
      message: `the SSH host key of ${first.host} does not match the known_hosts file VMStation manages`,
      hint: `if ${first.host} was reinstalled, remove its old key (ssh-keygen -R ADDRESS -f KNOWN_HOSTS) and run again; otherwise someone may be intercepting the connection${logHint(run)}`,
      details,
    });
  if (/Permission denied \(publickey/i.test(msg))
    return new VmstationError({
      code: 'ssh-auth-failed',
      message: `SSH to ${hosts.join(', ')} was refused: the key was not accepted`,
      hint: `check spec.ssh.user and spec.ssh.privateKey (or the node's ssh settings) and that the public key is in the user's authorized_keys${logHint(run)}`,
      details,
    });
  return new VmstationError({
    code: 'ansible-host-unreachable',
    message: `cannot reach ${hosts.join(', ')} over SSH: ${firstLine(msg)}`,
    hint: `check that the node is on (a sleeping node must be woken first), its address and SSH port in the cluster file, and that sshd runs${logHint(run)}`,
    details,
  });
}

function taskFailedError(results: HostResultEvent[], run: FinishedRun): VmstationError {
  const first = results[0]!;
  const details: string[] = [];
  for (const r of results) {
    details.push(`${r.host}: task "${r.task}"${r.rc === null || r.rc === undefined ? '' : ` (exit ${r.rc})`}: ${r.censored ? 'output hidden (no_log: the task handles secrets)' : firstLine(r.msg ?? '') || 'failed'}`);
    const out = r.stderr || r.module_stderr || '';
    if (!r.censored) for (const l of tailLines(out, 5)) details.push(`  ${l}`);
  }
  const more = results.length > 1 ? ` (and ${results.length - 1} more failure(s))` : '';
  const missingModule = results.map((r) => /No module named '?([\w.]+)'?|couldn't resolve module\/action '([\w.]+)'/.exec(`${r.msg ?? ''}\n${r.module_stderr ?? ''}`)).find(Boolean);
  if (missingModule) {
    const mod = missingModule[1] ?? missingModule[2] ?? '';
    return new VmstationError({
      code: 'ansible-module-missing',
      message: `task "${first.task}" on ${first.host} needs the Python module or Ansible module ${mod}, which is missing`,
      hint: `install it on ${first.host} (for Python modules, the distribution package such as python3-apt), then run again${logHint(run)}`,
      details,
    });
  }
  return new VmstationError({
    code: 'ansible-task-failed',
    message: `task "${first.task}" failed on ${first.host}${more}: ${first.censored ? 'output hidden (the task handles secrets)' : firstLine(first.msg ?? first.stderr ?? '') || 'no message'}`,
    hint: `fix what the task reports on ${first.host} and run again; nothing after the failed task ran on that host${logHint(run)}`,
    details,
    exitCode: ExitCode.partial,
  });
}

/** The error for a finished run, or undefined when it succeeded. */
export function classifyAnsibleRun(run: FinishedRun): VmstationError | undefined {
  const results = run.events.filter((e): e is HostResultEvent => e.event === 'host_result');
  // A connection that fails during a file transfer is reported as a failed task; it is unreachable.
  const lostConnection = (r: HostResultEvent) => r.status === 'failed' && /^Failed to connect to the host via ssh/.test(r.msg ?? '');
  const failed = results.filter((r) => r.status === 'failed' && !r.ignored && !lostConnection(r));
  const unreachable = results.filter((r) => r.status === 'unreachable' || lostConnection(r));
  if (run.exitCode === 0 && failed.length === 0 && unreachable.length === 0) return undefined;

  const output = run.output;
  const unresolved = /couldn't resolve module\/action '([^']+)'/.exec(output);
  if (unresolved) {
    const name = unresolved[1]!;
    const parts = name.split('.');
    const collection = parts.length >= 3 ? `${parts[0]}.${parts[1]}` : undefined;
    return new VmstationError({
      code: 'ansible-module-missing',
      message: `the playbook uses the module ${name}, which this Ansible does not have`,
      hint: collection
        ? `install the collection: ansible-galaxy collection install ${collection}${logHint(run)}`
        : `check the module name, or install the collection that provides it${logHint(run)}`,
      details: errorBlock(output),
    });
  }
  if (/the role '([^']+)' was not found/.exec(output)) {
    return new VmstationError({ code: 'ansible-role-missing', message: `a role the playbook uses was not found`, hint: `re-render the project (vmstation render) and run from the rendered ansible/ folder${logHint(run)}`, details: errorBlock(output) });
  }
  if (/Syntax Error while loading YAML|is not a valid attribute for a|conflicting action statements|A malformed block was encountered|no module\/action detected in task|ERROR! .*(?:could not be found|Unable to retrieve file contents)/.test(output) && results.length === 0) {
    return new VmstationError({
      code: 'ansible-syntax-error',
      message: `ansible-playbook could not load the playbook: ${firstLine(errorBlock(output)[0]?.replace(/^ERROR!\s*/, '') ?? '')}`,
      hint: `the rendered project should always load: re-render it (vmstation render); if you edited it, fix the file named above${logHint(run)}`,
      details: errorBlock(output),
    });
  }
  if (/ansible-core|requires? (?:Python|ansible)/i.test(firstLine(errorBlock(output)[0] ?? '')) && results.length === 0) {
    return new VmstationError({ code: 'ansible-version', message: firstLine(errorBlock(output)[0] ?? ''), hint: `install ansible-core 2.14 or newer${logHint(run)}`, details: errorBlock(output) });
  }
  if (unreachable.length > 0 && failed.length === 0) return unreachableError(unreachable, run);
  if (failed.length > 0) {
    const versionFail = failed.find((r) => /needs ansible-core/.test(r.msg ?? ''));
    if (versionFail)
      return new VmstationError({ code: 'ansible-version', message: firstLine(versionFail.msg ?? ''), hint: `install a newer ansible-core (pip install ansible-core, or your distribution's package)${logHint(run)}` });
    const err = taskFailedError(failed, run);
    if (unreachable.length > 0) err.details.push(...unreachable.map((r) => `${r.host}: unreachable: ${firstLine(r.msg ?? '')}`));
    return err;
  }
  const how = run.signal ? `was stopped by ${run.signal}` : `exited with ${run.exitCode}`;
  return new VmstationError({
    code: 'ansible-failed',
    message: `ansible-playbook ${how}`,
    hint: `see the output above${logHint(run)}`,
    details: tailLines(output, 10),
  });
}

/** Parses `ansible-playbook --version` ("ansible-playbook [core 2.14.18]"). */
export function parseAnsibleVersion(text: string): string | undefined {
  return /\[core (\d+\.\d+(?:\.\d+)?)[^\]]*\]/.exec(text)?.[1] ?? /^ansible-playbook (\d+\.\d+(?:\.\d+)?)/m.exec(text)?.[1];
}

export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export function checkAnsibleVersion(versionOutput: string, minimum: string): VmstationError | undefined {
  const version = parseAnsibleVersion(versionOutput);
  if (!version)
    return new VmstationError({ code: 'ansible-version', message: `cannot tell which Ansible this is: \`ansible-playbook --version\` said "${firstLine(versionOutput)}"`, hint: `install ansible-core ${minimum} or newer` });
  if (!versionAtLeast(version, minimum))
    return new VmstationError({ code: 'ansible-version', message: `ansible-core ${version} is too old: VMStation needs ${minimum} or newer`, hint: `install a newer ansible-core (pip install 'ansible-core>=${minimum}', or your distribution's package)` });
  return undefined;
}
