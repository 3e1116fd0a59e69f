// `lab up` and `lab down`: everything the lab makes on the host, and how it is undone.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cgroupPids, labCgroupParents, removeCgroupTree, cgroupTree } from './cgroups.js';
import { parseLabSpec, type LabSpec } from './lab-config.js';
import { BRIDGE, KEEPALIVE, createBridge, deleteBridge, labLinks } from './net.js';
import { DEFAULT_CLUSTER_FILE, REPO_ROOT, labPaths, nodeDir, type LabPaths } from './paths.js';
import { ensureRootfs, pruneRootfsCache } from './rootfs.js';
import { hostsFile, knownHosts, networkUnit, sshConfig } from './render.js';
import { LabError, pidAlive, run, runOk, sleep } from './run.js';
import { readRuntime, readState, writeState, type BmcCredentials, type LabState } from './state.js';
import { startKubeStandin, waitForKubeStandin } from './kube.js';
import { labUsers, withLabLock } from './lock.js';

export const NSPAWN_RUN_DIR = '/run/systemd/nspawn';

export interface UpOptions {
  file?: string;
  bootDelayMs?: number;
  log?: (line: string) => void;
  paths?: LabPaths;
  /** Who brings it up: a person (`lab up`, stays up) or a test run (the last run out takes it down). */
  owner?: 'cli' | 'tests';
}

export interface UpResult {
  reused: boolean;
  rootfsBuilt: boolean;
  rootfsMs: number;
  totalMs: number;
  sshReadyMs: Record<string, number>;
  fixture: LabFixture;
}

/** What tests and tools need to use a running lab (written to lab.json in the state folder). */
export interface LabFixture {
  stateDir: string;
  clusterFile: string;
  sshConfig: string;
  knownHosts: string;
  privateKey: string;
  /** Written by the Kubernetes API stand-in (null when the stand-in is absent). */
  kubeconfig: string | null;
  kubeApiUrl: string | null;
  controlUrl: string;
  bridge: string;
  broadcast: string;
  secretsFile: string;
  nodes: { name: string; address: string; mac: string; bmc: { address: string; port: number } | null }[];
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new LabError('the lab needs root (network bridge, cgroups, systemd-nspawn)', 'run it as root, e.g. sudo npm run lab -- up');
}

async function controlUrl(paths: LabPaths): Promise<string | undefined> {
  const rt = readRuntime(paths);
  if (!rt || !rt.controlPort || !pidAlive(rt.supervisorPid)) return undefined;
  return `http://127.0.0.1:${rt.controlPort}`;
}

export async function labIsUp(paths: LabPaths = labPaths()): Promise<boolean> {
  const url = await controlUrl(paths);
  if (!url) return false;
  try {
    const r = await fetch(`${url}/status`, { signal: AbortSignal.timeout(3000) });
    return r.ok;
  } catch {
    return false;
  }
}

export async function sshKeygen(file: string, comment: string): Promise<string> {
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return readFile(`${file}.pub`, 'utf8');
}

/** Waits until `ssh NODE true` succeeds with host-key checking on. */
export async function waitForSsh(paths: LabPaths, node: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    const r = await run('ssh', ['-F', paths.sshConfig, '-o', 'ConnectTimeout=2', node, 'true'], { timeoutMs: 10_000 });
    if (r.code === 0) return Date.now() - started;
    last = r.stderr.trim();
    await sleep(250);
  }
  throw new LabError(`${node} did not answer SSH within ${timeoutMs / 1000}s`, `see ${join(paths.logsDir, `${node}.console.log`)}`, [last]);
}

export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const paths = opts.paths ?? labPaths();
  requireRoot();
  return withLabLock(paths, () => upLocked(opts, paths));
}

async function upLocked(opts: UpOptions, paths: LabPaths): Promise<UpResult> {
  const started = Date.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const file = resolve(opts.file ?? DEFAULT_CLUSTER_FILE);
  const spec = parseLabSpec(await readFile(file, 'utf8'), file);

  const existing = readState(paths);
  if (existing && (await labIsUp(paths))) {
    if (existing.clusterFile !== file) throw new LabError(`a lab is already up from ${existing.clusterFile}`, 'run `npm run lab -- down` first');
    log('the lab is already up; checking SSH');
    const ready: Record<string, number> = {};
    for (const n of spec.nodes) ready[n.name] = await waitForSsh(paths, n.name, 60_000);
    return { reused: true, rootfsBuilt: false, rootfsMs: 0, totalMs: Date.now() - started, sshReadyMs: ready, fixture: JSON.parse(await readFile(paths.fixtureFile, 'utf8')) as LabFixture };
  }
  if (existing || existsSync(paths.stateDir) || (await labLinks(spec.nodes.map((n) => n.name))).length > 0) {
    log('cleaning up what an earlier lab left');
    await downLocked({ log }, paths);
  }

  const rootfs = await ensureRootfs(paths.cacheDir, log);
  log(rootfs.built ? `root filesystem built in ${(rootfs.ms / 1000).toFixed(1)}s` : `reusing the root filesystem ${rootfs.dir}`);
  await pruneRootfsCache(paths.cacheDir, rootfs.dir, log);

  for (const d of [paths.stateDir, paths.sshDir, paths.logsDir, paths.nodesDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  await chmod(paths.stateDir, 0o755);
  const clientPub = await sshKeygen(paths.clientKey, 'vmstation-lab');
  const hostKeys: { node: LabSpec['nodes'][number]; publicKey: string }[] = [];
  for (const node of spec.nodes) {
    const d = nodeDir(paths, node.name);
    await mkdir(join(d, 'upper', 'etc', 'ssh'), { recursive: true });
    await mkdir(join(d, 'upper', 'root', '.ssh'), { recursive: true, mode: 0o700 });
    await mkdir(join(d, 'power'), { recursive: true });
    hostKeys.push({ node, publicKey: await sshKeygen(join(d, 'upper', 'etc', 'ssh', 'ssh_host_ed25519_key'), `root@${node.name}`) });
    await writeFile(join(d, 'upper', 'root', '.ssh', 'authorized_keys'), clientPub, { mode: 0o600 });
    await writeFile(join(d, 'upper', 'etc', 'hosts'), hostsFile(spec, node));
    await writeFile(join(d, '10-lab.network'), networkUnit(spec, node));
  }
  await writeFile(paths.knownHosts, knownHosts(hostKeys));
  await writeFile(paths.sshConfig, sshConfig(spec, paths.clientKey, paths.knownHosts));

  const bmcs: BmcCredentials[] = spec.nodes.flatMap((n) => (n.bmc ? [{ node: n.name, address: n.bmc.address, port: n.bmc.port, username: 'labadmin', password: randomBytes(8).toString('hex') }] : []));
  const secrets: Record<string, string> = {};
  for (const b of bmcs) {
    secrets[`${b.node}-bmc-user`] = b.username;
    secrets[`${b.node}-bmc-password`] = b.password;
  }
  const secretsFile = join(paths.stateDir, 'lab-secrets.json');
  await writeFile(secretsFile, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });

  const state: LabState = {
    version: 1,
    clusterFile: file,
    createdAt: new Date().toISOString(),
    spec,
    rootfs: rootfs.dir,
    bridge: BRIDGE,
    keepalive: KEEPALIVE,
    bridgeAddresses: [`${spec.gateway}/${spec.prefix}`, ...bmcs.map((b) => `${b.address}/32`)],
    mountedNspawnTmpfs: false,
    bootDelayMs: opts.bootDelayMs ?? 1000,
    bmcs,
    owner: opts.owner ?? 'tests',
  };
  // Recorded before each change to the host, so `down` can undo a half-made lab.
  await writeState(paths, state);
  await mkdir(NSPAWN_RUN_DIR, { recursive: true });
  if ((await run('mountpoint', ['-q', NSPAWN_RUN_DIR])).code !== 0) {
    state.mountedNspawnTmpfs = true;
    await writeState(paths, state);
    await runOk('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=16m', 'vmstation-lab', NSPAWN_RUN_DIR]);
  }
  await createBridge(state.bridgeAddresses);

  const out = openSync(join(paths.logsDir, 'supervisor.log'), 'a');
  const supervisor = spawn(process.execPath, ['--import', 'tsx', join('lab', 'supervisor', 'main.ts')], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, VMSTATION_LAB_STATE_DIR: paths.stateDir, VMSTATION_LAB_CACHE_DIR: paths.cacheDir },
  });
  closeSync(out);
  supervisor.unref();
  if (supervisor.pid !== undefined) state.supervisorPid = supervisor.pid;
  await writeState(paths, state);

  let url: string | undefined;
  for (let i = 0; i < 100 && !url; i++) {
    if (supervisor.exitCode !== null) break;
    url = await controlUrl(paths);
    if (!url) await sleep(100);
  }
  if (!url) throw new LabError('the lab supervisor did not start', `see ${join(paths.logsDir, 'supervisor.log')}`);

  const kube = startKubeStandin(paths, file, log);
  if (kube) {
    state.standinPid = kube.pid;
    await writeState(paths, state);
  }
  const kubeUrl = kube ? waitForKubeStandin(kube, paths) : Promise.resolve(null);

  const fixture: LabFixture = {
    stateDir: paths.stateDir,
    clusterFile: file,
    sshConfig: paths.sshConfig,
    knownHosts: paths.knownHosts,
    privateKey: paths.clientKey,
    kubeconfig: kube ? paths.kubeconfig : null,
    kubeApiUrl: null,
    controlUrl: url,
    bridge: BRIDGE,
    broadcast: spec.broadcast,
    secretsFile,
    nodes: spec.nodes.map((n) => ({ name: n.name, address: n.address, mac: n.mac, bmc: n.bmc ?? null })),
  };
  const [ready, apiUrl] = await Promise.all([Promise.all(spec.nodes.map(async (n) => [n.name, await waitForSsh(paths, n.name, 90_000)] as const)), kubeUrl]);
  fixture.kubeApiUrl = apiUrl;
  await writeFile(paths.fixtureFile, JSON.stringify(fixture, null, 2) + '\n');
  return { reused: false, rootfsBuilt: rootfs.built, rootfsMs: rootfs.ms, totalMs: Date.now() - started, sshReadyMs: Object.fromEntries(ready), fixture };
}

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** PID 1 of a PID namespace other than ours: a container's init. */
function isNamespaceInit(pid: number): boolean {
  try {
    const ns = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
    return ns.length > 1 && ns[ns.length - 1] === '1';
  } catch {
    return false;
  }
}

/** SIGRTMIN+4 on Linux (SIGRTMIN is 34): systemd as PID 1 powers off on it. Node knows no name for it. */
const SIGRTMIN_PLUS_4 = 38;

function signal(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** Alive and not a zombie (a zombie waits for its new parent to reap it, and holds nothing). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

async function killAndWait(pid: number, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return true;
  }
  for (let waited = 0; waited < timeoutMs; waited += 50) {
    if (!running(pid)) return true;
    await sleep(50);
  }
  return !running(pid);
}

/** What a lab left on the host. `down` must leave every list empty. */
export interface Leftovers {
  processes: number[];
  links: string[];
  cgroups: string[];
  mounts: string[];
  stateDir: boolean;
}

export async function leftovers(paths: LabPaths = labPaths(), nodeNames: string[] = []): Promise<Leftovers> {
  const parents = labCgroupParents();
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const mounts = mountinfo
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m.startsWith(paths.stateDir + '/') || m === paths.stateDir || (m === NSPAWN_RUN_DIR && mountinfo.some((l) => l.includes(' - tmpfs vmstation-lab ')))));
  return {
    processes: parents.flatMap((p) => cgroupPids(p)),
    links: await labLinks(nodeNames),
    cgroups: parents.flatMap((p) => cgroupTree(p)),
    mounts,
    stateDir: existsSync(paths.stateDir),
  };
}

/** Takes the lab down when no test run uses it any more and a test run brought it up. */
export async function downIfUnused(opts: DownOptions = {}): Promise<boolean> {
  const paths = opts.paths ?? labPaths();
  return withLabLock(paths, async () => {
    const state = readState(paths);
    if (labUsers(paths).length > 0 || (state !== undefined && state.owner !== 'tests')) return false;
    await downLocked(opts, paths);
    return true;
  });
}

export interface DownOptions {
  log?: (line: string) => void;
  paths?: LabPaths;
}

/** Removes everything a lab made; safe to run again, and after a crash (works from the state files). */
export async function down(opts: DownOptions = {}): Promise<Leftovers> {
  const paths = opts.paths ?? labPaths();
  requireRoot();
  return withLabLock(paths, () => downLocked(opts, paths));
}

async function downLocked(opts: DownOptions, paths: LabPaths): Promise<Leftovers> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const state = readState(paths);
  const runtime = readRuntime(paths);

  // 1. The supervisor stops the containers in order (SIGTERM to nspawn powers a container off).
  const url = await controlUrl(paths);
  if (url) {
    try {
      await fetch(`${url}/shutdown`, { method: 'POST', signal: AbortSignal.timeout(3000) });
    } catch {
      // it may already be going
    }
  }
  const supervisorPid = runtime?.supervisorPid ?? state?.supervisorPid;
  if (supervisorPid !== undefined && comm(supervisorPid) === 'node') {
    for (let i = 0; i < 250 && running(supervisorPid); i++) await sleep(100);
    if (running(supervisorPid)) await killAndWait(supervisorPid, 'SIGKILL', 3000);
  }
  if (state?.standinPid !== undefined && comm(state.standinPid) === 'node') {
    if (!(await killAndWait(state.standinPid, 'SIGTERM', 5000))) await killAndWait(state.standinPid, 'SIGKILL', 2000);
  }

  // 2. Anything the supervisor started and left (it crashed or was killed): by PID, checked by name.
  await Promise.all(
    Object.values(runtime?.processes ?? {}).map(async (p) => {
      if (comm(p.pid) !== p.comm) return;
      log(`stopping ${p.role} (pid ${p.pid})`);
      if (!(await killAndWait(p.pid, 'SIGTERM', 10_000))) await killAndWait(p.pid, 'SIGKILL', 3000);
    }),
  );

  // 3. Orphans still in the lab's cgroups (a container whose nspawn died): ask its init to power
  // off (SIGRTMIN+4), then kill the init (the kernel then kills its whole PID namespace), then
  // anything else that remains.
  const systemdParent = labCgroupParents()[0] ?? '';
  const inits = cgroupPids(systemdParent).filter(isNamespaceInit);
  if (inits.length > 0) {
    log(`powering off ${inits.length} orphaned container(s): init pid ${inits.join(', ')}`);
    for (const pid of inits) signal(pid, SIGRTMIN_PLUS_4);
    for (let i = 0; i < 50 && cgroupPids(systemdParent).length > 0; i++) await sleep(100);
    for (const pid of cgroupPids(systemdParent).filter(isNamespaceInit)) signal(pid, 'SIGKILL');
    for (let i = 0; i < 30 && cgroupPids(systemdParent).length > 0; i++) await sleep(100);
  }
  const rest = cgroupPids(systemdParent);
  if (rest.length > 0) {
    log(`killing ${rest.length} leftover process(es): ${rest.map((p) => `${p}/${comm(p) ?? '?'}`).join(' ')}`);
    for (const pid of rest) signal(pid, 'SIGKILL');
    for (let i = 0; i < 50 && cgroupPids(systemdParent).length > 0; i++) await sleep(100);
  }
  for (const parent of labCgroupParents()) removeCgroupTree(parent, false);

  // 4. Network, mounts, files.
  const links = await deleteBridge();
  if (links.length) log(`removed links ${links.join(', ')}`);
  if (state?.mountedNspawnTmpfs || readFileSync('/proc/self/mountinfo', 'utf8').includes(' - tmpfs vmstation-lab ')) {
    const r = await run('umount', [NSPAWN_RUN_DIR]);
    if (r.code !== 0 && !r.stderr.includes('not mounted')) log(`umount ${NSPAWN_RUN_DIR}: ${r.stderr.trim()}`);
  }
  const stateMounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && m.startsWith(paths.stateDir + '/'))
    .sort()
    .reverse();
  for (const m of stateMounts) await runOk('umount', ['-l', m]);
  await rm(paths.stateDir, { recursive: true, force: true });
  if (labUsers(paths).length === 0) await rm(`${paths.stateDir}.users`, { recursive: true, force: true });
  const left = await leftovers(paths, state?.spec.nodes.map((n) => n.name) ?? []);
  const dirty = left.processes.length + left.links.length + left.cgroups.length + left.mounts.length + (left.stateDir ? 1 : 0);
  if (dirty > 0) throw new LabError('the lab could not remove everything', 'run `npm run lab -- down` again; see the list', [JSON.stringify(left)]);
  return left;
}

export { BRIDGE };
