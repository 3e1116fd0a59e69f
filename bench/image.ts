// The power manager image: build time cold (empty cache; only with BENCH_IMAGE_COLD=1, it takes
// minutes) and cached, its size, and the side-load to one lab host (masternode's containerd,
// when a lab is up). Needs root (mmdebstrap) and the Debian packages umoci and skopeo.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labPaths } from '../lab/paths.js';
import { defaultImageCacheDir } from '../src/cli/verbs/image.js';
import { validateText } from '../src/config/validate.js';
import { nodeAccess } from '../src/deploy/context.js';
import { sideLoadNode } from '../src/deploy/side-load-run.js';
import { buildImage, type ImageBuildResult } from '../src/image/build.js';
import { readBuiltImage } from '../src/image/metadata.js';
import { mapSecrets } from '../src/power/drivers/secrets.js';
import { report } from './_util.js';

const repo = path.resolve(import.meta.dirname, '..');
const seconds = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
const detail = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');

async function build(cacheDir: string): Promise<ImageBuildResult & { outDir: string }> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-image-'));
  return { ...(await buildImage({ packageRoot: repo, outDir, cacheDir, env: process.env, log: () => undefined })), outDir };
}

const outs: string[] = [];
try {
  if (process.env.BENCH_IMAGE_COLD === '1') {
    const cold = mkdtempSync(path.join(os.tmpdir(), 'bench-image-cache-'));
    const r = await build(cold);
    outs.push(r.outDir, cold);
    report('build, empty cache', `${seconds(r.timings).toFixed(1)} s`);
    console.log(`  (${detail(r.timings)})`);
  }
  await build(defaultImageCacheDir(process.env)).then((r) => outs.push(r.outDir)); // fill the cache
  const cached = await build(defaultImageCacheDir(process.env));
  outs.push(cached.outDir);
  const img = cached.image;
  report('build, cached', `${seconds(cached.timings).toFixed(1)} s`);
  console.log(`  (${detail(cached.timings)})`);
  report('image size, unpacked', `${(img.uncompressedSize / 1e6).toFixed(1)} MB`, '< 200 MB (node:20-bookworm-slim)', img.uncompressedSize < 200e6);
  for (const l of img.layers) report(`  layer: ${l.createdBy.split(':')[0]!.slice(0, 50)}`, `${(l.uncompressedSize / 1e6).toFixed(1)} MB`);
  report('oci-archive (gzip layers) / docker-archive', `${(img.ociArchive.size / 1e6).toFixed(1)} / ${(img.dockerArchive.size / 1e6).toFixed(1)} MB`);

  const fixture = labPaths().fixtureFile;
  if (!existsSync(fixture)) {
    console.log('no running lab: the side-load figure needs `npm run lab -- up` (as root)');
  } else {
    const lab = JSON.parse(readFileSync(fixture, 'utf8')) as { clusterFile: string };
    const { cluster } = validateText({ file: lab.clusterFile, text: readFileSync(lab.clusterFile, 'utf8') });
    const access = nodeAccess(cluster!, { secrets: mapSecrets({}) });
    const sh = (cmd: string) => access.pool.exec('masternode', cmd, 120_000);
    try {
      await sh('systemctl start containerd');
      const built = (await readBuiltImage(cached.outDir))!;
      const load = { repository: built.repository, tag: built.tag, digest: built.nodeDigest, archive: built.dockerArchive.file, size: built.dockerArchive.size, sha256: built.dockerArchive.sha256 };
      await sh(`ctr -n k8s.io images rm ${built.repository}:${built.tag} ${built.repository}@${built.nodeDigest} >/dev/null 2>&1; true`);
      const first = await sideLoadNode(access.pool, 'masternode', 'kubespray', load);
      const again = await sideLoadNode(access.pool, 'masternode', 'kubespray', load);
      report('side-load to one lab host (copy, sha256, import, check)', `${(first.ms / 1000).toFixed(1)} s`);
      report('side-load when the node has the digest', `${(again.ms / 1000).toFixed(2)} s`);
    } finally {
      await sh('ctr -n k8s.io images rm $(ctr -n k8s.io images ls -q) >/dev/null 2>&1; systemctl stop containerd; rm -rf /var/lib/vmstation').catch(() => undefined);
      await access.close();
    }
  }
} finally {
  for (const d of outs) rmSync(d, { recursive: true, force: true });
}
