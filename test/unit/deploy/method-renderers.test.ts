// The kubeadm and RKE2 renderers: their playbooks pass `ansible-playbook --syntax-check`, their
// inventories `ansible-inventory`, and their configuration says what the issue asks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { Artifact } from '../../../src/render/artifact.js';
import { kubeadmRenderer } from '../../../src/render/kubeadm/index.js';
import { rewriteKubeconfigServer, rke2Renderer } from '../../../src/render/rke2/index.js';
import { exampleWith, loadClusterFile } from './helpers.js';

function writeTree(artifacts: readonly Artifact[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'method-render-'));
  for (const a of artifacts) {
    const file = path.join(dir, a.path);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, a.content);
  }
  return dir;
}

const ansibleEnv = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true', ANSIBLE_LOCALHOST_WARNING: 'false' };
function syntaxCheck(dir: string, inventory: string, playbook: string): string {
  return execFileSync('ansible-playbook', ['--syntax-check', '-i', path.join(dir, inventory), path.join(dir, playbook)], { encoding: 'utf8', env: ansibleEnv });
}

const kubeadmCluster = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm'));
const kubeadm = kubeadmRenderer.render(kubeadmCluster);
const kubeadmFiles = Object.fromEntries(kubeadm.map((a) => [a.path, a.content]));

describe('kubeadm renderer', () => {
  it('renders inventory, kubeadm configuration, cluster and reset playbooks, only for method kubeadm', () => {
    expect(Object.keys(kubeadmFiles).sort()).toEqual(['kubeadm/cluster.yml', 'kubeadm/inventory.yaml', 'kubeadm/kubeadm-config.yaml', 'kubeadm/reset.yml']);
    expect(kubeadmRenderer.render(loadClusterFile('examples/vmstation.yaml'))).toEqual([]);
  });

  it('its playbooks pass ansible-playbook --syntax-check', () => {
    const dir = writeTree(kubeadm);
    expect(syntaxCheck(dir, 'kubeadm/inventory.yaml', 'kubeadm/cluster.yml')).toContain('playbook: ');
    expect(syntaxCheck(dir, 'kubeadm/inventory.yaml', 'kubeadm/reset.yml')).toContain('playbook: ');
    const groups = JSON.parse(execFileSync('ansible-inventory', ['-i', path.join(dir, 'kubeadm/inventory.yaml'), '--list'], { encoding: 'utf8', env: ansibleEnv })) as Record<string, { hosts?: string[] }>;
    expect(groups.control_plane_first!.hosts).toEqual(['masternode']);
    expect(groups.workers!.hosts).toEqual(['storagenodet3500', 'homelab']);
  });

  it('renders a ClusterConfiguration with metrics bound for Prometheus and the control-plane endpoint', () => {
    const docs = parseAllDocuments(kubeadmFiles['kubeadm/kubeadm-config.yaml']!).map((d) => d.toJSON() as Record<string, unknown>);
    expect(docs.map((d) => d.kind)).toEqual(['InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration', 'KubeProxyConfiguration']);
    const cc = docs[1]!;
    expect(cc).toMatchObject({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kubernetesVersion: 'v1.35.4',
      controlPlaneEndpoint: '192.168.4.63:6443',
      networking: { podSubnet: '10.233.64.0/18', serviceSubnet: '10.233.0.0/18', dnsDomain: 'cluster.local' },
      controllerManager: { extraArgs: [{ name: 'bind-address', value: '0.0.0.0' }] },
      scheduler: { extraArgs: [{ name: 'bind-address', value: '0.0.0.0' }] },
    });
    expect(docs[2]).toMatchObject({ cgroupDriver: 'systemd' });
    expect(docs[3]).toMatchObject({ mode: 'ipvs', metricsBindAddress: '0.0.0.0:10249' });
  });

  it('holds pkgs.k8s.io packages at the version and sets SystemdCgroup in containerd', () => {
    const text = kubeadmFiles['kubeadm/cluster.yml']!;
    expect(text).toContain('https://pkgs.k8s.io/core:/stable:/v1.35/deb/');
    expect(text).toContain('kubelet=1.35.4-1.1');
    expect(text).toContain('kubelet-1.35.4');
    expect(text).toContain('selection: hold');
    expect(text).toContain('replace: SystemdCgroup = true');
    expect(text).toContain('kubeadm init --config /etc/kubernetes/vmstation-kubeadm.yaml --upload-certs');
    const plays = parse(text) as Array<{ tags: string[] }>;
    expect(plays.map((p) => p.tags[0])).toEqual(['prepare', 'init', 'join', 'cni', 'wait']);
  });

  it('reset removes CNI state and interfaces', () => {
    const text = kubeadmFiles['kubeadm/reset.yml']!;
    expect(text).toContain('kubeadm reset --force');
    for (const p of ['/etc/cni/net.d', '/var/lib/cni', 'cali|tunl']) expect(text).toContain(p);
  });
});

const rke2Cluster = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
const rke2 = rke2Renderer.render(rke2Cluster);
const rke2Files = Object.fromEntries(rke2.map((a) => [a.path, a.content]));

describe('RKE2 renderer', () => {
  it('renders one config.yaml per node, inventory and playbooks, only for method rke2', () => {
    expect(Object.keys(rke2Files).sort()).toEqual(['rke2/cluster.yml', 'rke2/config/s1.yaml', 'rke2/config/s2.yaml', 'rke2/config/s3.yaml', 'rke2/config/w1.yaml', 'rke2/inventory.yaml', 'rke2/reset.yml']);
    expect(rke2Renderer.render(kubeadmCluster)).toEqual([]);
  });

  it('never renders the token', () => {
    for (const [file, text] of Object.entries(rke2Files)) expect(text, file).not.toMatch(/^token:/m);
    expect(rke2Files['rke2/cluster.yml']).toContain('token: "{{ rke2_token }}"');
  });

  it('joins later servers and agents to the first server on 9345', () => {
    const s1 = parse(rke2Files['rke2/config/s1.yaml']!) as Record<string, unknown>;
    const s2 = parse(rke2Files['rke2/config/s2.yaml']!) as Record<string, unknown>;
    const w1 = parse(rke2Files['rke2/config/w1.yaml']!) as Record<string, unknown>;
    expect(s1.server).toBeUndefined();
    expect(s1).toMatchObject({ cni: 'calico', 'cluster-cidr': '10.233.64.0/18', 'service-cidr': '10.233.0.0/18', 'kube-controller-manager-arg': ['bind-address=0.0.0.0'], 'write-kubeconfig-mode': '0600' });
    expect(s2.server).toBe('https://10.10.0.11:9345');
    expect(w1).toEqual({ 'node-name': 'w1', 'node-ip': '10.10.0.21', server: 'https://10.10.0.11:9345' });
  });

  it('its playbooks pass ansible-playbook --syntax-check', () => {
    const dir = writeTree(rke2);
    expect(syntaxCheck(dir, 'rke2/inventory.yaml', 'rke2/cluster.yml')).toContain('playbook: ');
    expect(syntaxCheck(dir, 'rke2/inventory.yaml', 'rke2/reset.yml')).toContain('playbook: ');
  });

  it('rewrites the kubeconfig server address to the first server', () => {
    const kc = 'clusters:\n- cluster:\n    certificate-authority-data: AAA\n    server: https://127.0.0.1:6443\n  name: default\n';
    expect(rewriteKubeconfigServer(kc, 'https://10.10.0.11:6443')).toBe(kc.replace('https://127.0.0.1:6443', 'https://10.10.0.11:6443'));
  });
});
