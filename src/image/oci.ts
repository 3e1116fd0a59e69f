// The image's JSON documents, planned from values: the OCI image config, manifest and index the
// build writes, and the Docker manifest containerd makes when it imports the docker-archive (the
// digest the nodes record, which the render pins). Pure: bytes in, bytes and digests out.
import { createHash } from 'node:crypto';
import { IMAGE_DESCRIPTION, IMAGE_LICENSES, IMAGE_PATH, IMAGE_SOURCE, IMAGE_TITLE, IMAGE_UID } from './spec.js';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

/** One built layer: its uncompressed tar (diff id) and the gzip blob stored in the layout. */
export interface LayerBlobs {
  /** What the layer holds, for the image history. */
  createdBy: string;
  diffId: string;
  uncompressedSize: number;
  digest: string;
  size: number;
}

export interface ImageLabels {
  version: string;
  /** Commit the image was built from; omitted when unknown (not a git checkout). */
  revision?: string | undefined;
}

export function sha256Digest(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A JSON document as stored: compact, keys in the order written, UTF-8. */
export function jsonBlob(value: unknown): { bytes: Buffer; digest: string; size: number } {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  return { bytes, digest: sha256Digest(bytes), size: bytes.length };
}

/** The time every file and every record of the build carries (SOURCE_DATE_EPOCH), as RFC 3339. */
export function epochTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

export function imageLabels(labels: ImageLabels, epochSeconds: number): Record<string, string> {
  const all: Record<string, string> = {
    'org.opencontainers.image.created': epochTime(epochSeconds),
    'org.opencontainers.image.description': IMAGE_DESCRIPTION,
    'org.opencontainers.image.licenses': IMAGE_LICENSES,
    ...(labels.revision ? { 'org.opencontainers.image.revision': labels.revision } : {}),
    'org.opencontainers.image.source': IMAGE_SOURCE,
    'org.opencontainers.image.title': IMAGE_TITLE,
    'org.opencontainers.image.version': labels.version,
  };
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The OCI image config (image-spec config.md): user, entrypoint, default command, labels, layers. */
export function imageConfig(layers: readonly LayerBlobs[], labels: ImageLabels, epochSeconds: number): Record<string, unknown> {
  const created = epochTime(epochSeconds);
  return {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: `${IMAGE_UID}:${IMAGE_UID}`,
      Env: [`PATH=${IMAGE_PATH}`],
      Entrypoint: ['vmstation'],
      Cmd: ['power', 'controller', '--in-cluster'],
      WorkingDir: '/',
      Labels: imageLabels(labels, epochSeconds),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created, created_by: l.createdBy })),
  };
}

export function ociManifest(config: Descriptor, layers: readonly LayerBlobs[], labels: ImageLabels, epochSeconds: number): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: MEDIA_TYPES.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.ociLayerGzip, digest: l.digest, size: l.size })),
    annotations: imageLabels(labels, epochSeconds),
  };
}

/** index.json of the OCI layout: one manifest, named by its tag (what `oci:DIR:TAG` selects). */
export function ociIndex(manifest: Descriptor, tag: string): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      {
        mediaType: MEDIA_TYPES.ociManifest,
        digest: manifest.digest,
        size: manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': tag },
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ],
  };
}

export const OCI_LAYOUT = { imageLayoutVersion: '1.0.0' } as const;

/**
 * The manifest containerd writes when it imports a docker-archive (`ctr images import`): Docker
 * schema 2, the config blob as it is in the archive, the layers uncompressed. Its digest is what
 * the node's image store records as the image's target, so it is what the Deployment pins.
 * Source: containerd v1.6.20, v1.7.27, v2.0.5 and v2.1.4 `images/archive/importer.go` `ImportIndex`
 * (identical in all four): `struct{SchemaVersion, MediaType, Config, Layers}` marshalled by
 * encoding/json; config media type `MediaTypeDockerSchema2Config`; each layer
 * `MediaTypeDockerSchema2Layer` (uncompressed, when `--compress-blobs` is not given and the store
 * holds no compressed blob labelled with that diff id).
 */
export function containerdImportManifest(config: { digest: string; size: number }, layers: readonly LayerBlobs[]): { bytes: Buffer; digest: string; size: number } {
  return jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.dockerLayer, digest: l.diffId, size: l.uncompressedSize })),
  });
}
