import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveName, checkImported, decideSideLoad, digestRef, nodeContainerd, parseAnswer, receiveScript, shq, tagRef, type SideLoadImage } from '../../../src/deploy/side-load.js';

const digest = `sha256:${'ab'.repeat(32)}`;
const other = `sha256:${'cd'.repeat(32)}`;
const image: SideLoadImage = { repository: 'ghcr.io/vmstation/vmstation', tag: '0.1.0', digest, archive: '/tmp/x.tar', size: 5, sha256: `sha256:${'0'.repeat(64)}` };

// `ctr -n k8s.io images ls` output as containerd 1.6.20 prints it (tabwriter; SIZE has a space).
const lsOutput = (rows: Array<[string, string]>) =>
  ['REF                                    TYPE                                                 DIGEST   SIZE      PLATFORMS   LABELS ', ...rows.map(([ref, d]) => `${ref} application/vnd.docker.distribution.manifest.v2+json ${d} 175.9 MiB linux/amd64 -      `)].join('\n');

describe('side-load planning (pure)', () => {
  it('reads the real `ctr -n k8s.io images ls` output of containerd 1.6.20 (recorded on a lab host after an import)', () => {
    const recorded = readFileSync('test/fixtures/containerd/ctr-1.6.20-images-ls.txt', 'utf8');
    const recordedDigest = 'sha256:6f7dfda4e0be4b5da54a2a995451c320c139c12d528a36bc1336a55d5c57da33';
    const img = { ...image, digest: recordedDigest };
    const answer = parseAnswer(`vmstation-side-load ctr /usr/bin/ctr\nvmstation-side-load images\n${recorded}`);
    expect(answer.images).toEqual({
      [tagRef(img)]: recordedDigest,
      [digestRef(img)]: recordedDigest,
      // the CRI plugin's own record, named by the image ID (config digest)
      'sha256:bc7a45ab7120dde545d50f7d11f90625c805cce68c119ef8b2a307bff5bfdc91': recordedDigest,
    });
    expect(decideSideLoad('masternode', 'kubespray', img, answer).kind).toBe('present');
    expect(checkImported(img, answer)).toEqual({ ok: true });
  });

  it("uses the method's containerd: RKE2's own socket and ctr, else /run/containerd with ctr from Kubespray's bin_dir or the distribution", () => {
    expect(nodeContainerd('rke2')).toEqual({ address: '/run/k3s/containerd/containerd.sock', ctrCandidates: ['/var/lib/rancher/rke2/bin/ctr'] });
    expect(nodeContainerd('kubespray')).toEqual({ address: '/run/containerd/containerd.sock', ctrCandidates: ['/usr/local/bin/ctr', '/usr/bin/ctr'] });
    expect(nodeContainerd('kubeadm')).toEqual(nodeContainerd('kubespray'));
  });

  it('skips the copy when the node has the image by digest; copies otherwise', () => {
    const present = parseAnswer(`vmstation-side-load ctr /usr/bin/ctr\nvmstation-side-load images\n${lsOutput([[tagRef(image), digest], [digestRef(image), digest]])}\n`);
    expect(present.ctr).toBe('/usr/bin/ctr');
    expect(present.images).toEqual({ [tagRef(image)]: digest, [digestRef(image)]: digest });
    expect(decideSideLoad('masternode', 'kubespray', image, present)).toEqual({ kind: 'present', message: `masternode already has ${digestRef(image)}: nothing copied` });
    const older = parseAnswer(`vmstation-side-load ctr /usr/bin/ctr\nvmstation-side-load images\n${lsOutput([[tagRef(image), other]])}\n`);
    expect(decideSideLoad('masternode', 'kubespray', image, older).kind).toBe('load');
    const empty = parseAnswer(`vmstation-side-load ctr /usr/bin/ctr\nvmstation-side-load images\n${lsOutput([])}\n`);
    expect(decideSideLoad('masternode', 'kubespray', image, empty).kind).toBe('load');
  });

  it('a node without ctr or with containerd down fails with the node named and the fix', () => {
    const noCtr = decideSideLoad('masternode', 'kubeadm', image, parseAnswer('vmstation-side-load no-ctr\n'));
    expect(noCtr).toMatchObject({ kind: 'no-containerd', message: 'masternode has no containerd: ctr was not found (looked for /usr/local/bin/ctr, /usr/bin/ctr and on PATH)' });
    expect(noCtr.kind === 'no-containerd' && noCtr.hint).toContain('vmstation deploy --phase kubernetes');
    const down = decideSideLoad('s1', 'rke2', image, parseAnswer('vmstation-side-load ctr /var/lib/rancher/rke2/bin/ctr\nvmstation-side-load no-daemon\n'));
    expect(down).toMatchObject({ kind: 'no-containerd', message: 's1: containerd does not answer on /run/k3s/containerd/containerd.sock (ctr is /var/lib/rancher/rke2/bin/ctr)' });
  });

  it('a digest mismatch after import is caught and names what to remove', () => {
    expect(checkImported(image, parseAnswer(`vmstation-side-load images\n${lsOutput([[tagRef(image), digest], [digestRef(image), digest]])}`))).toEqual({ ok: true });
    const bad = checkImported(image, parseAnswer(`vmstation-side-load images\n${lsOutput([[tagRef(image), other]])}`));
    expect(bad).toEqual({ ok: false, actual: other, remove: [tagRef(image), `${image.repository}@${other}`] });
    expect(checkImported(image, parseAnswer('vmstation-side-load images\n'))).toEqual({ ok: false, actual: undefined, remove: [tagRef(image)] });
  });

  it('quotes for sh, and names the archive by tag and digest', () => {
    expect(shq("it's")).toBe(`'it'\\''s'`);
    expect(archiveName(image)).toBe('vmstation-0.1.0-abababababab.docker.tar');
  });
});

/** Runs the receive script with the real sh, `input` on its standard input. */
function receive(dir: string, img: SideLoadImage, input: Buffer): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('sh', ['-c', receiveScript(img, dir)], (err, _out, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }));
    child.stdin!.end(input);
  });
}

describe('receiving the archive on the node (real sh, coreutils)', () => {
  const data = Buffer.from('docker-archive bytes');
  const good: SideLoadImage = { ...image, size: data.length, sha256: `sha256:${createHash('sha256').update(data).digest('hex')}` };

  it('a complete copy is checked and renamed; nothing temporary is left', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-recv-'));
    writeFileSync(path.join(dir, `.${archiveName(good)}.partial.123`), 'left over from an interrupted copy');
    expect(await receive(dir, good, data)).toEqual({ code: 0, stderr: '' });
    expect(readdirSync(dir)).toEqual([archiveName(good)]);
  });

  it('a short copy (interrupted) or wrong bytes leave no archive and no temporary file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-recv-'));
    const short = await receive(dir, good, data.subarray(0, 5));
    expect(short.code).toBe(3);
    expect(short.stderr).toContain('vmstation-side-load size 5');
    const wrong = await receive(dir, good, Buffer.from('docker-archive bytez'));
    expect(wrong.code).toBe(4);
    expect(readdirSync(dir)).toEqual([]);
  });
});
