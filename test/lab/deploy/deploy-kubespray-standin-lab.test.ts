// `vmstation deploy --phase kubernetes` through the CLI on the lab hosts, with the Kubespray
// stand-in (test/fixtures/kubespray-standin, NOT Kubespray) given by --kubespray-dir: the venv is
// prepared, Kubespray's inventory checks pass, cluster.yml runs over SSH on the three lab hosts
// with the rendered inventory and group_vars, and the admin kubeconfig it writes (here: the lab's
// Kubernetes API stand-in's, via STANDIN_KUBECONFIG) is fetched into the state folder.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { labFixture, sshOk } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../src/cli/main.js';
import type { DeployState } from '../../../src/deploy/state.js';

const STANDIN = path.resolve(import.meta.dirname, '../../fixtures/kubespray-standin');

describe('deploy --phase kubernetes with the Kubespray stand-in on the lab', () => {
  it('runs every Kubespray step and fetches the kubeconfig', async () => {
    const lab = labFixture();
    const stateRoot = mkdtempSync(path.join(tmpdir(), 'deploy-k8s-'));
    const markerDir = `/var/lib/kubespray-standin-${process.pid}`;
    let text = '';
    let errText = '';
    const out = new PassThrough();
    const err = new PassThrough();
    out.on('data', (d: Buffer) => (text += d.toString()));
    err.on('data', (d: Buffer) => (errText += d.toString()));
    const code = await run(['node', 'vmstation', 'deploy', '-f', lab.clusterFile, '--phase', 'kubernetes', '--yes', '--kubespray-dir', STANDIN, '--kubespray-python', '/usr/bin/python3'], {
      stdout: out,
      stderr: err,
      stdin: new PassThrough(),
      env: { ...process.env, VMSTATION_STATE_DIR: stateRoot, VMSTATION_CACHE_DIR: path.join(stateRoot, 'cache'), STANDIN_KUBECONFIG: path.join(lab.stateDir, 'kubeconfig'), STANDIN_STATE_DIR: markerDir },
      cwd: path.dirname(lab.clusterFile),
      isTTY: false,
    });
    expect(code, `${errText}\n${text}`).toBe(0);
    for (const step of ['obtain Kubespray v2.31.0', "prepare Kubespray's Python environment", "run Kubespray's inventory checks", 'run Kubespray cluster.yml', 'fetch the admin kubeconfig']) expect(text).toContain(step);
    expect(text).toContain(`ok (`);
    expect(text).toMatch(/12 passed, 0 warned, 14 skipped by their own conditions/);
    const state = JSON.parse(readFileSync(path.join(stateRoot, 'vmstation-lab', 'deploy-state.json'), 'utf8')) as DeployState;
    expect(state.phases.kubernetes?.steps).toEqual(['kubernetes/kubespray-obtain', 'kubernetes/kubespray-environment', 'kubernetes/kubespray-inventory-checks', 'kubernetes/kubespray-cluster', 'kubernetes/kubeconfig', 'kubernetes/etcd-snapshots', 'kubernetes/record-nodes']);
    // The snapshot timer went onto the etcd node (masternode); the lab has no etcd: take it off again.
    expect((await sshOk('masternode', 'systemctl is-enabled vmstation-etcd-snapshot.timer')).trim()).toBe('enabled');
    await sshOk('masternode', 'systemctl disable --now vmstation-etcd-snapshot.timer; rm -f /etc/systemd/system/vmstation-etcd-snapshot.* /usr/local/sbin/vmstation-etcd-snapshot /etc/vmstation/etcd-snapshot.env; systemctl daemon-reload');
    // Ansible's file lookup drops the final newline; the content is the lab stand-in's kubeconfig.
    expect(readFileSync(path.join(stateRoot, 'vmstation-lab', 'kubeconfig'), 'utf8').trimEnd()).toBe(readFileSync(path.join(lab.stateDir, 'kubeconfig'), 'utf8').trimEnd());
    // What the rendered group_vars told "Kubespray" reached every lab host.
    for (const n of lab.nodes) expect((await sshOk(n.name, `cat ${markerDir}/${n.name}.txt && rm -rf ${markerDir}`)).trim()).toBe('kube_version=1.35.4 kube_network_plugin=calico container_manager=containerd');
  }, 600_000);
});
