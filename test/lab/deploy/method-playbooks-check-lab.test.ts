// The generated kubeadm and RKE2 playbooks in `ansible-playbook --check` mode against the lab's
// three hosts over SSH (host keys checked), as far as they can go offline:
// - tasks tagged `network` (package repositories, packages, the RKE2 install script, CNI
//   manifests) are skipped: the tests never send traffic outside the lab, and apt_repository
//   would install python3-apt from the network;
// - commands are skipped by --check itself;
// so each run stops where a file the skipped packages would have installed is needed. The test
// asserts every host ran every earlier task and failed exactly there, for that reason.
// RKE2 does not support Debian (the lab's OS), so its cluster is the kubeadm one with the method
// switched in the model; its tasks do not depend on the distribution.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labFixture } from '../../../lab/test/lab-fixture.js';
import { runPlaybook, withSecretVarsFile, type AnsibleEvent } from '../../../src/adapters/ansible/index.js';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { strictSshEnv } from '../../../src/deploy/kubespray.js';
import type { Artifact } from '../../../src/render/artifact.js';
import { kubeadmRenderer } from '../../../src/render/kubeadm/index.js';
import { RKE2_TOKEN_VAR, rke2Renderer } from '../../../src/render/rke2/index.js';

function kubeadmLabCluster(): Cluster {
  const lab = labFixture();
  const text = readFileSync(lab.clusterFile, 'utf8').replace('method: kubespray', 'method: kubeadm').replace('serviceSubnet: 10.233.0.0/18', 'serviceSubnet: 10.233.0.0/18\n    kubeProxyMode: iptables');
  const r = validateText({ file: lab.clusterFile, text });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.cluster;
}

function writeTree(artifacts: readonly Artifact[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'method-check-'));
  for (const a of artifacts) {
    const f = path.join(dir, a.path);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, a.content);
  }
  return dir;
}

type HostResult = Extract<AnsibleEvent, { event: 'host_result' }>;

async function checkRun(dir: string, method: 'kubeadm' | 'rke2', extraVarsFiles: string[] = [], tags: string[] = []) {
  const events: HostResult[] = [];
  const r = await runPlaybook({
    cwd: path.join(dir, method),
    playbook: 'cluster.yml',
    inventory: path.join(dir, method, 'inventory.yaml'),
    check: true,
    skipTags: ['network'],
    tags,
    extraVarsFiles,
    logFile: path.join(dir, `${method}-check.log`),
    env: strictSshEnv(labFixture().knownHosts),
    onEvent: (e) => e.event === 'host_result' && events.push(e),
  });
  return { r, events };
}

const names = ['homelab', 'masternode', 'storagenodet3500'];

describe('kubeadm and RKE2 playbooks in --check mode on the lab', () => {
  it('kubeadm: prepares all three hosts (containerd from the lab image) until the kubelet (a skipped package) is needed', async () => {
    const dir = writeTree(kubeadmRenderer.render(kubeadmLabCluster()));
    const { r, events } = await checkRun(dir, 'kubeadm');
    expect(events.filter((e) => e.status === 'unreachable')).toEqual([]);
    const failed = events.filter((e) => e.status === 'failed');
    expect(failed.map((e) => e.host).sort()).toEqual(names);
    expect(new Set(failed.map((e) => e.task))).toEqual(new Set(['kubelet enabled']));
    expect(failed[0]!.msg).toMatch(/kubelet/);
    for (const task of ['Keep swap off after reboot', 'Load kernel modules at boot', 'Kernel settings Kubernetes networking needs', 'Hold the Kubernetes packages at the version', 'containerd configuration folder', 'containerd configuration (replaces what the OS package ships)', 'containerd running']) {
      expect(events.filter((e) => e.task === task && e.status !== 'failed').map((e) => e.host).sort(), task).toEqual(names);
    }
    expect(r.exitCode).toBe(2);
  }, 300_000);

  it('RKE2: writes config.yaml and the token drop-in on servers and agents until rke2 itself (skipped) is needed', async () => {
    const k = kubeadmLabCluster();
    const cluster = { ...k, spec: { ...k.spec, kubernetes: { ...k.spec.kubernetes, method: 'rke2' as const } } };
    const dir = writeTree(rke2Renderer.render(cluster));
    // Servers, then agents: the two steps the plan runs (a play whose hosts all fail ends the playbook).
    const runs = await withSecretVarsFile({ [RKE2_TOKEN_VAR]: 'check-mode-token-not-a-secret' }, async (file) => [await checkRun(dir, 'rke2', [file], ['prepare', 'server']), await checkRun(dir, 'rke2', [file], ['prepare', 'agent'])]);
    const events = runs.flatMap((x) => x.events);
    const r = { output: runs.map((x) => x.r.output).join('\n') };
    expect(events.filter((e) => e.status === 'unreachable')).toEqual([]);
    const config = events.filter((e) => e.task === 'config.yaml for this node');
    expect(config.map((e) => `${e.host} ${e.status}`).sort()).toEqual(['homelab changed', 'masternode changed', 'storagenodet3500 changed']);
    const token = events.filter((e) => e.task.startsWith('The cluster token'));
    expect(token.every((e) => e.censored)).toBe(true);
    const failed = events.filter((e) => e.status === 'failed');
    expect(failed.map((e) => `${e.host} ${e.task}`).sort()).toEqual(['homelab rke2-agent running', 'masternode rke2-server running', 'storagenodet3500 rke2-agent running']);
    expect(r.output).not.toContain('check-mode-token-not-a-secret');
  }, 300_000);
});
