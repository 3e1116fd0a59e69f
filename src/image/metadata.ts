// The record a build leaves beside its archives (`vmstation-image.json`): what `render` pins,
// what `plan` shows and what `deploy` side-loads. Reading it is the only way the rest of
// vmstation learns about a built image.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { userError } from '../errors.js';

export const IMAGE_METADATA_FILE = 'vmstation-image.json';

const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const Archive = z.object({ file: z.string(), size: z.number().int().positive(), sha256: Digest });

export const BuiltImageSchema = z.object({
  apiVersion: z.literal('vmstation.io/v1alpha1'),
  kind: z.literal('BuiltImage'),
  repository: z.string(),
  tag: z.string(),
  /** repository:tag */
  reference: z.string(),
  version: z.string(),
  revision: z.string().optional(),
  sourceDateEpoch: z.number().int().nonnegative(),
  nodeVersion: z.string(),
  /** Digest of the OCI manifest (oci-archive; what a registry would serve after `skopeo copy`). */
  ociDigest: Digest,
  /** Digest containerd records when it imports the docker-archive: what the render pins. */
  nodeDigest: Digest,
  configDigest: Digest,
  /** Sum of the uncompressed layers (what the image takes unpacked). */
  uncompressedSize: z.number().int().positive(),
  layers: z.array(z.object({ createdBy: z.string(), diffId: Digest, uncompressedSize: z.number().int(), digest: Digest, size: z.number().int() })),
  ociArchive: Archive,
  dockerArchive: Archive,
});
export type BuiltImage = z.infer<typeof BuiltImageSchema>;

/** Where `vmstation image build` writes and everything else reads (VMSTATION_IMAGE_DIR moves it). */
export function imageDir(env: NodeJS.ProcessEnv): string {
  if (env.VMSTATION_IMAGE_DIR) return env.VMSTATION_IMAGE_DIR;
  const home = env.HOME ?? os.homedir();
  const cache = env.VMSTATION_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(home, '.cache'), 'vmstation');
  return path.join(cache, 'image');
}

/** The image the folder holds, its archives' paths made absolute; undefined when none was built. */
export async function readBuiltImage(dir: string): Promise<BuiltImage | undefined> {
  const file = path.join(dir, IMAGE_METADATA_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: BuiltImage;
  try {
    parsed = BuiltImageSchema.parse(JSON.parse(text));
  } catch (err) {
    throw userError('image-metadata-invalid', `${file} is not a vmstation image record: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, 'build the image again: vmstation image build');
  }
  return {
    ...parsed,
    ociArchive: { ...parsed.ociArchive, file: path.resolve(dir, parsed.ociArchive.file) },
    dockerArchive: { ...parsed.dockerArchive, file: path.resolve(dir, parsed.dockerArchive.file) },
  };
}

/** The built image when it is for this vmstation version; an older build does not count. */
export async function builtImageFor(env: NodeJS.ProcessEnv, version: string): Promise<BuiltImage | undefined> {
  const img = await readBuiltImage(imageDir(env));
  return img && img.version === version ? img : undefined;
}

export function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
