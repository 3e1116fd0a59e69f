// Combinations that only work on some deploy paths: refused or warned about by validate, with the
// upstream reason (the error fixtures under test/fixtures/invalid cover the positions and exit code).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../../src/config/validate.js';
import { REPO } from '../deploy/helpers.js';

const example = readFileSync(`${REPO}examples/vmstation.yaml`, 'utf8');
const codes = (text: string) => validateText({ file: 'x.yaml', text }).problems.map((p) => `${p.severity} ${p.code}`);

describe('method x CNI x kube-proxy combinations', () => {
  it('the example validates with no warning about them (iptables by default)', () => {
    expect(codes(example).filter((c) => /ipvs|cilium|nftables|firewalld/.test(c))).toEqual([]);
  });

  it('refuses kubeadm with Cilium, accepts Kubespray and RKE2 with Cilium', () => {
    expect(codes(example.replace('method: kubespray', 'method: kubeadm').replace('cni: calico', 'cni: cilium'))).toContain('error kubeadm-cilium-unsupported');
    expect(codes(example.replace('cni: calico', 'cni: cilium'))).not.toContain('error kubeadm-cilium-unsupported');
  });

  // KEP-5495 (kubernetes/enhancements): ipvs deprecated in v1.35.
  it('warns that ipvs is deprecated', () => {
    expect(codes(example.replace('cni: calico', 'cni: calico\n    kubeProxyMode: ipvs'))).toContain('warning kube-proxy-ipvs-deprecated');
  });

  it('refuses nftables with the Calico manifest (kubeadm), not with Kubespray (it switches Calico) or flannel', () => {
    const nft = example.replace('cni: calico', 'cni: calico\n    kubeProxyMode: nftables');
    expect(codes(nft.replace('method: kubespray', 'method: kubeadm'))).toContain('error nftables-calico-manifest');
    expect(codes(nft)).not.toContain('error nftables-calico-manifest');
    expect(codes(nft.replace('method: kubespray', 'method: kubeadm').replace('cni: calico', 'cni: flannel'))).not.toContain('error nftables-calico-manifest');
  });

  // rancher/rke2-docs:docs/known_issues.md:9 (firewalld should be disabled on systems running RKE2).
  it('warns when RKE2 would run under firewalld on RHEL nodes', () => {
    const rke2 = example.replace('method: kubespray', 'method: rke2').replace(/os: debian-1[23]/g, 'os: ubuntu-24.04');
    const withoutFirewall = rke2.replace(/firewall:\n(\s+)enabled: true/, 'firewall:\n$1enabled: false');
    expect(withoutFirewall).not.toBe(rke2);
    expect(codes(rke2)).toContain('warning rke2-firewalld');
    expect(codes(withoutFirewall)).not.toContain('warning rke2-firewalld');
  });
});
