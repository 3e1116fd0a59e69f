// Kubernetes version arithmetic for upgrades (pure). Kubernetes upgrades one minor version at a
// time: kubeadm ("Skipping MINOR versions when upgrading is unsupported", kubernetes.io
// tasks/administer-cluster/kubeadm/kubeadm-upgrade), RKE2 ("Ensure that your plan does not skip
// intermediate minor versions", docs.rke2.io/upgrades/manual) and the version skew policy that
// both cite (the kubelet may not be newer than the API server). Downgrades are not supported by
// any of the three methods.

export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
}

/** Parses `1.35.4`, `v1.35.4`, `v1.35.4+rke2r1`; undefined for anything else. */
export function parseKubeVersion(text: string): KubeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

export function compareVersions(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export const versionText = (v: KubeVersion): string => `${v.major}.${v.minor}.${v.patch}`;
export const minorText = (v: KubeVersion): string => `${v.major}.${v.minor}`;

/** What moving a node from `from` to `to` means. */
export type VersionStep =
  | { kind: 'same' }
  | { kind: 'patch' | 'minor'; from: KubeVersion; to: KubeVersion }
  | { kind: 'downgrade'; from: KubeVersion; to: KubeVersion }
  /** More than one minor apart: `path` lists every minor to go through, first to last. */
  | { kind: 'skips-minor'; from: KubeVersion; to: KubeVersion; path: string[] };

export function versionStep(from: KubeVersion, to: KubeVersion): VersionStep {
  const c = compareVersions(from, to);
  if (c === 0) return { kind: 'same' };
  if (c > 0) return { kind: 'downgrade', from, to };
  if (from.major !== to.major) return { kind: 'skips-minor', from, to, path: [minorText(from), minorText(to)] };
  if (to.minor === from.minor) return { kind: 'patch', from, to };
  if (to.minor === from.minor + 1) return { kind: 'minor', from, to };
  const path: string[] = [];
  for (let m = from.minor; m <= to.minor; m++) path.push(`${from.major}.${m}`);
  return { kind: 'skips-minor', from, to, path };
}
