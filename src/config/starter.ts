// The commented starter file `vmstation init` writes (pure: options in, text out).
import { userError } from '../errors.js';

export interface StarterNode {
  name: string;
  address: string;
  role: 'control-plane' | 'worker';
}

/** Parses `--nodes cp=192.168.1.10,w1=192.168.1.11/worker` (the first node defaults to control-plane). */
export function parseNodesFlag(value: string): StarterNode[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  return items.map((item, i) => {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)=(\d+\.\d+\.\d+\.\d+)(?:\/(control-plane|worker))?$/.exec(item);
    if (!m)
      throw userError('bad-nodes-flag', `--nodes: cannot read "${item}"`, 'write NAME=ADDRESS[/ROLE] items separated by commas, e.g. --nodes cp1=192.168.1.10,w1=192.168.1.11/worker', { exitCode: 2 });
    return { name: m[1]!, address: m[3]!, role: (m[4] as StarterNode['role'] | undefined) ?? (i === 0 ? 'control-plane' : 'worker') };
  });
}

const DEFAULT_NODES: StarterNode[] = [
  { name: 'cp1', address: '192.168.1.10', role: 'control-plane' },
  { name: 'worker1', address: '192.168.1.11', role: 'worker' },
];

export function starterFile(name: string, nodes: readonly StarterNode[] = DEFAULT_NODES): string {
  const first = nodes[0]?.address ?? '192.168.1.10';
  const prefix = first.split('.').slice(0, 3).join('.');
  const cp = nodes.find((n) => n.role === 'control-plane')?.name ?? nodes[0]?.name ?? 'cp1';
  const nodeBlocks = nodes
    .map((n) =>
      [
        `    - name: ${n.name}`,
        `      address: ${n.address}`,
        `      # mac: "aa:bb:cc:dd:ee:ff"   # needed to wake it by Wake-on-LAN (see \`ip link\`)`,
        `      os: debian-12               # debian-12|13, ubuntu-22.04|24.04, rhel-9|10, rocky-9|10`,
        `      roles: [${n.role}]`,
        `      power:`,
        `        autoSleep: false          # true lets the power manager suspend it when idle`,
      ].join('\n'),
    )
    .join('\n');
  return `# yaml-language-server: $schema=https://vmstation.io/schema/vmstation.schema.json
# VMStation cluster file. Check it with \`vmstation validate\`; every key is described by
# \`vmstation schema\`, and examples/vmstation.yaml shows a complete homelab.
apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata:
  name: ${name}
spec:
  network:
    subnet: ${prefix}.0/24          # the LAN your nodes are on
    gateway: ${prefix}.1
    domain: homelab.lan
  kubernetes:
    method: kubespray             # kubespray (recommended), kubeadm or rke2
    version: "1.35.4"
    cni: calico
  ssh:
    user: root
    privateKey: ~/.ssh/id_ed25519
  nodes:
${nodeBlocks}
  monitoring:
    node: ${cp}                    # runs Prometheus, Grafana, Loki, Alertmanager
    grafana:
      adminPassword: { secret: grafana-admin-password }   # vmstation secrets set grafana-admin-password
  infrastructure:
    ntp:
      server: ${cp}
    syslog:
      server: ${cp}
  power:
    idleAfter: 30m                # a worker idle this long is put to sleep
    minAwake: 15m
  secrets:
    file: secrets.vault.yaml      # Ansible Vault; password from --vault-password-file
`;
}
