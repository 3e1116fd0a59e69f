// Running the power manager's image under a real OCI runtime in tests: build it (cached), unpack
// it with umoci, shape the bundle's config.json the way the rendered Deployment runs the pod
// (user 65532, read-only root, no capabilities, host network, the manifest's mounts), run runc.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildImage, type ImageBuildResult } from '../../src/image/build.js';
import { defaultImageCacheDir } from '../../src/cli/verbs/image.js';
import { createRunner } from '../../src/power/drivers/runner.js';

export const REPO = path.resolve(import.meta.dirname, '../..');
const run = createRunner();

async function ok(cmd: string, args: readonly string[], timeoutMs = 300_000): Promise<string> {
  const r = await run(cmd, args, { timeoutMs });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.exitCode}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return r.stdout;
}

/** Folders the helpers made (images, bundles), removed by cleanupTestImages(). */
const made: string[] = [];

export async function cleanupTestImages(): Promise<void> {
  for (const dir of made.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** Builds the image from this checkout into a fresh folder (the base, Node.js and dependencies come from the shared cache). */
export async function buildTestImage(log: (line: string) => void = () => undefined): Promise<ImageBuildResult & { outDir: string }> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-image-'));
  made.push(outDir);
  const result = await buildImage({ packageRoot: REPO, outDir, cacheDir: defaultImageCacheDir(process.env), env: process.env, log });
  return { ...result, outDir };
}

/** Unpacks the oci-archive into a runc bundle (rootfs + config.json) with umoci. */
export async function unpackBundle(ociArchive: string, tag: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-bundle-'));
  made.push(dir);
  mkdirSync(path.join(dir, 'layout'));
  await ok('tar', ['-xf', ociArchive, '-C', path.join(dir, 'layout')]);
  await ok('umoci', ['unpack', '--image', `${path.join(dir, 'layout')}:${tag}`, path.join(dir, 'bundle')]);
  return path.join(dir, 'bundle');
}

export interface PodShape {
  args: readonly string[];
  env?: Record<string, string>;
  /** Read-only bind mounts: container path -> host path. */
  binds?: Record<string, string>;
}

interface RuntimeSpec {
  process: { args: string[]; env: string[]; user: { uid: number; gid: number; additionalGids?: number[] }; terminal?: boolean; noNewPrivileges?: boolean; capabilities?: Record<string, string[]>; cwd: string };
  root: { path: string; readonly?: boolean };
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: { namespaces: Array<{ type: string }> } & Record<string, unknown>;
}

/**
 * The pod as the rendered Deployment asks for it: runAsUser/runAsGroup/fsGroup 65532,
 * readOnlyRootFilesystem, capabilities drop ALL, allowPrivilegeEscalation false, hostNetwork, a
 * memory emptyDir on /tmp, and the volumes bind-mounted read-only where the manifest mounts them.
 */
export function shapeLikeThePod(spec: RuntimeSpec, pod: PodShape): RuntimeSpec {
  const caps = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  return {
    ...spec,
    process: {
      ...spec.process,
      args: [...pod.args],
      env: [...spec.process.env.filter((e) => e.startsWith('PATH=')), ...Object.entries(pod.env ?? {}).map(([k, v]) => `${k}=${v}`)],
      user: { uid: 65532, gid: 65532, additionalGids: [65532] },
      terminal: false,
      noNewPrivileges: true,
      capabilities: caps,
    },
    root: { ...spec.root, readonly: true },
    mounts: [
      ...spec.mounts,
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=16m'] },
      ...Object.entries(pod.binds ?? {}).map(([destination, source]) => ({ destination, type: 'bind', source, options: ['rbind', 'ro'] })),
    ],
    linux: { ...spec.linux, namespaces: spec.linux.namespaces.filter((n) => n.type !== 'network') },
  };
}

export function writePodShape(bundle: string, pod: PodShape): void {
  const file = path.join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as RuntimeSpec;
  writeFileSync(file, JSON.stringify(shapeLikeThePod(spec, pod), null, 2));
}

/** Runs a container to completion: `runc run` in the foreground. */
export async function runcRun(bundle: string, id: string, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await run('runc', ['run', '--bundle', bundle, id], { timeoutMs });
  await run('runc', ['delete', '--force', id]);
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

export interface RunningContainer {
  id: string;
  child: ChildProcess;
  output(): string;
  exec(processJson: Record<string, unknown>): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Starts a long-running container (runc in the foreground as our child); stop() kills and deletes it. */
export function runcStart(bundle: string, id: string): RunningContainer {
  const child = spawn('runc', ['run', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    id,
    child,
    output: () => out,
    async exec(processJson) {
      const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'vmstation-exec-')), 'process.json');
      writeFileSync(file, JSON.stringify(processJson), { mode: 0o600 });
      const r = await run('runc', ['exec', '--process', file, id], { timeoutMs: 60_000 });
      return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    },
    async stop() {
      await run('runc', ['kill', id, 'TERM']);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => {
          void run('runc', ['kill', id, 'KILL']);
        }, 15_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
      await run('runc', ['delete', '--force', id]);
    },
  };
}
