// What each deploy method can install: Kubernetes versions and operating systems.
import { KUBESPRAY_KUBE_VERSIONS } from './data/kubespray-versions.js';
import type { Method, OsName } from './schema.js';

export interface MethodSupport {
  /** Human name of the method, for messages. */
  title: string;
  supportsVersion(version: string): boolean;
  versionsHint: string;
  os: readonly OsName[];
}

const minorsFrom = (minors: readonly string[]) => (v: string) => minors.some((m) => v.startsWith(`${m}.`));

export const METHOD_SUPPORT: Record<Method, MethodSupport> = {
  kubespray: {
    title: 'Kubespray v2.31.0',
    supportsVersion: (v) => KUBESPRAY_KUBE_VERSIONS.includes(v),
    versionsHint: `Kubespray v2.31.0 installs ${KUBESPRAY_KUBE_VERSIONS.at(-1)} to ${KUBESPRAY_KUBE_VERSIONS[0]}; its default is ${KUBESPRAY_KUBE_VERSIONS[0]}`,
    os: ['debian-12', 'debian-13', 'ubuntu-22.04', 'ubuntu-24.04', 'rhel-9', 'rhel-10', 'rocky-9', 'rocky-10'],
  },
  kubeadm: {
    // pkgs.k8s.io keeps one repository per minor; these are the minors still maintained upstream.
    title: 'kubeadm (pkgs.k8s.io)',
    supportsVersion: minorsFrom(['1.33', '1.34', '1.35']),
    versionsHint: 'kubeadm packages from pkgs.k8s.io are used for the maintained minors 1.33, 1.34 and 1.35',
    os: ['debian-12', 'debian-13', 'ubuntu-22.04', 'ubuntu-24.04', 'rhel-9', 'rhel-10', 'rocky-9', 'rocky-10'],
  },
  rke2: {
    title: 'RKE2',
    supportsVersion: minorsFrom(['1.33', '1.34', '1.35']),
    versionsHint: 'RKE2 releases are maintained for Kubernetes 1.33, 1.34 and 1.35',
    // RKE2's support matrix lists Ubuntu, RHEL and Rocky, not Debian.
    os: ['ubuntu-22.04', 'ubuntu-24.04', 'rhel-9', 'rhel-10', 'rocky-9', 'rocky-10'],
  },
};

// rancher/rke2-docs@9477b7b:docs/networking/basic_network_options.md:331 ("Nftables support"):
// RKE2's CNIs follow kube-proxy into nftables from these releases on (src/render/rke2/nftables.ts).
/** First release of each minor line with nftables support (basic_network_options.md:331); later minors have it. */
export const RKE2_NFTABLES_SINCE: Readonly<Record<string, number>> = { '1.34': 10, '1.35': 7, '1.36': 3 };

/** Whether the RKE2 release for this Kubernetes version supports kube-proxy in nftables mode. */
export function rke2SupportsNftables(version: string): boolean {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  const gate = RKE2_NFTABLES_SINCE[`${major}.${minor}`];
  if (gate !== undefined) return patch >= gate;
  return major > 1 || minor > Math.max(...Object.keys(RKE2_NFTABLES_SINCE).map((k) => Number(k.split('.')[1])));
}
