// vmstation reset with Kubespray: asks for the cluster name, runs reset.yml (the stand-in's, with
// Kubespray's confirmation prompt answered) over real SSH to a loopback sshd, forgets the state.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubesprayLocation } from '../../../src/deploy/kubespray.js';
import { runReset } from '../../../src/deploy/reset.js';
import { kubesprayRenderer } from '../../../src/render/kubespray/index.js';
import { REPO, clusterFromText } from '../../unit/deploy/helpers.js';
import { startSshd, type SshdFixture } from '../power-controller/sshd-fixture.js';

describe('reset (Kubespray stand-in)', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('refuses without the cluster name, then resets and forgets the deploy state', async () => {
    const cluster = clusterFromText(`apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: standin }
spec:
  network: { subnet: 127.0.0.0/8 }
  ssh: { user: root, port: ${sshd.port}, privateKey: ${sshd.clientKey}, knownHosts: ${sshd.knownHosts} }
  nodes:
    - { name: cp1, address: 127.0.0.1, os: debian-12, roles: [control-plane] }
`);
    const dir = mkdtempSync(path.join(tmpdir(), 'reset-'));
    const marker = path.join(dir, 'marker');
    writeFileSync(path.join(dir, 'state.json'), '{}');
    writeFileSync(path.join(dir, 'kubeconfig'), 'x');
    mkdirSync(marker);
    writeFileSync(path.join(marker, 'cp1.txt'), 'installed\n');
    const opts = (input: PassThrough, out: PassThrough, yes = false) => ({
      cluster,
      artifacts: kubesprayRenderer.render(cluster).concat([{ path: 'index.json', content: '{}', component: 'index', checker: 'json' as const }]),
      renderDir: path.join(dir, 'render'),
      knownHosts: sshd.knownHosts,
      kubespray: { loc: kubesprayLocation(path.join(dir, 'cache'), `${REPO}test/fixtures/kubespray-standin`), python: '/usr/bin/python3', env: { STANDIN_STATE_DIR: marker } },
      stateFile: path.join(dir, 'state.json'),
      kubeconfig: path.join(dir, 'kubeconfig'),
      logFile: path.join(dir, 'reset.log'),
      yes,
      out,
      input,
    });
    let text = '';
    const out = new PassThrough();
    out.on('data', (d: Buffer) => (text += d.toString()));
    const wrong = new PassThrough();
    const refused = runReset(opts(wrong, out));
    wrong.write('yes\n');
    await expect(refused).rejects.toMatchObject({ code: 'not-confirmed', message: 'reset cancelled: "yes" is not the cluster name' });
    expect(text).toContain('Type the cluster name (standin) to confirm: ');
    expect(existsSync(path.join(marker, 'cp1.txt'))).toBe(true);

    const right = new PassThrough();
    const done = runReset(opts(right, out));
    right.write('standin\n');
    expect(await done).toBe('standin: kubespray reset on 1 node(s); deploy state forgotten');
    expect(existsSync(path.join(marker, 'cp1.txt'))).toBe(false);
    expect(existsSync(path.join(dir, 'state.json'))).toBe(false);
    expect(existsSync(path.join(dir, 'kubeconfig'))).toBe(false);
  }, 180_000);
});
