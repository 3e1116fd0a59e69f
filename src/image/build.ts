// `vmstation image build`: the power manager's OCI image, offline and reproducibly. Three cached
// folders (Debian base, Node.js, the package) become three layers; the OCI layout is written from
// the pure plan in oci.ts, checked by umoci, archived (oci-archive), converted by skopeo to a
// docker-archive (what `ctr images import` reads), and recorded in vmstation-image.json.
import { copyFile, link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { userError } from '../errors.js';
import { createRunner, type Runner } from '../power/drivers/runner.js';
import { buildLayer, exists, listTree, reproducibleTarArgs, sha256File, type BuiltLayer } from './layers.js';
import { IMAGE_METADATA_FILE, type BuiltImage } from './metadata.js';
import { containerdImportManifest, imageConfig, jsonBlob, OCI_LAYOUT, ociIndex, ociManifest, sha256Digest, type LayerBlobs } from './oci.js';
import { appStage, baseStage, nodeStage } from './stages.js';
import { DEBIAN_SUITE, NODE_RUNTIME, RUNTIME_PACKAGES, imageReference } from './spec.js';
import { requireBuildTools, requireOk } from './tools.js';

export interface ImageBuildOptions {
  /** The vmstation checkout to build (package.json, package-lock.json, dist/ built). */
  packageRoot: string;
  /** Where the archives and vmstation-image.json go. */
  outDir: string;
  /** Cached folders (Debian base, Node.js, dependencies). */
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  run?: Runner;
  now?: () => number;
}

export interface ImageBuildResult {
  image: BuiltImage;
  /** Seconds per step, for the figures. */
  timings: Record<string, number>;
  cached: { base: boolean; node: boolean; dependencies: boolean };
}

/** SOURCE_DATE_EPOCH, else the commit time of the checkout, else 0. And the commit, if known. */
export async function sourceIdentity(run: Runner, root: string, env: NodeJS.ProcessEnv): Promise<{ epoch: number; revision?: string }> {
  const head = await run('git', ['-C', root, 'log', '-1', '--format=%ct %H'], { timeoutMs: 10_000 });
  const [time, sha] = head.exitCode === 0 ? head.stdout.trim().split(' ') : [];
  let revision = sha;
  if (revision) {
    const dirty = await run('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { timeoutMs: 10_000 });
    if (dirty.exitCode === 0 && dirty.stdout.trim() !== '') revision = `${revision}-dirty`;
  }
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '' && !/^\d+$/.test(fromEnv)) throw userError('image-source-date-epoch', `SOURCE_DATE_EPOCH is "${fromEnv}", not a number of seconds`, 'unset it, or set it to a Unix time such as $(git log -1 --format=%ct)');
  const epoch = fromEnv ? Number(fromEnv) : time ? Number(time) : 0;
  return { epoch, ...(revision ? { revision } : {}) };
}

async function writeBlob(layout: string, bytes: Buffer, digest: string): Promise<void> {
  await writeFile(path.join(layout, 'blobs/sha256', digest.slice('sha256:'.length)), bytes);
}

/** Reads one member of a tar archive (the docker-archive's manifest.json and config). */
async function tarMember(run: Runner, archive: string, member: string): Promise<string> {
  return requireOk(await run('tar', ['-xOf', archive, member], { timeoutMs: 120_000 }), `reading ${member} from ${archive}`).stdout;
}

/**
 * A layer of a cached folder: the same folder and epoch give the same bytes, so the gzip blob and
 * its digests are kept (the folder's key and the epoch name them) and hard-linked into the work.
 */
async function cachedLayer(run: Runner, dir: string, cacheBase: string, workBase: string, epoch: number): Promise<BuiltLayer> {
  const record = `${cacheBase}.json`;
  let layer: BuiltLayer | undefined = await readFile(record, 'utf8').then((t) => JSON.parse(t) as BuiltLayer, () => undefined);
  if (!layer || !(await exists(layer.gz))) {
    await mkdir(path.dirname(cacheBase), { recursive: true });
    layer = await buildLayer(run, dir, cacheBase, epoch);
    await rm(layer.tar, { force: true });
    await writeFile(record, JSON.stringify(layer));
    // Only the latest epoch of a folder is kept (older commits' layers would pile up).
    const stem = path.basename(cacheBase).replace(/-\d+$/, '-');
    for (const f of await readdir(path.dirname(cacheBase))) if (f.startsWith(stem) && !f.startsWith(path.basename(cacheBase))) await rm(path.join(path.dirname(cacheBase), f), { force: true });
  }
  const gz = `${workBase}.tar.gz`;
  await rm(gz, { force: true });
  await link(layer.gz, gz).catch(() => copyFile(layer.gz, gz));
  return { ...layer, tar: '', gz };
}

export async function buildImage(opts: ImageBuildOptions): Promise<ImageBuildResult> {
  const run = opts.run ?? createRunner({ baseEnv: opts.env });
  const now = opts.now ?? Date.now;
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = now();
    try {
      return await f();
    } finally {
      timings[name] = (now() - t) / 1000;
    }
  };
  await requireBuildTools(run);
  const pkg = JSON.parse(await readFile(path.join(opts.packageRoot, 'package.json'), 'utf8')) as { version: string };
  const { repository, tag, reference } = imageReference(pkg.version);
  const { epoch, revision } = await sourceIdentity(run, opts.packageRoot, opts.env);
  const ctx = { run, cacheDir: opts.cacheDir, log: opts.log, mirror: opts.env.VMSTATION_IMAGE_MIRROR };
  await mkdir(opts.cacheDir, { recursive: true });
  const work = path.join(opts.cacheDir, `work-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const base = await timed('base', () => baseStage(ctx));
    const node = await timed('node', () => nodeStage(ctx));
    const app = await timed('app', () => appStage(ctx, opts.packageRoot, work));
    const layerInputs = [
      { dir: base.dir, cacheAs: `base-${path.basename(path.dirname(base.dir))}`, createdBy: `Debian ${DEBIAN_SUITE} runtime packages (mmdebstrap): ${RUNTIME_PACKAGES.join(' ')}` },
      { dir: node.dir, cacheAs: `node-${path.basename(path.dirname(node.dir))}`, createdBy: `Node.js ${NODE_RUNTIME.version} (${NODE_RUNTIME.npmPackage}): /usr/local/bin/node` },
      { dir: app.dir, cacheAs: undefined, createdBy: `vmstation ${pkg.version} with its production dependencies: /opt/vmstation` },
    ];
    const built: Array<BuiltLayer & { createdBy: string }> = [];
    await timed('layers', async () => {
      for (const [i, l] of layerInputs.entries()) {
        const layer = l.cacheAs ? await cachedLayer(run, l.dir, path.join(opts.cacheDir, 'layers', `${l.cacheAs}-${epoch}`), path.join(work, `layer-${i}`), epoch) : await buildLayer(run, l.dir, path.join(work, `layer-${i}`), epoch);
        built.push({ ...layer, createdBy: l.createdBy });
      }
    });
    const layers: LayerBlobs[] = built.map((l) => ({ createdBy: l.createdBy, diffId: l.diffId, uncompressedSize: l.uncompressedSize, digest: l.digest, size: l.size }));
    const labels = { version: pkg.version, revision };

    // The OCI layout, from the pure plan.
    const layout = path.join(work, 'oci');
    await mkdir(path.join(layout, 'blobs/sha256'), { recursive: true });
    for (const l of built) await rename(l.gz, path.join(layout, 'blobs/sha256', l.digest.slice('sha256:'.length)));
    const config = jsonBlob(imageConfig(layers, labels, epoch));
    const manifest = jsonBlob(ociManifest({ mediaType: '', digest: config.digest, size: config.size }, layers, labels, epoch));
    await writeBlob(layout, config.bytes, config.digest);
    await writeBlob(layout, manifest.bytes, manifest.digest);
    await writeFile(path.join(layout, 'index.json'), JSON.stringify(ociIndex({ mediaType: '', digest: manifest.digest, size: manifest.size }, tag)));
    await writeFile(path.join(layout, 'oci-layout'), JSON.stringify(OCI_LAYOUT));
    // umoci reads the layout as a runtime would: a layout it cannot stat is not shipped.
    await timed('check', async () => requireOk(await run('umoci', ['stat', '--image', `${layout}:${tag}`], { timeoutMs: 120_000 }), 'umoci stat'));

    // Archives are written beside their final names and renamed in at the end (same filesystem).
    const stem = `vmstation-${pkg.version}`;
    await mkdir(opts.outDir, { recursive: true });
    const ociArchive = path.join(opts.outDir, `.${stem}.oci.tar.${process.pid}`);
    const dockerArchive = path.join(opts.outDir, `.${stem}.docker.tar.${process.pid}`);
    await rm(dockerArchive, { force: true });
    await timed('archives', async () => {
      const list = path.join(work, 'oci.list');
      await writeFile(list, (await listTree(layout)).map((e) => `${e}\n`).join(''));
      requireOk(await run('tar', reproducibleTarArgs(layout, list, ociArchive, epoch), { timeoutMs: 600_000 }), 'tar (oci-archive)');
      requireOk(await run('skopeo', ['copy', '--quiet', `oci:${layout}:${tag}`, `docker-archive:${dockerArchive}:${reference}`], { timeoutMs: 900_000 }), 'skopeo copy (docker-archive)');
    });

    // The digest the nodes' containerd records for the docker-archive, from its own manifest.json.
    const dockerManifest = JSON.parse(await tarMember(run, dockerArchive, 'manifest.json')) as Array<{ Config: string; Layers: string[] }>;
    const configFile = dockerManifest[0]?.Config;
    if (!configFile || dockerManifest[0]?.Layers.length !== layers.length) throw userError('image-build-failed', 'skopeo wrote a docker-archive whose manifest.json does not list the image\'s config and layers');
    const dockerConfig = Buffer.from(await tarMember(run, dockerArchive, configFile), 'utf8');
    const nodeManifest = containerdImportManifest({ digest: sha256Digest(dockerConfig), size: dockerConfig.length }, layers);

    const [ociSum, dockerSum] = await Promise.all([sha256File(ociArchive), sha256File(dockerArchive)]);
    const image: BuiltImage = {
      apiVersion: 'vmstation.io/v1alpha1',
      kind: 'BuiltImage',
      repository,
      tag,
      reference,
      version: pkg.version,
      ...(revision ? { revision } : {}),
      sourceDateEpoch: epoch,
      nodeVersion: NODE_RUNTIME.version,
      ociDigest: manifest.digest,
      nodeDigest: nodeManifest.digest,
      configDigest: config.digest,
      uncompressedSize: layers.reduce((n, l) => n + l.uncompressedSize, 0),
      layers,
      ociArchive: { file: `${stem}.oci.tar`, size: ociSum.size, sha256: ociSum.digest },
      dockerArchive: { file: `${stem}.docker.tar`, size: dockerSum.size, sha256: dockerSum.digest },
    };
    // Swap the outputs in: archives first, the record last (readers trust the record).
    await rm(path.join(opts.outDir, IMAGE_METADATA_FILE), { force: true });
    await rename(ociArchive, path.join(opts.outDir, image.ociArchive.file));
    await rename(dockerArchive, path.join(opts.outDir, image.dockerArchive.file));
    const tmpRecord = path.join(opts.outDir, `.${IMAGE_METADATA_FILE}.tmp`);
    await writeFile(tmpRecord, `${JSON.stringify(image, null, 2)}\n`);
    await rename(tmpRecord, path.join(opts.outDir, IMAGE_METADATA_FILE));
    return { image, timings, cached: { base: !base.built, node: !node.built, dependencies: !app.depsBuilt } };
  } finally {
    await rm(work, { recursive: true, force: true });
    for (const f of [`.vmstation-${pkg.version}.oci.tar.${process.pid}`, `.vmstation-${pkg.version}.docker.tar.${process.pid}`]) await rm(path.join(opts.outDir, f), { force: true });
  }
}
