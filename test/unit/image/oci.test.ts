import { describe, expect, it } from 'vitest';
import { containerdImportManifest, epochTime, imageConfig, jsonBlob, MEDIA_TYPES, ociIndex, ociManifest, sha256Digest, type LayerBlobs } from '../../../src/image/oci.js';
import { IMAGE_REPOSITORY, IMAGE_UID, appDependenciesKey, baseLayerKey, baseRootfsKey, imageReference } from '../../../src/image/spec.js';
import { IMAGES } from '../../../src/render/k8s/common.js';
import { VERSION } from '../../../src/cli/version.js';
import { readFileSync } from 'node:fs';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const layers: LayerBlobs[] = [
  { createdBy: 'base', diffId: d('1'), uncompressedSize: 1000, digest: d('a'), size: 400 },
  { createdBy: 'node', diffId: d('2'), uncompressedSize: 2000, digest: d('b'), size: 800 },
];
const EPOCH = 1_700_000_000;

describe('the image plan (pure)', () => {
  it('config: non-root 65532, entrypoint the CLI, default command the in-cluster controller, OCI labels', () => {
    const c = imageConfig(layers, { version: '0.1.0', revision: 'abc123' }, EPOCH) as { config: Record<string, unknown>; rootfs: unknown; history: unknown[]; created: string; architecture: string; os: string };
    expect(c.config['User']).toBe(`${IMAGE_UID}:${IMAGE_UID}`);
    expect(IMAGE_UID).toBe(65532); // the Deployment's runAsUser / runAsGroup
    expect(c.config['Entrypoint']).toEqual(['vmstation']);
    expect(c.config['Cmd']).toEqual(['power', 'controller', '--in-cluster']);
    // https://github.com/opencontainers/image-spec/blob/v1.1.0/annotations.md (pre-defined keys)
    expect(c.config['Labels']).toMatchObject({
      'org.opencontainers.image.source': 'https://github.com/vmstation/vmstation',
      'org.opencontainers.image.version': '0.1.0',
      'org.opencontainers.image.revision': 'abc123',
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
    });
    // image-spec v1.1.0 config.md: rootfs.type "layers", diff_ids in order, one history entry per layer
    expect(c.rootfs).toEqual({ type: 'layers', diff_ids: [d('1'), d('2')] });
    expect(c.history).toEqual([{ created: '2023-11-14T22:13:20Z', created_by: 'base' }, { created: '2023-11-14T22:13:20Z', created_by: 'node' }]);
    expect([c.architecture, c.os, c.created]).toEqual(['amd64', 'linux', epochTime(EPOCH)]);
  });

  it('omits the revision label when the commit is unknown, and keeps labels sorted', () => {
    const c = imageConfig(layers, { version: '0.1.0' }, EPOCH) as { config: { Labels: Record<string, string> } };
    expect(Object.keys(c.config.Labels)).not.toContain('org.opencontainers.image.revision');
    expect(Object.keys(c.config.Labels)).toEqual([...Object.keys(c.config.Labels)].sort());
  });

  it('manifest and index: OCI media types, gzip layers, the tag as ref.name (what oci:DIR:TAG selects)', () => {
    const config = jsonBlob(imageConfig(layers, { version: '0.1.0' }, EPOCH));
    const m = ociManifest({ mediaType: '', digest: config.digest, size: config.size }, layers, { version: '0.1.0' }, EPOCH) as { mediaType: string; config: unknown; layers: unknown[] };
    expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(m.config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size });
    expect(m.layers).toEqual([
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('a'), size: 400 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('b'), size: 800 },
    ]);
    const idx = ociIndex({ mediaType: '', digest: d('c'), size: 5 }, '0.1.0') as { manifests: Array<{ annotations: Record<string, string> }> };
    expect(idx.manifests[0]!.annotations).toEqual({ 'org.opencontainers.image.ref.name': '0.1.0' });
  });

  it('the same inputs give the same bytes (no build timestamps)', () => {
    const a = jsonBlob(imageConfig(layers, { version: '0.1.0', revision: 'x' }, EPOCH));
    const b = jsonBlob(imageConfig(layers, { version: '0.1.0', revision: 'x' }, EPOCH));
    expect(b.digest).toBe(a.digest);
    expect(jsonBlob(imageConfig(layers, { version: '0.1.0', revision: 'x' }, EPOCH + 1)).digest).not.toBe(a.digest);
  });

  it("predicts containerd's docker-archive manifest byte for byte (encoding/json of the importer's struct)", () => {
    // containerd v1.6.20..v2.1.4 images/archive/importer.go ImportIndex: struct{SchemaVersion int
    // `json:"schemaVersion"`; MediaType string; Config ocispec.Descriptor; Layers []ocispec.Descriptor},
    // config media type MediaTypeDockerSchema2Config, uncompressed layers MediaTypeDockerSchema2Layer;
    // ocispec.Descriptor marshals mediaType, digest, size (the rest omitempty).
    const m = containerdImportManifest({ digest: d('f'), size: 1234 }, layers);
    const expected =
      `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
      `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"${d('f')}","size":1234},` +
      `"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"${d('1')}","size":1000},` +
      `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"${d('2')}","size":2000}]}`;
    expect(m.bytes.toString()).toBe(expected);
    expect(m.digest).toBe(sha256Digest(expected));
    expect(MEDIA_TYPES.dockerManifest).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  it('names the image after the package version; the unpinned reference is the render default', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(imageReference(pkg.version)).toEqual({ repository: IMAGE_REPOSITORY, tag: pkg.version, reference: `${IMAGE_REPOSITORY}:${pkg.version}` });
    expect(IMAGES.vmstation).toBe(imageReference(VERSION).reference);
  });

  it('cache keys change with their inputs only', () => {
    expect(baseRootfsKey()).toBe(baseRootfsKey());
    expect(baseLayerKey()).not.toBe(baseRootfsKey());
    expect(appDependenciesKey(d('1'))).not.toBe(appDependenciesKey(d('2')));
  });
});
