// vmstation image build [--out DIR] [--cache-dir DIR] [-o json]: the power manager's image,
// built offline (mmdebstrap, umoci, skopeo; no Docker engine, no registry).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildImage } from '../../image/build.js';
import { formatSize, imageDir } from '../../image/metadata.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { withOutput, type OutputFlags } from '../options.js';

/** The vmstation checkout this CLI runs from (dist/cli/verbs -> the package root). */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export function defaultImageCacheDir(env: NodeJS.ProcessEnv): string {
  return env.VMSTATION_IMAGE_CACHE_DIR ?? path.join(path.dirname(imageDir(env)), 'image-build');
}

export function registerImage(program: Command, io: CliIo): void {
  const image = program.command('image').description("the power manager's container image: build it offline, reproducibly");
  withOutput(image.command('build'))
    .description('build the OCI image of `vmstation power controller` (Debian 12 base, Node.js 20, ipmitool, this package) as an oci-archive and a docker-archive, and record its digest for render and deploy')
    .option('--out <dir>', 'where the archives and vmstation-image.json go (default: $VMSTATION_IMAGE_DIR or ~/.cache/vmstation/image)')
    .option('--cache-dir <dir>', 'cache of the Debian base, Node.js and the dependencies (default: $VMSTATION_IMAGE_CACHE_DIR or ~/.cache/vmstation/image-build)')
    .action(async (flags: OutputFlags & { out?: string; cacheDir?: string }) => {
      const outDir = path.resolve(io.cwd, flags.out ?? imageDir(io.env));
      const quiet = flags.output === 'json';
      const result = await buildImage({
        packageRoot: packageRoot(),
        outDir,
        cacheDir: path.resolve(io.cwd, flags.cacheDir ?? defaultImageCacheDir(io.env)),
        env: io.env,
        log: (line) => (quiet ? undefined : writeLine(io.stderr, line)),
      });
      if (flags.output === 'json') return writeJson(io.stdout, result);
      const img = result.image;
      writeLine(io.stdout, `built ${img.reference} (revision ${img.revision ?? 'unknown'}, SOURCE_DATE_EPOCH ${img.sourceDateEpoch})`);
      writeLine(io.stdout, `  digest on the nodes (docker-archive imported by containerd): ${img.nodeDigest}`);
      writeLine(io.stdout, `  OCI manifest digest (oci-archive):                           ${img.ociDigest}`);
      writeLine(io.stdout, `  size: ${formatSize(img.uncompressedSize)} unpacked in ${img.layers.length} layers; docker-archive ${formatSize(img.dockerArchive.size)}, oci-archive ${formatSize(img.ociArchive.size)}`);
      writeLine(io.stdout, `  ${path.join(outDir, img.dockerArchive.file)}`);
      writeLine(io.stdout, `  ${path.join(outDir, img.ociArchive.file)}`);
      writeLine(io.stdout, `  took ${Object.entries(result.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
    });
}
