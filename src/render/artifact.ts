// What renderers produce: files with their path in the render tree, the component they belong
// to, and the real tool that checks them (recorded in index.json).

/** Real checkers a rendered file can be run through (see docs/render.md). */
export type Checker =
  | 'kubernetes-schema'
  | 'promtool-config'
  | 'promtool-rules'
  | 'promtool-test-rules'
  | 'amtool'
  | 'blackbox-config'
  | 'chronyd'
  | 'rsyslogd'
  | 'sshd'
  | 'nft'
  | 'firewall-offline-cmd'
  | 'ansible-syntax'
  | 'ansible-inventory'
  | 'shellcheck'
  | 'systemd-analyze'
  | 'json'
  | 'yaml'
  | 'golden'
  | 'none';

export interface Artifact {
  /** Path inside the render tree, with forward slashes (e.g. `manifests/prometheus.yaml`). */
  path: string;
  content: string;
  /** The component it belongs to (e.g. `prometheus`, `chrony`, `kubespray`). */
  component: string;
  /** The real tool that checks it; `golden` where no real tool runs here (Grafana, Loki, Alloy). */
  checker: Checker;
  /** File mode, when not 0644 (e.g. 0755 for scripts). */
  mode?: number;
}
