// The kubeadm and RKE2 renderers: their playbooks pass `ansible-playbook --syntax-check`, their
// inventories `ansible-inventory`, and their configuration says what the issue asks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseAnsibleYaml } from '../../../src/util/ansible-yaml.js';
import type { Artifact } from '../../../src/render/artifact.js';
import { kubeadmConfig, kubeadmRenderer } from '../../../src/render/kubeadm/index.js';
import { NETWORK_MANAGER_CONF, networkManagerConf } from '../../../src/render/network/network-manager.js';
import { renderHostVars } from '../../../src/render/ansible/project.js';
import { hostPlan } from '../../../src/render/ansible/host-plan.js';
import { upstreamLine } from '../../helpers/upstream.js';
import { rewriteKubeconfigServer, rke2NodeConfig, rke2Renderer } from '../../../src/render/rke2/index.js';
import { exampleWith, loadClusterFile } from '../../unit/deploy/helpers.js';

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
      controllerManager: { extraArgs: [{ name: 'bind-address', value: '0.0.0.0' }, { name: 'node-cidr-mask-size', value: '24' }] },
      scheduler: { extraArgs: [{ name: 'bind-address', value: '0.0.0.0' }] },
    });
    expect(docs[2]).toMatchObject({ cgroupDriver: 'systemd' });
    // iptables by default: ipvs is deprecated in 1.35 (KEP-5495), nftables breaks the Calico manifest's iptables data plane.
    expect(docs[3]).toMatchObject({ mode: 'iptables', metricsBindAddress: '0.0.0.0:10249' });
  });

  it('holds pkgs.k8s.io packages at the version and configures containerd whatever the package ships', () => {
    const text = kubeadmFiles['kubeadm/cluster.yml']!;
    expect(text).toContain('https://pkgs.k8s.io/core:/stable:/v1.35/deb/');
    expect(text).toContain('kubelet=1.35.4-1.1');
    expect(text).toContain('kubelet-1.35.4');
    expect(text).toContain('selection: hold');
    // Debian's containerd ships /etc/containerd/config.toml: a `creates:` guard would never write ours.
    expect(text).not.toContain('creates: /etc/containerd/config.toml');
    expect(text).toContain("containerd config default | sed -E -e 's/SystemdCgroup = false/SystemdCgroup = true/'");
    expect(text).toContain('registry.k8s.io/pause:3.10.1');
    expect(text).toContain('kubeadm init --config /etc/kubernetes/vmstation-kubeadm.yaml --upload-certs');
    const plays = parse(text) as Array<{ tags: string[] }>;
    expect(plays.map((p) => p.tags[0])).toEqual(['prepare', 'init', 'join', 'cni', 'wait']);
  });

  // flannel-io/flannel@v0.28.4:Documentation/kube-flannel.yml:93 ("Network": "10.244.0.0/16") vs the
  // cluster's podSubnet; Kubespray renders the podSubnet there (cni-flannel.yml.j2:34).
  it('flannel: the downloaded manifest gets the podSubnet as its network before it is applied', () => {
    const flannel = kubeadmRenderer.render(exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm').replace('cni: calico', 'cni: flannel')));
    const plays = parse(flannel.find((a) => a.path === 'kubeadm/cluster.yml')!.content) as Array<{ tags: string[]; tasks: Array<Record<string, unknown>> }>;
    const cni = plays.find((p) => p.tags[0] === 'cni')!.tasks;
    expect(cni.map((t) => Object.keys(t).find((k) => k.startsWith('ansible.builtin.')))).toEqual(['ansible.builtin.file', 'ansible.builtin.get_url', 'ansible.builtin.replace', 'ansible.builtin.command']);
    const replace = cni[2]!['ansible.builtin.replace'] as { regexp: string; replace: string; path: string };
    const upstream = upstreamLine('upstream/flannel-v0.28.4-manifest-lines.txt', /"Network":/).text;
    // The regexp and replacement as Ansible's replace module (Python re.sub) applies them.
    const patched = execFileSync('python3', ['-c', 'import re,sys; print(re.sub(sys.argv[1], sys.argv[2], sys.argv[3]))', replace.regexp, replace.replace, upstream], { encoding: 'utf8' }).trimEnd();
    expect(upstream).toContain('10.244.0.0/16');
    expect(patched).toBe('      "Network": "10.233.64.0/18",');
    expect(cni[3]!['ansible.builtin.command']).toBe(`kubectl apply --server-side --field-manager vmstation -f ${replace.path}`);
    expect(cni[1]!['ansible.builtin.get_url']).toMatchObject({ url: 'https://github.com/flannel-io/flannel/releases/download/v0.28.4/kube-flannel.yml', dest: replace.path });
  });

  // https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/
  // (--node-cidr-mask-size, default 24 for IPv4): the per-node pod range follows nodePrefix.
  it('gives each node the pod range nodePrefix says (kubeadm and RKE2)', () => {
    const c = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm').replace('podSubnet: 10.233.64.0/18', 'podSubnet: 10.233.64.0/18\n    nodePrefix: 25'));
    expect((kubeadmConfig(c)[1] as { controllerManager: unknown }).controllerManager).toEqual({ extraArgs: [{ name: 'bind-address', value: '0.0.0.0' }, { name: 'node-cidr-mask-size', value: '25' }] });
    const r = rke2NodeConfig({ ...c, spec: { ...c.spec, kubernetes: { ...c.spec.kubernetes, method: 'rke2' } } }, c.spec.nodes[0]!);
    expect(r['kube-controller-manager-arg']).toEqual(['bind-address=0.0.0.0', 'node-cidr-mask-size=25']);
  });

  // rancher/rke2-docs:docs/known_issues.md:17 (unmanaged-devices), Calico's "Configure NetworkManager".
  it('tells NetworkManager, where installed, to leave every CNI interface RKE2 documents alone', () => {
    const text = kubeadmFiles['kubeadm/cluster.yml']!;
    expect(text).toContain(NETWORK_MANAGER_CONF);
    const documented = upstreamLine('upstream/rke2-docs-lines.txt', /^unmanaged-devices=/).text.replace('unmanaged-devices=', '').split(';');
    const ours = networkManagerConf().trim().split('\n')[1]!.replace('unmanaged-devices=', '').split(';');
    expect(ours).toEqual(expect.arrayContaining(documented));
    expect(rke2Files['rke2/cluster.yml']).toContain(NETWORK_MANAGER_CONF);
  });

  // rancher/rke2-docs@9477b7b:docs/install/requirements.md:32 (RHEL 10: `dnf install kernel-modules-extra`);
  // kubernetes-sigs/kubespray@v2.31.0:docs/operating_systems/rhel.md:38 (kube-proxy and every CNI rely on it;
  // Kubespray does not install it). The host layer installs it on RHEL/Rocky 10, for every method.
  it('the host layer installs kernel-modules-extra on RHEL/Rocky 10 only, whatever the method', () => {
    expect(upstreamLine('upstream/rke2-docs-lines.txt', /dnf install kernel-modules-extra/).where).toBe('docs/install/requirements.md:32');
    expect(upstreamLine('kubespray-v2.31.0/upstream-lines.txt', /does not include `kernel-module-extra`/).where).toBe('docs/operating_systems/rhel.md:38');
    const packagesOf = (c: typeof kubeadmCluster) => Object.fromEntries(c.spec.nodes.map((n) => [n.os, (parseAnsibleYaml(renderHostVars(c, hostPlan(c, n))) as { vmstation_packages: string[] }).vmstation_packages.includes('kernel-modules-extra')]));
    for (const c of [kubeadmCluster, exampleWith((t) => t), loadClusterFile('test/fixtures/valid/rke2-rocky.yaml')]) {
      const has = packagesOf(c);
      for (const [os, present] of Object.entries(has)) expect(present, `${c.spec.kubernetes.method} ${os}`).toBe(os === 'rhel-10' || os === 'rocky-10');
    }
    expect(packagesOf(loadClusterFile('test/fixtures/valid/rke2-rocky.yaml'))).toMatchObject({ 'rocky-10': true, 'rhel-9': false, 'ubuntu-24.04': false });
    // RKE2's playbook no longer installs it itself (one place).
    expect(rke2Files['rke2/cluster.yml']).not.toContain('kernel-modules-extra');
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
    expect(s1).toMatchObject({ cni: 'calico', 'cluster-cidr': '10.233.64.0/18', 'service-cidr': '10.233.0.0/18', 'kube-controller-manager-arg': ['bind-address=0.0.0.0', 'node-cidr-mask-size=24'], 'write-kubeconfig-mode': '0600' });
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
