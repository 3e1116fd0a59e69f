// The one table of upstream versions: every container image, CNI manifest and component
// version vmstation pins, with the day it was last checked against its source and that source.
// One entry per line, so an upgrade is a one-line diff. The baseline is the releases current when
// Kubespray v2.31.0 came out (2026-04-24); the CNI manifests the kubeadm path applies are the
// versions Kubespray v2.31.0 pins for the same CNI (test/unit/deploy/versions.test.ts checks both).

/** A pinned upstream artifact: its reference, the day it was checked (YYYY-MM-DD) and where. */
export interface UpstreamPin {
  readonly ref: string;
  readonly checked: string;
  readonly source: string;
}

/**
 * Container images (exact tags, never `latest`). Monitoring images checked 2026-12-03 against each
 * upstream's tags: the releases current when Kubespray v2.31.0 came out (2026-04-24). Grafana stays
 * on 12.4 (13.0, two weeks old then, moved bundled data-source plugins out of the image, which an
 * offline Grafana cannot download); Promtail on its last line, 3.6 (grafana/loki@v3.7.0 removed it).
 */
export const IMAGE_PINS = {
  prometheus: { ref: 'quay.io/prometheus/prometheus:v3.11.2', checked: '2026-12-03', source: 'https://github.com/prometheus/prometheus/releases' },
  alertmanager: { ref: 'quay.io/prometheus/alertmanager:v0.32.0', checked: '2026-12-03', source: 'https://github.com/prometheus/alertmanager/releases' },
  nodeExporter: { ref: 'quay.io/prometheus/node-exporter:v1.11.1', checked: '2026-12-03', source: 'https://github.com/prometheus/node_exporter/releases' },
  blackboxExporter: { ref: 'quay.io/prometheus/blackbox-exporter:v0.28.0', checked: '2026-12-03', source: 'https://github.com/prometheus/blackbox_exporter/releases' },
  kubeStateMetrics: { ref: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.18.0', checked: '2026-12-03', source: 'https://github.com/kubernetes/kube-state-metrics/releases' },
  ipmiExporter: { ref: 'quay.io/prometheuscommunity/ipmi-exporter:v1.10.1', checked: '2026-12-03', source: 'https://github.com/prometheus-community/ipmi_exporter/releases' },
  grafana: { ref: 'docker.io/grafana/grafana:12.4.3', checked: '2026-12-03', source: 'https://github.com/grafana/grafana/releases' },
  loki: { ref: 'docker.io/grafana/loki:3.7.1', checked: '2026-12-03', source: 'https://github.com/grafana/loki/releases' },
  alloy: { ref: 'docker.io/grafana/alloy:v1.16.0', checked: '2026-12-03', source: 'https://github.com/grafana/alloy/releases' },
  promtail: { ref: 'docker.io/grafana/promtail:3.6.10', checked: '2026-12-03', source: 'https://github.com/grafana/loki/releases' },
  localPathProvisioner: { ref: 'docker.io/rancher/local-path-provisioner:v0.0.32', checked: '2026-12-03', source: 'kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/defaults/main/download.yml (local_path_provisioner_version)' },
  busybox: { ref: 'docker.io/library/busybox:1.37.0', checked: '2026-12-03', source: 'https://hub.docker.com/_/busybox' },
  vmstation: { ref: 'ghcr.io/vmstation/vmstation:0.1.0', checked: '2026-12-03', source: 'this repository (package.json version)' },
} as const satisfies Record<string, UpstreamPin>;

/** CNI manifests the kubeadm path applies (Cilium has none: it needs its own installer). */
export const CNI_MANIFEST_PINS = {
  calico: { ref: 'https://raw.githubusercontent.com/projectcalico/calico/v3.31.5/manifests/calico.yaml', checked: '2026-12-03', source: 'kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/vars/main/checksums.yml (calicoctl_binary_checksums.amd64, first key = calico_version)' },
  flannel: { ref: 'https://github.com/flannel-io/flannel/releases/download/v0.28.4/kube-flannel.yml', checked: '2026-12-03', source: 'kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/defaults/main/download.yml (flannel_version)' },
} as const satisfies Record<string, UpstreamPin>;

/** Component versions the deploy paths name. */
export const COMPONENT_PINS = {
  kubespray: { ref: 'v2.31.0', checked: '2026-12-03', source: 'https://github.com/kubernetes-sigs/kubespray/releases/tag/v2.31.0 (released 2026-04-24)' },
  cilium: { ref: '1.19.3', checked: '2026-12-03', source: 'kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/defaults/main/download.yml (cilium_version; Kubespray and RKE2 install it)' },
  pkgsK8sDebRevision: { ref: '1.1', checked: '2026-12-03', source: 'https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/ (packages are <version>-1.1)' },
  rke2ReleaseSuffix: { ref: '+rke2r1', checked: '2026-12-03', source: 'https://docs.rke2.io/install/configuration (INSTALL_RKE2_VERSION, e.g. v1.35.4+rke2r1)' },
} as const satisfies Record<string, UpstreamPin>;

type Refs<T extends Record<string, UpstreamPin>> = { readonly [K in keyof T]: T[K]['ref'] };
function refs<T extends Record<string, UpstreamPin>>(pins: T): Refs<T> {
  return Object.fromEntries(Object.entries(pins).map(([k, p]) => [k, p.ref])) as Refs<T>;
}

/** Every container image by name (what manifests use). */
export const IMAGES = refs(IMAGE_PINS);
export type ImageName = keyof typeof IMAGES;

/** The CNI manifest URL by CNI (what the kubeadm playbook applies). */
export const CNI_MANIFESTS = refs(CNI_MANIFEST_PINS);

/** The version in a pinned image reference or manifest URL (`v3.31.5` -> `3.31.5`). */
export function pinnedVersion(ref: string): string {
  const m = /[:/]v?(\d+\.\d+\.\d+)(?:[/:]|$)/.exec(ref);
  if (!m?.[1]) throw new Error(`no version in ${ref}`);
  return m[1];
}
