// The three folders the layers are made of, each cached by the hash of its inputs (as the lab
// caches its root filesystem): the Debian base, the Node.js runtime, the package with its
// production dependencies. A folder is complete when its `.ready` marker exists.
import { chmod, cp, lstat, mkdir, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { aptMirror } from './mirror.js';
import type { Runner } from '../power/drivers/runner.js';
import { userError } from '../errors.js';
import { selectBaseFiles } from './base-files.js';
import { exists, sha256File } from './layers.js';
import { APP_DIR, APP_STRIP, BASE_INCLUDE, DEBIAN_SUITE, GENERATED_PATHS, MMDEBSTRAP_OPTIONS, NODE_RUNTIME, NPM_CI_FLAGS, RUNTIME_PACKAGES, appDependenciesKey, baseLayerKey, baseRootfsKey } from './spec.js';
import { requireOk } from './tools.js';

export interface StageContext {
  run: Runner;
  cacheDir: string;
  log: (line: string) => void;
  /** The Debian mirror (default: the one apt uses on this machine). */
  mirror?: string | undefined;
}

const READY = '.ready';

/** Runs `make(tmp)` unless `dir` is ready; the result appears at `dir` only when complete. */
async function cached(ctx: StageContext, dir: string, what: string, make: (tmp: string) => Promise<void>): Promise<{ dir: string; built: boolean }> {
  if (await exists(path.join(dir, READY))) return { dir, built: false };
  const tmp = `${dir}.build-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  ctx.log(`building ${what} (cache ${dir})`);
  await make(tmp);
  await writeFile(path.join(tmp, READY), '');
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return { dir, built: true };
}

/** The Debian root filesystem (mmdebstrap), then the runtime subset of it that the layer holds. */
export async function baseStage(ctx: StageContext): Promise<{ dir: string; built: boolean }> {
  const key = baseRootfsKey();
  const rootfs = await cached(ctx, path.join(ctx.cacheDir, `debian-${key}`), 'the Debian root filesystem with mmdebstrap', async (tmp) => {
    const mirror = await aptMirror(ctx.mirror);
    const target = path.join(tmp, 'rootfs');
    requireOk(await ctx.run('mmdebstrap', ['--quiet', ...MMDEBSTRAP_OPTIONS, `--include=${BASE_INCLUDE.join(',')}`, DEBIAN_SUITE, target, mirror], { timeoutMs: 1_800_000 }), 'mmdebstrap');
  });
  return cached(ctx, path.join(ctx.cacheDir, `base-${baseLayerKey()}`), 'the base layer (runtime packages only)', async (tmp) => {
    const root = path.join(rootfs.dir, 'rootfs');
    const status = await readFile(path.join(root, 'var/lib/dpkg/status'), 'utf8');
    const lists: Record<string, string> = {};
    for (const pkg of RUNTIME_PACKAGES) {
      for (const name of [`${pkg}.list`, `${pkg}:amd64.list`]) {
        const f = path.join(root, 'var/lib/dpkg/info', name);
        if (await exists(f)) lists[pkg] = await readFile(f, 'utf8');
      }
    }
    const generated: string[] = [];
    for (const g of GENERATED_PATHS) {
      if (!(await exists(path.join(root, g)))) continue;
      generated.push(g);
      const full = path.join(root, g);
      const entries = await readdir(full, { recursive: true }).catch(() => [] as string[]);
      for (const e of entries) generated.push(`${g}/${e}`);
    }
    const sel = selectBaseFiles(status, lists, generated);
    if (sel.missing.length > 0) throw userError('image-base-incomplete', `the Debian root filesystem lacks ${sel.missing.join(', ')}`, `remove ${rootfs.dir} and build again`);
    const present: string[] = [];
    for (const p of sel.paths) if (await exists(path.join(root, p))) present.push(p);
    const listFile = path.join(tmp, '..', `${path.basename(tmp)}.list`);
    await writeFile(listFile, present.map((p) => `${p}\n`).join(''));
    const layer = path.join(tmp, 'layer');
    await mkdir(layer);
    // Copy with tar (keeps links, modes, hard links) from the list, then write our own files.
    requireOk(await ctx.run('sh', ['-c', 'tar -C "$1" --no-recursion --verbatim-files-from -T "$2" -cf - | tar -C "$3" -xpf -', 'copy', root, listFile, layer], { timeoutMs: 600_000 }), 'copying the base files');
    await rm(listFile, { force: true });
    for (const [rel, content] of Object.entries(sel.written)) {
      await mkdir(path.dirname(path.join(layer, rel)), { recursive: true });
      await writeFile(path.join(layer, rel), content, { mode: 0o644 });
    }
    await chmod(path.join(layer, 'tmp'), 0o1777);
  }).then((r) => ({ dir: path.join(r.dir, 'layer'), built: r.built }));
}

/** /usr/local/bin/node from the pinned npm package, checked by integrity and by the binary's sha256. */
export async function nodeStage(ctx: StageContext): Promise<{ dir: string; built: boolean }> {
  const r = await cached(ctx, path.join(ctx.cacheDir, `node-${NODE_RUNTIME.version}-${NODE_RUNTIME.binarySha256.slice(0, 12)}`), `Node.js ${NODE_RUNTIME.version} (${NODE_RUNTIME.npmPackage})`, async (tmp) => {
    const dl = path.join(tmp, 'download');
    await mkdir(dl);
    const packed = requireOk(await ctx.run('npm', ['pack', NODE_RUNTIME.npmPackage, '--json', '--pack-destination', dl, '--loglevel=error'], { timeoutMs: 600_000, cwd: dl }), `npm pack ${NODE_RUNTIME.npmPackage}`);
    const info = (JSON.parse(packed.stdout) as Array<{ filename: string; integrity: string }>)[0];
    if (info?.integrity !== NODE_RUNTIME.integrity) throw userError('image-node-integrity', `${NODE_RUNTIME.npmPackage} has integrity ${info?.integrity ?? '(none)'}, not the pinned ${NODE_RUNTIME.integrity}`, 'the registry served another tarball: do not build from it; check your npm registry setting');
    const layer = path.join(tmp, 'layer');
    const bin = path.join(layer, 'usr/local/bin');
    const doc = path.join(layer, 'usr/local/share/doc/node');
    await mkdir(bin, { recursive: true });
    await mkdir(doc, { recursive: true });
    requireOk(await ctx.run('tar', ['-xzf', path.join(dl, info.filename), '-C', dl, 'package/bin/node', 'package/LICENSE']), 'unpacking Node.js');
    await rename(path.join(dl, 'package/bin/node'), path.join(bin, 'node'));
    await rename(path.join(dl, 'package/LICENSE'), path.join(doc, 'LICENSE'));
    await rm(dl, { recursive: true, force: true });
    const got = await sha256File(path.join(bin, 'node'));
    if (got.digest !== `sha256:${NODE_RUNTIME.binarySha256}`) throw userError('image-node-integrity', `bin/node of ${NODE_RUNTIME.npmPackage} has ${got.digest}, not the pinned sha256:${NODE_RUNTIME.binarySha256}`);
  });
  return { dir: path.join(r.dir, 'layer'), built: r.built };
}

/** Removes the files nothing loads at run time; returns how many. */
export async function stripUnloaded(dir: string): Promise<number> {
  let removed = 0;
  for (const rel of await readdir(dir, { recursive: true, withFileTypes: false })) {
    if (!APP_STRIP.some((re) => re.test(path.basename(rel)))) continue;
    const full = path.join(dir, rel);
    if (await lstat(full).then((st) => st.isFile(), () => false)) {
      await rm(full);
      removed++;
    }
  }
  return removed;
}

/** The package as `npm pack` would publish it, with its production dependencies, in /opt/vmstation. */
export async function appStage(ctx: StageContext, packageRoot: string, workDir: string): Promise<{ dir: string; depsBuilt: boolean }> {
  const lock = path.join(packageRoot, 'package-lock.json');
  if (!(await exists(lock))) throw userError('image-needs-checkout', `${packageRoot} has no package-lock.json: the image is built from a clone of the vmstation repository`, 'git clone the repository, run npm ci && npm run build, then vmstation image build');
  const lockSha = (await sha256File(lock)).digest;
  const deps = await cached(ctx, path.join(ctx.cacheDir, `deps-${appDependenciesKey(lockSha)}`), 'the production dependencies (npm ci --omit=dev)', async (tmp) => {
    await cp(path.join(packageRoot, 'package.json'), path.join(tmp, 'package.json'));
    await cp(lock, path.join(tmp, 'package-lock.json'));
    requireOk(await ctx.run('npm', [...NPM_CI_FLAGS], { timeoutMs: 900_000, cwd: tmp }), 'npm ci --omit=dev');
    const n = await stripUnloaded(path.join(tmp, 'node_modules'));
    ctx.log(`removed ${n} declaration, source-map and Markdown files from the dependencies`);
  });
  const layer = path.join(workDir, 'app');
  await rm(layer, { recursive: true, force: true });
  const app = path.join(layer, APP_DIR);
  await mkdir(app, { recursive: true });
  const packDir = path.join(workDir, 'pack');
  await rm(packDir, { recursive: true, force: true });
  await mkdir(packDir);
  const packed = requireOk(await ctx.run('npm', ['pack', '--json', '--pack-destination', packDir, '--loglevel=error'], { timeoutMs: 300_000, cwd: packageRoot }), 'npm pack');
  const file = (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename;
  if (!file) throw userError('image-build-failed', 'npm pack printed no file name');
  requireOk(await ctx.run('tar', ['-xzf', path.join(packDir, file), '-C', app, '--strip-components=1', '--no-same-owner']), 'unpacking the package');
  await rm(packDir, { recursive: true, force: true });
  await cp(path.join(deps.dir, 'node_modules'), path.join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  await cp(lock, path.join(app, 'package-lock.json'));
  await stripUnloaded(app);
  await mkdir(path.join(layer, 'usr/local/bin'), { recursive: true });
  await symlink(`/${APP_DIR}/bin/vmstation.js`, path.join(layer, 'usr/local/bin/vmstation'));
  return { dir: layer, depsBuilt: deps.built };
}
