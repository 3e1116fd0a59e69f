// Rules about combinations that only work on some deploy paths: refused here, with the reason
// and a way out, instead of failing halfway through a playbook. Each names its upstream source.
import { osFamily } from './model.js';
import type { Rule, RuleProblem } from './rules.js';

const problem = (severity: RuleProblem['severity'], path: RuleProblem['path'], code: string, message: string, hint: string): RuleProblem => ({ path, severity, code, message, hint });

export const METHOD_RULES: readonly Rule[] = [
  {
    name: 'kubeadm installs Calico or flannel',
    check: ({ cluster, written }) => {
      const k = cluster.spec.kubernetes;
      if (k.method !== 'kubeadm' || k.cni !== 'cilium') return [];
      const path = written(['spec', 'kubernetes', 'cni']) ? ['spec', 'kubernetes', 'cni'] : ['spec', 'kubernetes', 'method'];
      return [problem('error', path, 'kubeadm-cilium-unsupported', 'the kubeadm method cannot install Cilium: Cilium has no plain manifest, it is installed with the cilium CLI or Helm, which vmstation does not run', 'use cni: calico or cni: flannel with kubeadm, or method: kubespray (or rke2), which install Cilium themselves')];
    },
  },
  {
    // Calico's manifest leaves Felix's nftables mode at its default, Disabled
    // (projectcalico/calico@v3.31.5:felix/config/config_params.go NFTablesMode), and Calico's
    // iptables data plane breaks under kube-proxy in nftables mode (kubernetes-sigs/kubespray#12198;
    // https://docs.tigera.io/calico/latest/getting-started/kubernetes/nftables).
    name: 'kube-proxy nftables with the Calico manifest',
    check: ({ cluster }) => {
      const k = cluster.spec.kubernetes;
      if (k.method !== 'kubeadm' || k.cni !== 'calico' || k.kubeProxyMode !== 'nftables') return [];
      return [problem('error', ['spec', 'kubernetes', 'kubeProxyMode'], 'nftables-calico-manifest', "kube-proxy in nftables mode breaks the Calico manifest kubeadm applies (its data plane is iptables)", 'use kubeProxyMode: iptables with kubeadm and Calico, or method: kubespray (it switches Calico to nftables too)')];
    },
  },
  {
    // KEP-5495: kube-proxy's ipvs mode is deprecated in Kubernetes 1.35 (it logs a warning; later
    // releases gate, then remove it). https://kubernetes.io/docs/reference/networking/virtual-ips/
    name: 'kube-proxy ipvs is deprecated',
    check: ({ cluster }) => {
      if (cluster.spec.kubernetes.kubeProxyMode !== 'ipvs') return [];
      return [problem('warning', ['spec', 'kubernetes', 'kubeProxyMode'], 'kube-proxy-ipvs-deprecated', "kube-proxy's ipvs mode is deprecated since Kubernetes 1.35 (KEP-5495) and will be removed", 'use kubeProxyMode: iptables (the default) or nftables (not with kubeadm + Calico)')];
    },
  },
  {
    // rancher/rke2-docs:docs/known_issues.md:7-10: firewalld conflicts with RKE2's networking and
    // should be disabled on RKE2 nodes.
    name: 'RKE2 and firewalld',
    check: ({ cluster }) => {
      const { kubernetes, infrastructure, nodes } = cluster.spec;
      if (kubernetes.method !== 'rke2' || !infrastructure.firewall.enabled) return [];
      const el = nodes.filter((n) => osFamily(n.os) === 'redhat').map((n) => n.name);
      if (el.length === 0) return [];
      return [problem('warning', ['spec', 'infrastructure', 'firewall', 'enabled'], 'rke2-firewalld', `the host firewall is firewalld on ${el.join(', ')}, which RKE2's documentation says to disable (it conflicts with RKE2's networking)`, 'set infrastructure.firewall.enabled: false for RKE2 on RHEL/Rocky, or keep it knowing RKE2 does not support it')];
    },
  },
];
