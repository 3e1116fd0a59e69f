// The offline image build for real: mmdebstrap (cached base), the pinned Node.js, the package;
// built twice from this commit (same digests, same archive bytes), then run with the real runc.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner } from '../../../src/adapters/process/index.js';
import type { ImageBuildResult } from '../../../src/image/build.js';
import { readBuiltImage } from '../../../src/image/metadata.js';
import { buildTestImage, cleanupTestImages, runcRun, unpackBundle, writePodShape } from '../../helpers/oci-runtime.js';

const run = createRunner();
let first: ImageBuildResult & { outDir: string };
let second: ImageBuildResult & { outDir: string };
let bundle: string;

describe('the power manager image, built offline', () => {
  afterAll(() => cleanupTestImages());

  beforeAll(async () => {
    first = await buildTestImage((l) => console.log(`image build: ${l}`));
    second = await buildTestImage();
    bundle = await unpackBundle(path.join(first.outDir, first.image.ociArchive.file), first.image.tag);
  }, 1_800_000);

  it('is reproducible: two builds from the same commit give the same digests and the same archive bytes', () => {
    const a = first.image;
    const b = second.image;
    expect(b.ociDigest).toBe(a.ociDigest);
    expect(b.nodeDigest).toBe(a.nodeDigest);
    expect(b.configDigest).toBe(a.configDigest);
    expect(b.layers).toEqual(a.layers);
    expect(b.ociArchive.sha256).toBe(a.ociArchive.sha256);
    expect(b.dockerArchive.sha256).toBe(a.dockerArchive.sha256);
    console.log(`image: ${a.reference} ${a.nodeDigest}, ${(a.uncompressedSize / 1e6).toFixed(1)} MB unpacked, build ${JSON.stringify(first.timings)} then ${JSON.stringify(second.timings)}`);
  });

  it('is smaller than node:20-bookworm-slim (about 200 MB unpacked): three layers, Debian base, Node.js, the package', () => {
    const img = first.image;
    expect(img.uncompressedSize).toBeLessThan(200_000_000);
    expect(img.layers.map((l) => l.createdBy.split(' ')[0])).toEqual(['Debian', 'Node.js', 'vmstation']);
    expect(img.nodeVersion).toBe('20.20.2');
  });

  it('records what render and deploy read back (vmstation-image.json)', async () => {
    const back = await readBuiltImage(first.outDir);
    expect(back?.nodeDigest).toBe(first.image.nodeDigest);
    expect(back?.dockerArchive.file).toBe(path.join(first.outDir, first.image.dockerArchive.file));
  });

  it("skopeo reads both archives; its docker-archive carries the image's config unchanged and the tag", async () => {
    const img = first.image;
    const oci = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${path.join(first.outDir, img.ociArchive.file)}:${img.tag}`])).stdout) as { config: { digest: string } };
    expect(oci.config.digest).toBe(img.configDigest);
    const docker = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${path.join(first.outDir, img.dockerArchive.file)}`])).stdout) as { Labels: Record<string, string>; RepoTags: string[]; Layers: string[] };
    expect(docker.Labels['org.opencontainers.image.version']).toBe(img.version);
    expect(docker.Labels['org.opencontainers.image.source']).toBe('https://github.com/vmstation/vmstation');
    expect(docker.Labels['org.opencontainers.image.revision']).toBe(img.revision);
    const manifest = JSON.parse((await run('tar', ['-xOf', path.join(first.outDir, img.dockerArchive.file), 'manifest.json'])).stdout) as Array<{ Config: string; RepoTags: string[] }>;
    expect(manifest[0]!.RepoTags).toEqual([img.reference]);
    // The config blob is kept byte for byte (what containerd's import digest is computed from).
    expect(`sha256:${manifest[0]!.Config.replace(/\.json$/, '')}`).toBe(img.configDigest);
  });

  it('umoci unpacks it to the image config: user 65532, the CLI as entrypoint, the in-cluster controller as command', () => {
    const spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; user: { uid: number; gid: number } } };
    expect(spec.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    expect(spec.process.args).toEqual(['vmstation', 'power', 'controller', '--in-cluster']);
  });

  it('runc, as 65532 on a read-only root: `vmstation --version` and `power controller --help` print the labelled version; ipmitool and the CA bundle are there', async () => {
    const version = first.image.version;
    writePodShape(bundle, { args: ['vmstation', '--version'] });
    expect(await runcRun(bundle, `vmstation-version-${process.pid}`)).toMatchObject({ code: 0, stdout: `${version}\n` });
    writePodShape(bundle, { args: ['vmstation', 'power', 'controller', '--help'] });
    const help = await runcRun(bundle, `vmstation-help-${process.pid}`);
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(`(what the in-cluster Deployment runs; vmstation ${version})`);
    writePodShape(bundle, { args: ['ipmitool', '-V'] });
    expect((await runcRun(bundle, `vmstation-ipmitool-${process.pid}`)).stdout).toMatch(/^ipmitool version 1\.8\./);
    writePodShape(bundle, { args: ['node', '-e', 'const fs=require("fs");fs.accessSync("/etc/ssl/certs/ca-certificates.crt");try{fs.writeFileSync("/opt/x","")}catch(e){console.log(e.code)};console.log(process.getuid(),process.getgid(),process.version)'] });
    expect((await runcRun(bundle, `vmstation-node-${process.pid}`)).stdout).toBe('EROFS\n65532 65532 v20.20.2\n');
  });
});
