// RKE2's bundled CNIs against their charts at the releases vmstation installs: hostPort through
// Cilium's portmap chaining, and kube-proxy in nftables mode (refused before the releases that support
// it, otherwise the CNI follows through its HelmChartConfig). The lines relied on are in
// test/data/upstream/rke2-cni-lines.txt (verbatim, with repository and tag or commit).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { rke2SupportsNftables } from '../../../src/config/methods.js';
import { validateText } from '../../../src/config/validate.js';
import { rke2NodeConfig, rke2Renderer } from '../../../src/render/rke2/index.js';
import { RKE2_SERVER_MANIFESTS } from '../../../src/render/rke2/nftables.js';
import { upstreamLine } from '../../helpers/upstream.js';
import { loadClusterFile } from '../../unit/deploy/helpers.js';

const LINES = 'upstream/rke2-cni-lines.txt';
const base = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
const withK = (k: Partial<typeof base.spec.kubernetes>) => ({ ...base, spec: { ...base.spec, kubernetes: { ...base.spec.kubernetes, ...k } } });
const files = (c: typeof base) => Object.fromEntries(rke2Renderer.render(c).map((a) => [a.path, a.content]));
type Task = Record<string, unknown> & { name: string };
const tasksOf = (c: typeof base, play: number) => (parse(files(c)['rke2/cluster.yml']!) as Array<{ tasks: Task[] }>)[play]!.tasks;

describe('RKE2 + Cilium: hostPort works through portmap chaining, RKE2\'s chart default', () => {
  // rancher/rke2@v1.35.4+rke2r1:charts/chart_versions.yaml:2-3 (rke2-cilium 1.19.300 = cilium 1.19.3);
  // rancher/rke2-charts@d8aaf90b:packages/rke2-cilium/generated-changes/patch/values.yaml.patch:24-25
  // (chainingMode: portmap, "Otherwise rke2 hostPort does not work"), cilium-agent daemonset patch :57-58
  // (an init container installs the portmap plugin when chaining is portmap).
  it('the chart RKE2 bundles chains portmap by default, and vmstation leaves it alone', () => {
    expect(upstreamLine(LINES, /^\s+- version: 1\.19\.300$/).where).toContain('rke2@v1.35.4+rke2r1/charts/chart_versions.yaml:2');
    expect(upstreamLine(LINES, /^url: https:\/\/helm\.cilium\.io\/cilium-1\.19\.3\.tgz$/).where).toContain('rke2-charts@d8aaf90b');
    expect(upstreamLine(LINES, /^\+ {2}chainingMode: portmap$/).where).toContain('values.yaml.patch:25');
    expect(upstreamLine(LINES, /install-portmap-cni-plugin/).where).toContain('daemonset.yaml.patch:58');
    const cilium = withK({ cni: 'cilium', version: '1.35.4' });
    expect(rke2NodeConfig(cilium, cilium.spec.nodes[0]!).cni).toBe('cilium');
    // No HelmChartConfig overrides rke2-cilium's values (chainingMode stays portmap).
    expect(Object.keys(files(cilium)).filter((p) => p.includes('manifests/'))).toEqual([]);
    expect(files(cilium)['rke2/cluster.yml']).not.toMatch(/chainingMode|rke2-cilium/);
  });
});

describe('RKE2 + kube-proxy nftables', () => {
  // rancher/rke2-docs@9477b7b:docs/networking/basic_network_options.md:327,331.
  it('is refused before the releases the page names, accepted from them', () => {
    expect(upstreamLine(LINES, /^nftables support is available as of/).text).toContain('v1.36.3+rke2r1, v1.35.7+rke2r1, v1.34.10+rke2r1');
    expect(['1.33.9', '1.34.9', '1.35.4', '1.35.6', '1.36.2'].filter(rke2SupportsNftables)).toEqual([]);
    expect(['1.34.10', '1.35.7', '1.35.8', '1.36.3', '1.37.0'].every(rke2SupportsNftables)).toBe(true);
    const text = (version: string, mode: string) =>
      `apiVersion: vmstation.io/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec:\n  network: { subnet: 10.10.0.0/16 }\n  kubernetes: { method: rke2, version: "${version}", kubeProxyMode: ${mode} }\n  nodes:\n    - { name: s1, address: 10.10.0.11, os: rocky-9, roles: [control-plane, etcd, worker] }\n`;
    const codes = (v: string, m: string) => validateText({ file: 'x.yaml', text: text(v, m) }).problems.map((p) => `${p.severity} ${p.code}`);
    expect(codes('1.35.4', 'nftables')).toContain('error rke2-nftables-too-old');
    expect(codes('1.35.7', 'nftables')).not.toContain('error rke2-nftables-too-old');
    expect(codes('1.35.4', 'iptables')).not.toContain('error rke2-nftables-too-old');
  });

  // basic_network_options.md:344 (kube-proxy-arg proxy-mode=nftables), :381,392 (Calico: linuxDataplane
  // Nftables in rke2-calico-config.yaml), :408,418 (flannel: enableNFTables), :373 (Cilium: nothing);
  // rke2-charts@1c08846d custom-resources.yaml.patch:5 (installation values become the Installation spec),
  // tigera/operator@v1.40.8:api/v1/installation_types.go:536 ("Nftables"); rke2-charts@f014ff95
  // rke2-flannel values.yaml.patch:35 (enableNFTables, false by default).
  it.each([
    ['calico', { installation: { calicoNetwork: { linuxDataplane: 'Nftables' } } }],
    ['flannel', { flannel: { enableNFTables: true } }],
  ] as const)('%s: the HelmChartConfig the page gives, copied to the servers before RKE2 starts', (cni, values) => {
    const c = withK({ cni, version: '1.35.7', kubeProxyMode: 'nftables' });
    expect(upstreamLine(LINES, /proxy-mode=nftables/).where).toContain(':344');
    expect(rke2NodeConfig(c, c.spec.nodes[0]!)['kube-proxy-arg']).toContain('proxy-mode=nftables');
    const name = `rke2-${cni}-config.yaml`;
    expect(upstreamLine(LINES, new RegExp(`manifests/${name}$`)).text).toBe(`# ${RKE2_SERVER_MANIFESTS}/${name}`);
    expect(upstreamLine(LINES, cni === 'calico' ? /linuxDataplane: Nftables/ : /enableNFTables: true/)).toBeDefined();
    const doc = parse(files(c)[`rke2/manifests/${name}`]!) as { apiVersion: string; kind: string; metadata: unknown; spec: { valuesContent: string } };
    expect(doc).toMatchObject({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: `rke2-${cni}`, namespace: 'kube-system' } });
    expect(parse(doc.spec.valuesContent)).toEqual(values);
    const first = tasksOf(c, 1).map((t) => t.name);
    const copy = first.findIndex((t) => t.startsWith(name));
    expect(copy).toBeGreaterThan(-1);
    expect(copy).toBeLessThan(first.findIndex((t) => t.startsWith('Install RKE2')));
    expect(tasksOf(c, 3).some((t) => t.name.startsWith(name))).toBe(false);
  });

  // basic_network_options.md:398: Calico's hostPorts go through portmap, which always calls iptables.
  it('calico: iptables installed on every node (the log shipper\'s syslog receiver is a hostPort); cilium: nothing to add', () => {
    expect(upstreamLine(LINES, /always tries/).text).toContain('install `iptables` on your nodes');
    const calico = withK({ cni: 'calico', version: '1.35.7', kubeProxyMode: 'nftables' });
    for (const play of [1, 2, 3]) expect(tasksOf(calico, play).some((t) => t.name.startsWith('iptables (Calico')), `play ${play}`).toBe(true);
    expect(upstreamLine(LINES, /^Cilium uses eBPF/).where).toContain(':373');
    const cilium = withK({ cni: 'cilium', version: '1.35.7', kubeProxyMode: 'nftables' });
    expect(Object.keys(files(cilium)).filter((p) => p.includes('manifests/'))).toEqual([]);
    expect(files(cilium)['rke2/cluster.yml']).not.toContain('iptables (Calico');
    expect(Object.keys(files(withK({ cni: 'calico', version: '1.35.7' }))).filter((p) => p.includes('manifests/'))).toEqual([]);
  });

  it('the nftables playbook passes ansible-playbook --syntax-check', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rke2-nft-'));
    for (const a of rke2Renderer.render(withK({ cni: 'calico', version: '1.35.7', kubeProxyMode: 'nftables' }))) {
      mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
      writeFileSync(path.join(dir, a.path), a.content);
    }
    const out = execFileSync('ansible-playbook', ['--syntax-check', '-i', path.join(dir, 'rke2/inventory.yaml'), path.join(dir, 'rke2/cluster.yml')], { encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true' } });
    expect(out).toContain('playbook: ');
  });
});
