// Kubespray as a deploy method: obtain the pinned release (git clone into the cache, or a folder
// the user names with --kubespray-dir), prepare its Python environment as its docs say (a venv
// and `pip install -r requirements.txt`), run its playbooks through the one Ansible runner,
// and turn its known failures into clear errors.
import { shellQuote } from '../util/shell-quote.js';
import { access, copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { runPlaybook, type PlaybookRunResult } from '../adapters/ansible/index.js';
import { classifyAnsibleRun } from '../adapters/ansible/classify.js';
import type { AnsibleEvent } from '../adapters/ansible/events.js';
import { KUBESPRAY_VERSION } from '../config/data/kubespray-versions.js';
import { ExitCode, VmstationError, userError } from '../errors.js';
import type { Runner } from '../adapters/process/index.js';
import type { KubesprayPlaybook } from './plan-model.js';

export const KUBESPRAY_REPO = 'https://github.com/kubernetes-sigs/kubespray.git';

/** Kubespray's git and pip are stopped with SIGTERM when they overrun (they clean up after themselves). */
const stop = { killSignal: 'SIGTERM' } as const;

const exists = (p: string) => access(p).then(() => true, () => false);
const tail = (text: string, n = 6) => text.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-n);

export interface KubesprayLocation {
  dir: string;
  /** Where its venv is (always in our cache, never inside a user's checkout). */
  venv: string;
  /** True when the user gave the folder (we never modify it). */
  userProvided: boolean;
}

export function kubesprayLocation(cacheDir: string, userDir: string | undefined): KubesprayLocation {
  const cached = path.join(cacheDir, `kubespray-${KUBESPRAY_VERSION}`);
  const dir = userDir ? path.resolve(userDir) : cached;
  const venvKey = userDir ? `venv-${Buffer.from(dir).toString('base64url').slice(-24)}` : 'venv';
  return { dir, venv: path.join(cacheDir, `kubespray-${KUBESPRAY_VERSION}-${venvKey}`), userProvided: userDir !== undefined };
}

/** Makes sure Kubespray is in `loc.dir` (cloning the pinned tag when it is our cache). */
export async function obtainKubespray(loc: KubesprayLocation, run: Runner, repo = KUBESPRAY_REPO): Promise<string> {
  if (await exists(path.join(loc.dir, 'cluster.yml'))) return loc.userProvided ? `using ${loc.dir}` : `cached in ${loc.dir}`;
  if (loc.userProvided) throw userError('kubespray-dir-invalid', `${loc.dir} has no cluster.yml: it is not a Kubespray checkout`, `clone it: git clone --branch ${KUBESPRAY_VERSION} ${KUBESPRAY_REPO} ${loc.dir}`);
  await mkdir(path.dirname(loc.dir), { recursive: true });
  const r = await run('git', ['clone', '--quiet', '--depth', '1', '--branch', KUBESPRAY_VERSION, repo, loc.dir], { ...stop, timeoutMs: 300_000, env: { GIT_TERMINAL_PROMPT: '0' } });
  if (r.exitCode !== 0)
    throw new VmstationError({
      code: 'kubespray-clone-failed',
      message: `cannot clone Kubespray ${KUBESPRAY_VERSION} from ${repo}`,
      hint: `check the network access to github.com, or clone it elsewhere and pass --kubespray-dir PATH (git clone --branch ${KUBESPRAY_VERSION} ${KUBESPRAY_REPO})`,
      details: tail(r.output),
    });
  return `cloned ${KUBESPRAY_VERSION} into ${loc.dir}`;
}

const PYPI_UNREACHABLE = /Could not find a version that satisfies|No matching distribution found|Failed to establish a new connection|Temporary failure in name resolution|Network is unreachable|Connection refused|ConnectTimeoutError|ProxyError|Max retries exceeded/i;

/** Classifies a failed `pip install -r requirements.txt` (pure). */
export function classifyPipFailure(output: string): VmstationError {
  if (PYPI_UNREACHABLE.test(output))
    return new VmstationError({
      code: 'kubespray-pypi-unreachable',
      message: "cannot install Kubespray's Python requirements: PyPI is not reachable from this machine",
      hint: 'Kubespray needs the exact Ansible its requirements.txt pins, which pip downloads from pypi.org: allow HTTPS to pypi.org and files.pythonhosted.org (or set PIP_INDEX_URL to a mirror) and run deploy again',
      details: tail(output),
    });
  return new VmstationError({ code: 'kubespray-requirements-failed', message: "pip could not install Kubespray's requirements.txt", hint: 'read the pip output below; a missing compiler or Python headers is the usual cause', details: tail(output) });
}

/** Creates the venv and installs requirements.txt into it, as Kubespray's docs say. */
export async function prepareKubesprayEnvironment(loc: KubesprayLocation, run: Runner, python = 'python3', pipOptions: readonly string[] = []): Promise<string> {
  if (!(await exists(path.join(loc.venv, 'bin', 'python')))) {
    const v = await run(python, ['-m', 'venv', loc.venv], { ...stop, timeoutMs: 120_000 });
    if (v.exitCode !== 0) throw new VmstationError({ code: 'kubespray-venv-failed', message: `cannot create a Python venv with ${python}`, hint: 'install the venv module (Debian: apt install python3-venv)', details: tail(v.output) });
  }
  const req = path.join(loc.dir, 'requirements.txt');
  if (!(await exists(req))) throw userError('kubespray-dir-invalid', `${loc.dir} has no requirements.txt`, 'use a Kubespray release checkout');
  const r = await run(path.join(loc.venv, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '--retries', '1', '--timeout', '15', ...pipOptions, '-r', req], { ...stop, timeoutMs: 900_000 });
  if (r.exitCode !== 0) throw classifyPipFailure(r.output);
  return `venv ${loc.venv} ready`;
}

/** The ansible-playbook to run Kubespray with: the venv's (what requirements.txt installed), else the one on PATH. */
export async function kubesprayAnsiblePlaybook(loc: KubesprayLocation): Promise<string> {
  const inVenv = path.join(loc.venv, 'bin', 'ansible-playbook');
  return (await exists(inVenv)) ? inVenv : 'ansible-playbook';
}

/** Kubespray-specific failures first (its version gate, missing collections), then the runner's classification. */
export function classifyKubesprayRun(run: Pick<PlaybookRunResult, 'exitCode' | 'signal' | 'events' | 'output' | 'logFile'>): VmstationError | undefined {
  const failedMsgs = run.events
    .filter((e): e is Extract<AnsibleEvent, { event: 'host_result' }> => e.event === 'host_result' && e.status === 'failed' && !e.ignored)
    .map((e) => e.msg ?? '');
  const text = `${failedMsgs.join('\n')}\n${run.output}`;
  const version = /Ansible must be between ([\d.]+) and ([\d.]+) exclusive - you have ([\d.]+)/.exec(text);
  if (version)
    return new VmstationError({
      code: 'kubespray-ansible-version',
      message: `Kubespray ${KUBESPRAY_VERSION} needs Ansible >= ${version[1]} and < ${version[2]}; this run used ${version[3]}`,
      hint: "run Kubespray from the venv deploy prepares (pip install -r requirements.txt installs the right Ansible), not the system's ansible-playbook",
      details: tail(run.output, 4),
    });
  const collection = /couldn't resolve module\/action '([a-z0-9_]+\.[a-z0-9_]+)\.|Could not load "([a-z0-9_]+\.[a-z0-9_]+)\.|the (?:filter|test|lookup) plugin '([a-z0-9_]+\.[a-z0-9_]+)\.[^']*' was not found|Unable to find collection ([a-z0-9_]+\.[a-z0-9_]+)/.exec(text);
  if (collection && run.exitCode !== 0) {
    const name = collection[1] ?? collection[2] ?? collection[3] ?? collection[4] ?? '';
    return new VmstationError({
      code: 'kubespray-collection-missing',
      message: `the Ansible collection ${name} that Kubespray uses is not installed`,
      hint: `install Kubespray's requirements into its venv (deploy does: pip install -r requirements.txt brings the ansible package with its collections), or ansible-galaxy collection install ${name}`,
      details: tail(run.output, 6),
    });
  }
  const generic = classifyAnsibleRun(run);
  if (generic && generic.code === 'ansible-task-failed') return new VmstationError({ code: 'kubespray-task-failed', message: `Kubespray ${generic.message}`, hint: generic.hint ?? '', details: generic.details, exitCode: ExitCode.partial });
  if (generic && generic.code === 'ansible-host-unreachable') return new VmstationError({ code: 'kubespray-host-unreachable', message: `Kubespray ${generic.message}`, hint: generic.hint ?? '', details: generic.details, exitCode: ExitCode.partial });
  return generic;
}

export interface KubesprayRunOptions {
  loc: KubesprayLocation;
  /** The rendered tree (holds kubespray/inventory.yaml and group_vars). */
  renderDir: string;
  playbook: KubesprayPlaybook | 'reset.yml';
  /** The inventory under renderDir (default kubespray/inventory.yaml; a removal adds the leaving node in a sibling file). */
  inventory?: string;
  limit?: string;
  knownHosts: string;
  logFile: string;
  onEvent?: (e: AnsibleEvent) => void;
  extraVarsFiles?: readonly string[];
  ansiblePlaybook?: string;
  /** Extra environment for ansible-playbook. */
  env?: NodeJS.ProcessEnv;
}

/** SSH settings that keep host-key checking on even though Kubespray's ansible.cfg turns it off. */
export function strictSshEnv(knownHosts: string): NodeJS.ProcessEnv {
  return {
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=yes -o ${shellQuote(`UserKnownHostsFile=${knownHosts}`)} -o BatchMode=yes`,
  };
}

export async function runKubesprayPlaybook(opts: KubesprayRunOptions): Promise<PlaybookRunResult> {
  const result = await runPlaybook({
    cwd: opts.loc.dir,
    playbook: opts.playbook,
    inventory: path.join(opts.renderDir, opts.inventory ?? path.join('kubespray', 'inventory.yaml')),
    ...(opts.limit ? { limit: opts.limit } : {}),
    logFile: opts.logFile,
    env: { ...opts.env, ...strictSshEnv(opts.knownHosts) },
    ansiblePlaybook: opts.ansiblePlaybook ?? (await kubesprayAnsiblePlaybook(opts.loc)),
    ...(opts.extraVarsFiles ? { extraVarsFiles: opts.extraVarsFiles } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    // Kubespray's reset.yml asks "Are you sure you want to reset cluster state?": answered by -e reset_confirmation=yes.
  });
  const err = classifyKubesprayRun(result);
  if (err) throw err;
  return result;
}

/** Copies the admin kubeconfig Kubespray wrote next to the inventory (kubeconfig_localhost: true). */
export async function fetchKubesprayKubeconfig(renderDir: string, dest: string): Promise<string> {
  const src = path.join(renderDir, 'kubespray', 'artifacts', 'admin.conf');
  if (!(await exists(src)))
    throw new VmstationError({ code: 'kubeconfig-missing', message: `Kubespray did not write ${src}`, hint: 'kubeconfig_localhost: true is rendered into group_vars; check that cluster.yml ran to the end', exitCode: ExitCode.partial });
  await mkdir(path.dirname(dest), { recursive: true });
  await copyFile(src, dest);
  const text = await readFile(dest, 'utf8');
  return `admin kubeconfig (${/server:\s*(\S+)/.exec(text)?.[1] ?? 'no server'}) saved to ${dest}`;
}
