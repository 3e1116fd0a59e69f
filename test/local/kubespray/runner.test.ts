// The Kubespray runner end to end against the stand-in playbook folder
// (test/fixtures/kubespray-standin: same entry points as Kubespray, NOT Kubespray) over real SSH
// to a real sshd on 127.0.0.1, with real ansible-playbook, git and pip: success, a failing task,
// an unreachable host, the wrong Ansible, a missing collection, PyPI unreachable, host keys.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/config/model.js';
import {
  classifyPipFailure,
  fetchKubesprayKubeconfig,
  kubesprayLocation,
  obtainKubespray,
  prepareKubesprayEnvironment,
  runKubesprayPlaybook,
  type KubesprayLocation,
} from '../../../src/deploy/kubespray.js';
import { runProcess } from '../../../src/adapters/process/index.js';
import { kubesprayRenderer } from '../../../src/render/kubespray/index.js';
import { REPO, clusterFromText } from '../../unit/deploy/helpers.js';
import { startSshd, type SshdFixture } from '../power-controller/sshd-fixture.js';

const STANDIN = `${REPO}test/fixtures/kubespray-standin`;

function clusterText(sshd: SshdFixture, extraNodes = ''): string {
  return `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: standin }
spec:
  network: { subnet: 127.0.0.0/8 }
  kubernetes: { version: "1.35.4" }
  ssh: { user: root, port: ${sshd.port}, privateKey: ${sshd.clientKey}, knownHosts: ${sshd.knownHosts} }
  nodes:
    - { name: cp1, address: 127.0.0.1, os: debian-12, roles: [control-plane] }
${extraNodes}`;
}

function renderTo(cluster: Cluster): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubespray-render-'));
  for (const a of kubesprayRenderer.render(cluster)) {
    const f = path.join(dir, a.path);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, a.content);
  }
  return dir;
}

describe('Kubespray runner against the stand-in playbook folder', () => {
  let sshd: SshdFixture;
  let cache: string;
  let loc: KubesprayLocation;
  let stateDir: string;
  const logFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'kubespray-log-')), 'run.log');

  beforeAll(async () => {
    sshd = await startSshd();
    cache = mkdtempSync(path.join(tmpdir(), 'vmstation-cache-'));
    stateDir = mkdtempSync(path.join(tmpdir(), 'standin-state-'));
    loc = kubesprayLocation(cache, STANDIN);
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('uses the folder given with --kubespray-dir and prepares its venv with pip install -r requirements.txt', async () => {
    expect(await obtainKubespray(loc, runProcess)).toBe(`using ${STANDIN}`);
    expect(await prepareKubesprayEnvironment(loc, runProcess, '/usr/bin/python3')).toBe(`venv ${loc.venv} ready`);
    expect(existsSync(path.join(loc.venv, 'bin', 'python'))).toBe(true);
    expect(loc.venv.startsWith(cache)).toBe(true);
  }, 120_000);

  it('keeps host-key checking on although Kubespray-style ansible.cfg turns it off (first connection: no SSH control master to reuse yet)', async () => {
    const render = renderTo(clusterFromText(clusterText(sshd)));
    const empty = path.join(stateDir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const err = await runKubesprayPlaybook({ loc, renderDir: render, playbook: 'cluster.yml', knownHosts: empty, logFile: logFile(), env: { STANDIN_STATE_DIR: stateDir } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: expect.stringMatching(/unreachable|host-key/) });
    expect(JSON.stringify(err)).not.toContain('Warning: Permanently added');
  }, 120_000);

  it('runs cluster.yml on the rendered inventory and fetches the admin kubeconfig', async () => {
    const cluster = clusterFromText(clusterText(sshd));
    const render = renderTo(cluster);
    const events: string[] = [];
    const result = await runKubesprayPlaybook({ loc, renderDir: render, playbook: 'cluster.yml', knownHosts: sshd.knownHosts, logFile: logFile(), env: { STANDIN_STATE_DIR: stateDir }, onEvent: (e) => e.event === 'host_result' && events.push(`${e.host} ${e.task} ${e.status}`) });
    expect(result.exitCode).toBe(0);
    expect(events).toContain('cp1 Reach the host over SSH ok');
    // group_vars reached the host: the values are Kubespray's names for our settings.
    expect(readFileSync(path.join(stateDir, 'cp1.txt'), 'utf8')).toBe('kube_version=1.35.4 kube_network_plugin=calico container_manager=containerd\n');
    const dest = path.join(stateDir, 'kubeconfig');
    expect(await fetchKubesprayKubeconfig(render, dest)).toBe(`admin kubeconfig (https://127.0.0.1:6443) saved to ${dest}`);
  }, 120_000);

  it('classifies a failing task with its host and task name', async () => {
    const render = renderTo(clusterFromText(clusterText(sshd)));
    await expect(runKubesprayPlaybook({ loc, renderDir: render, playbook: 'cluster.yml', knownHosts: sshd.knownHosts, logFile: logFile(), env: { STANDIN_FAIL_ON: 'cp1', STANDIN_STATE_DIR: stateDir } })).rejects.toMatchObject({
      code: 'kubespray-task-failed',
      exitCode: 3,
      message: expect.stringMatching(/^Kubespray task "kubeadm \| Initialize first control plane node" failed on cp1: stand-in: injected failure on cp1/),
    });
  }, 120_000);

  it('classifies an unreachable host', async () => {
    const render = renderTo(clusterFromText(clusterText(sshd, '    - { name: w1, address: 127.0.0.2, os: debian-12, roles: [worker] }\n')));
    const err = await runKubesprayPlaybook({ loc, renderDir: render, playbook: 'cluster.yml', knownHosts: sshd.knownHosts, logFile: logFile(), env: { STANDIN_STATE_DIR: stateDir } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'kubespray-host-unreachable', message: expect.stringMatching(/^Kubespray cannot reach w1 over SSH/) });
  }, 120_000);

  it('classifies the wrong Ansible version (Kubespray gate message)', async () => {
    const render = renderTo(clusterFromText(clusterText(sshd)));
    await expect(runKubesprayPlaybook({ loc, renderDir: render, playbook: 'cluster.yml', knownHosts: sshd.knownHosts, logFile: logFile(), env: { STANDIN_MIN_ANSIBLE: '2.17.3', STANDIN_MAX_ANSIBLE: '2.18.0' } })).rejects.toMatchObject({
      code: 'kubespray-ansible-version',
      message: expect.stringMatching(/^Kubespray v2\.31\.0 needs Ansible >= 2\.17\.3 and < 2\.18\.0; this run used 2\.\d+\.\d+$/),
    });
  }, 120_000);

  it('classifies a missing collection (ansible.utils on a bare ansible-core)', async () => {
    const render = renderTo(clusterFromText(clusterText(sshd)));
    await expect(runKubesprayPlaybook({ loc, renderDir: render, playbook: 'cluster.yml', knownHosts: sshd.knownHosts, logFile: logFile(), env: { STANDIN_USE_ANSIBLE_UTILS: '1', STANDIN_STATE_DIR: stateDir } })).rejects.toMatchObject({
      code: 'kubespray-collection-missing',
      message: 'the Ansible collection ansible.utils that Kubespray uses is not installed',
    });
  }, 120_000);

  it('runs reset.yml with the confirmation answered', async () => {
    const render = renderTo(clusterFromText(clusterText(sshd)));
    const vars = path.join(stateDir, 'confirm.yaml');
    writeFileSync(vars, 'reset_confirmation: "yes"\n');
    const r = await runKubesprayPlaybook({ loc, renderDir: render, playbook: 'reset.yml', knownHosts: sshd.knownHosts, logFile: logFile(), extraVarsFiles: [vars], env: { STANDIN_STATE_DIR: stateDir } });
    expect(r.exitCode).toBe(0);
    expect(existsSync(path.join(stateDir, 'cp1.txt'))).toBe(false);
  }, 120_000);
});

describe('obtaining Kubespray and its Python environment', () => {
  it('clones the pinned tag with git (from a local repository) and reports a failed clone clearly', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'kubespray-git-'));
    const src = path.join(work, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'cluster.yml'), '---\n');
    const git = (...args: string[]) => execFileSync('git', ['-C', src, '-c', 'user.email=t@example.invalid', '-c', 'user.name=t', ...args]);
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'x');
    git('tag', 'v2.31.0');
    const cache = path.join(work, 'cache');
    const loc = kubesprayLocation(cache, undefined);
    expect(await obtainKubespray(loc, runProcess, `file://${src}`)).toBe(`cloned v2.31.0 into ${loc.dir}`);
    expect(await obtainKubespray(loc, runProcess, `file://${src}`)).toBe(`cached in ${loc.dir}`);
    const other = kubesprayLocation(path.join(work, 'cache2'), undefined);
    await expect(obtainKubespray(other, runProcess, `file://${work}/missing`)).rejects.toMatchObject({ code: 'kubespray-clone-failed' });
    await expect(obtainKubespray(kubesprayLocation(cache, work), runProcess)).rejects.toMatchObject({ code: 'kubespray-dir-invalid' });
  });

  it('turns pip failing to reach the index into a clear error (real pip, index on a closed loopback port)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubespray-req-'));
    writeFileSync(path.join(dir, 'cluster.yml'), '---\n');
    writeFileSync(path.join(dir, 'requirements.txt'), 'ansible==11.8.0\n');
    const loc = kubesprayLocation(mkdtempSync(path.join(tmpdir(), 'cache-')), dir);
    await expect(prepareKubesprayEnvironment(loc, runProcess, '/usr/bin/python3', ['--index-url', 'http://127.0.0.1:9/simple'])).rejects.toMatchObject({
      code: 'kubespray-pypi-unreachable',
      message: "cannot install Kubespray's Python requirements: PyPI is not reachable from this machine",
    });
    expect(classifyPipFailure('error: Microsoft Visual C++ 14.0 is required').code).toBe('kubespray-requirements-failed');
  }, 120_000);
});
