// Deploy's side-load step against a real containerd (Debian's 1.6.20) on the lab's masternode,
// over the managed SSH connection (ssh2, host keys checked against the lab's known_hosts): the
// step deploy plans and runs (createStepRunner), a second run that copies nothing, a node without
// ctr, a digest mismatch, an interrupted copy. containerd is started here and stopped afterwards
// (the lab boots with it disabled); everything the test made on the hosts is removed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFixture, ssh, sshOk, waitFor } from '../../../lab/test/lab-fixture.js';
import { validateText } from '../../../src/config/validate.js';
import type { Cluster } from '../../../src/config/model.js';
import { nodeAccess, type NodeAccess } from '../../../src/deploy/context.js';
import type { StepContext } from '../../../src/deploy/executor.js';
import { planDeploy } from '../../../src/deploy/plan.js';
import { NODE_IMAGE_DIR, digestRef, receiveScript, tagRef, type SideLoadImage } from '../../../src/deploy/side-load.js';
import { sideLoadNode } from '../../../src/deploy/side-load-run.js';
import { createStepRunner, type StepEnv } from '../../../src/deploy/steps.js';
import { VmstationError } from '../../../src/errors.js';
import { readBuiltImage, type BuiltImage } from '../../../src/image/metadata.js';
import { controllerImage } from '../../../src/image/reference.js';
import { mapSecrets } from '../../../src/power/drivers/secrets.js';
import { buildTestImage, cleanupTestImages } from '../../helpers/oci-runtime.js';

const NODE = 'masternode';
const ctrLs = (filter: string) => sshOk(NODE, `ctr -n k8s.io images ls ${filter}`);
let cluster: Cluster;
let built: BuiltImage;
let access: NodeAccess;
let hadContainerdState = false;

function labCluster(): Cluster {
  const file = labFixture().clusterFile;
  const r = validateText({ file, text: readFileSync(file, 'utf8') });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.cluster;
}

function stepContext(lines: string[]): StepContext {
  return { log: { line: (l) => lines.push(l), logFileFor: () => '/dev/null' }, progress: (l) => lines.push(l) };
}

/** The side-load step exactly as `deploy` plans and runs it. */
async function runPlannedStep(lines: string[]): Promise<string | void> {
  const plan = planDeploy({ cluster, manifests: [{ path: 'manifests/power-manager.yaml', component: 'power-manager' }], powerImage: controllerImage(cluster, built, built.version) });
  const step = plan.phases.find((p) => p.id === 'power')!.steps.find((s) => s.id === 'power/side-load-image')!;
  expect(step.hosts).toEqual([NODE]);
  const env = { cluster, access, now: Date.now, sleep: (ms: number) => new Promise((r) => setTimeout(r, ms)) } as unknown as StepEnv;
  return createStepRunner(env)(step, stepContext(lines));
}

const loadImage = (): SideLoadImage => ({ repository: built.repository, tag: built.tag, digest: built.nodeDigest, archive: built.dockerArchive.file, size: built.dockerArchive.size, sha256: built.dockerArchive.sha256 });

describe('side-loading the power manager image into containerd on a lab host', () => {
  beforeAll(async () => {
    cluster = labCluster();
    // As deploy reads it: vmstation-image.json, archive paths made absolute.
    built = (await readBuiltImage((await buildTestImage()).outDir))!;
    hadContainerdState = (await ssh(NODE, 'test -d /var/lib/containerd/io.containerd.content.v1.content')).code === 0;
    await sshOk(NODE, 'systemctl start containerd && ctr version >/dev/null');
    access = nodeAccess(cluster, { secrets: mapSecrets({}) });
  }, 1_800_000);

  afterAll(async () => {
    await cleanupTestImages();
    await access?.close();
    await ssh(NODE, `ctr -n k8s.io images rm $(ctr -n k8s.io images ls -q) >/dev/null 2>&1; systemctl stop containerd; rm -rf ${NODE_IMAGE_DIR}`);
    if (!hadContainerdState) await ssh(NODE, 'rm -rf /var/lib/containerd /run/containerd');
    await ssh('storagenodet3500', 'test -e /usr/bin/ctr.vmstation-test && mv /usr/bin/ctr.vmstation-test /usr/bin/ctr; systemctl stop containerd; true');
  }, 120_000);

  it('imports the docker-archive into k8s.io under its tag and digest; containerd records the digest the render pins; a second run copies nothing', async () => {
    const lines: string[] = [];
    const started = Date.now();
    expect(await runPlannedStep(lines)).toBe('1 copied, 0 already present');
    const ms = Date.now() - started;
    console.log(`side-load to ${NODE}: ${(ms / 1000).toFixed(1)} s for ${(built.dockerArchive.size / 1e6).toFixed(1)} MB (${lines.join(' | ')})`);
    // ctr's own listing: both names, the digest predicted at build time (containerd's importer).
    const listed = await ctrLs(`name==${tagRef(loadImage())} name==${digestRef(loadImage())}`);
    expect(listed).toContain(`${tagRef(loadImage())} `);
    expect(listed).toContain(`${digestRef(loadImage())} `);
    expect(listed.split('\n').filter((l) => l.includes(built.repository)).every((l) => l.includes(` ${built.nodeDigest} `))).toBe(true);
    // Content complete; the CRI plugin saw it (it adds its image-ID record, the config digest).
    expect(await sshOk(NODE, `ctr -n k8s.io images check name==${digestRef(loadImage())}`)).toMatch(/complete \(\d+\/\d+\)/);
    expect(await ctrLs(`name==${built.configDigest}`)).toContain('io.cri-containerd.image=managed');
    // Nothing left in the receiving folder.
    expect((await sshOk(NODE, `ls -A ${NODE_IMAGE_DIR}`)).trim()).toBe('');

    const again: string[] = [];
    expect(await runPlannedStep(again)).toBe('0 copied, 1 already present');
    expect(again.join('\n')).toContain(`masternode already has ${digestRef(loadImage())}: nothing copied`);
  });

  it('a node without ctr fails with the node named and the fix', async () => {
    await sshOk('storagenodet3500', 'mv /usr/bin/ctr /usr/bin/ctr.vmstation-test');
    try {
      const err = await sideLoadNode(access.pool, 'storagenodet3500', 'kubespray', loadImage()).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(VmstationError);
      expect((err as VmstationError).code).toBe('node-without-containerd');
      expect((err as VmstationError).message).toBe('storagenodet3500 has no containerd: ctr was not found (looked for /usr/local/bin/ctr, /usr/bin/ctr and on PATH)');
      expect((err as VmstationError).hint).toContain('vmstation deploy --phase kubernetes');
    } finally {
      await sshOk('storagenodet3500', 'mv /usr/bin/ctr.vmstation-test /usr/bin/ctr');
    }
  });

  it('a digest mismatch after import fails, removes the names it made and keeps the pinned name away from the wrong content', async () => {
    const wrong = { ...loadImage(), digest: `sha256:${'0'.repeat(64)}` };
    const err = await sideLoadNode(access.pool, NODE, 'kubespray', wrong).then(() => undefined, (e: unknown) => e);
    expect((err as VmstationError).code).toBe('side-load-digest-mismatch');
    expect((err as VmstationError).message).toContain(`containerd recorded ${built.nodeDigest} for ${built.repository}:${built.tag}, not the pinned ${wrong.digest}`);
    // The tag made by this import is gone; no name points at the "pinned" digest.
    expect(await ctrLs(`name==${tagRef(wrong)}`)).not.toContain(tagRef(wrong));
    expect(await ctrLs(`name==${digestRef(wrong)}`)).not.toContain(digestRef(wrong));
  });

  it('an interrupted copy leaves no archive (temporary name, removed) and the next run copies again', async () => {
    const img = loadImage();
    await sshOk(NODE, `ctr -n k8s.io images rm ${tagRef(img)} ${digestRef(img)} >/dev/null 2>&1; true`);
    // A source that fails after 8 MB: the channel closes mid-copy.
    let sent = 0;
    const failing = new Readable({
      read() {
        if (sent >= 8_000_000) return this.destroy(new Error('disk read error (test)'));
        sent += 1_000_000;
        this.push(Buffer.alloc(1_000_000, 1));
      },
    });
    const r = await access.pool.execWithInput(NODE, receiveScript(img), () => failing, 60_000);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('local input failed: disk read error (test)');
    expect(r.stderr).toContain('vmstation-side-load size 8000000');
    // The remote side notices the closed input, fails its size check and its trap removes the file.
    await waitFor('no temporary archive left', async () => ((await sshOk(NODE, `ls -A ${NODE_IMAGE_DIR} | grep -c . || true`)).trim() === '0' ? true : undefined), 30_000);
    const retried = await sideLoadNode(access.pool, NODE, 'kubespray', img);
    expect(retried.copied).toBe(true);
    expect(await ctrLs(`name==${digestRef(img)}`)).toContain(` ${img.digest} `);
    expect(path.basename(img.archive)).toBe(`vmstation-${built.tag}.docker.tar`);
  });
});
