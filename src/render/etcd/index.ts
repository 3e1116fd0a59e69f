// Scheduled etcd snapshots, from spec.kubernetes.etcd.snapshots {schedule, keep, copyTo}:
// - Kubespray and kubeadm: a systemd timer on every etcd node (OnCalendar from the cron
//   schedule) starting a oneshot service that runs `etcdctl snapshot save` with the cluster's
//   certificates, checks the file with `snapshot status`, prunes to `keep` and copies it to
//   copyTo (another node, through a key that can only drop files there, or a path).
// - RKE2: its own schedule (etcd-snapshot-schedule-cron, etcd-snapshot-retention in the servers'
//   config.yaml, rendered by src/render/rke2); here only a path unit that copies and measures the
//   newest snapshot when RKE2 writes one.
// Every run leaves node-exporter textfile metrics (vmstation_etcd_snapshot_*), which the alert
// rules and the cluster dashboard read. Files land in `etcd/` of the render tree.
import type { Cluster, ClusterNode } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { toYaml } from '../k8s/common.js';
import { ansibleYaml } from '../../util/ansible-yaml.js';
import { NODE_EXPORTER_TEXTFILE_DIR } from '../metrics/exporters.js';
import type { Renderer } from '../registry.js';
import { cronToOnCalendar } from './calendar.js';
import { COPIES_DIR, etcdLayout, etcdNodes, etcdToolsRelease } from './layout.js';
import { BACKUP_KEY_DIR, ENV_FILE, RECEIVE_SCRIPT, SNAPSHOT_SCRIPT, receiveScript, snapshotScript } from './scripts.js';

export const ETCD_DIR = 'etcd';
export const SNAPSHOT_UNIT = 'vmstation-etcd-snapshot';

function hostVars(n: ClusterNode): Record<string, unknown> {
  return { ansible_host: n.address, ansible_port: n.ssh.port, ansible_user: n.ssh.user, ansible_ssh_private_key_file: n.ssh.privateKey, ...(n.ssh.user === 'root' ? {} : { ansible_become: true }) };
}

/** The copy target when copyTo names a node. */
export function copyTargetNode(cluster: Cluster): ClusterNode | undefined {
  const to = cluster.spec.kubernetes.etcd.snapshots.copyTo;
  return to && !to.startsWith('/') ? cluster.spec.nodes.find((n) => n.name === to) : undefined;
}

export function etcdInventory(cluster: Cluster): unknown {
  const members = etcdNodes(cluster);
  const target = copyTargetNode(cluster);
  const hosts = [...members, ...(target && !members.includes(target) ? [target] : [])];
  const group = (ns: readonly ClusterNode[]) => ({ hosts: Object.fromEntries(ns.map((n) => [n.name, {}])) });
  return { all: { hosts: Object.fromEntries(hosts.map((n) => [n.name, hostVars(n)])), children: { etcd_nodes: group(members), etcd_copy_target: group(target ? [target] : []) } } };
}

/** The settings file of one etcd node (the unit's EnvironmentFile). */
export function snapshotEnv(cluster: Cluster, node: ClusterNode): string {
  const layout = etcdLayout(cluster);
  const snap = cluster.spec.kubernetes.etcd.snapshots;
  const target = copyTargetNode(cluster);
  const lines = [
    `# vmstation etcd snapshots on ${node.name} (${layout.method}); rendered by vmstation, do not edit.`,
    `NODE_NAME=${node.name}`,
    `SNAPSHOT_DIR=${layout.snapshotDir}`,
    `SNAPSHOT_KEEP=${snap.keep}`,
    `TEXTFILE_DIR=${NODE_EXPORTER_TEXTFILE_DIR}`,
  ];
  if (layout.method !== 'rke2')
    lines.push(`ETCDCTL=${layout.etcdctl}`, `ETCDUTL=${layout.etcdutl}`, 'ETCDCTL_API=3', `ETCDCTL_ENDPOINTS=${layout.endpoint}`, `ETCDCTL_CACERT=${layout.cacert(node.name)}`, `ETCDCTL_CERT=${layout.cert(node.name)}`, `ETCDCTL_KEY=${layout.key(node.name)}`);
  if (target) lines.push(`COPY_TO_NODE=${target.name}`, `COPY_TO_ADDRESS=${target.address}`, `COPY_TO_PORT=${target.ssh.port}`, `COPY_TO_USER=${target.ssh.user}`);
  else if (snap.copyTo) lines.push(`COPY_TO_PATH=${snap.copyTo}`);
  return `${lines.join('\n')}\n`;
}

export function snapshotService(cluster: Cluster): string {
  const rke2 = cluster.spec.kubernetes.method === 'rke2';
  return [
    '# Rendered by vmstation; do not edit.',
    '[Unit]',
    `Description=vmstation: ${rke2 ? "copy and measure RKE2's newest etcd snapshot" : 'etcd snapshot (save, check, prune, copy)'}`,
    'Wants=network-online.target',
    `After=network-online.target${cluster.spec.kubernetes.method === 'kubespray' ? ' etcd.service' : ''}`,
    '',
    '[Service]',
    'Type=oneshot',
    `EnvironmentFile=${ENV_FILE}`,
    `ExecStart=${SNAPSHOT_SCRIPT} ${rke2 ? 'export' : 'save'}`,
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
  ].join('\n');
}

export function snapshotTimer(cluster: Cluster): string {
  const schedule = cluster.spec.kubernetes.etcd.snapshots.schedule;
  return [
    '# Rendered by vmstation; do not edit.',
    '[Unit]',
    `Description=vmstation: scheduled etcd snapshots (cron "${schedule}")`,
    '',
    '[Timer]',
    ...cronToOnCalendar(schedule).map((c) => `OnCalendar=${c}`),
    // A run missed while the node was off happens at the next boot.
    'Persistent=true',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

export function snapshotPathUnit(cluster: Cluster): string {
  return [
    '# Rendered by vmstation; do not edit.',
    '[Unit]',
    "Description=vmstation: RKE2 wrote an etcd snapshot (copy and measure it)",
    '',
    '[Path]',
    `PathChanged=${etcdLayout(cluster).snapshotDir}`,
    `Unit=${SNAPSHOT_UNIT}.service`,
    '',
    '[Install]',
    'WantedBy=paths.target',
    '',
  ].join('\n');
}

function toolsTasks(cluster: Cluster): unknown[] {
  if (cluster.spec.kubernetes.method !== 'kubeadm') return [];
  // kubeadm runs etcd in a static pod: the host has no etcdctl. Kubespray's download of the same release.
  const { version, sha256 } = etcdToolsRelease(cluster.spec.kubernetes.version);
  const dir = `etcd-v${version}-linux-amd64`;
  return [
    {
      name: `etcd ${version} release (etcdctl, etcdutl)`,
      'ansible.builtin.get_url': { url: `https://github.com/etcd-io/etcd/releases/download/v${version}/${dir}.tar.gz`, dest: `/tmp/${dir}.tar.gz`, checksum: `sha256:${sha256}`, mode: '0644' },
      tags: ['network'],
    },
    {
      name: 'etcdctl and etcdutl in /usr/local/bin',
      'ansible.builtin.unarchive': { src: `/tmp/${dir}.tar.gz`, dest: '/usr/local/bin', remote_src: true, extra_opts: ['--strip-components=1'], include: [`${dir}/etcdctl`, `${dir}/etcdutl`], creates: '/usr/local/bin/etcdutl' },
      tags: ['network'],
    },
  ];
}

function copyKeyTasks(cluster: Cluster): unknown[] {
  const target = copyTargetNode(cluster);
  if (!target) return [];
  const lookupKey = target.ssh.port === 22 ? target.address : `[${target.address}]:${target.ssh.port}`;
  return [
    { name: 'Backup key folder', 'ansible.builtin.file': { path: BACKUP_KEY_DIR, state: 'directory', mode: '0700' } },
    { name: `Key that can only drop snapshots on ${target.name}`, 'ansible.builtin.command': `ssh-keygen -q -t ed25519 -N '' -C vmstation-etcd-backup@{{ inventory_hostname }} -f ${BACKUP_KEY_DIR}/id_ed25519`, args: { creates: `${BACKUP_KEY_DIR}/id_ed25519` } },
    { name: 'Its public half', 'ansible.builtin.slurp': { src: `${BACKUP_KEY_DIR}/id_ed25519.pub` }, register: 'etcd_backup_pubkey' },
    {
      name: `${target.name}'s host key, from the managed known_hosts (host-key checking stays on)`,
      'ansible.builtin.set_fact': { etcd_copy_known_host: `{{ lookup('ansible.builtin.pipe', 'ssh-keygen -q -F ${lookupKey} -f ' + vmstation_known_hosts) }}` },
      vars: { vmstation_known_hosts: "{{ lookup('ansible.builtin.env', 'VMSTATION_KNOWN_HOSTS') }}" },
    },
    {
      name: `The managed known_hosts has ${target.name}'s key`,
      'ansible.builtin.assert': { that: ['etcd_copy_known_host | length > 0'], fail_msg: `no host key for ${lookupKey} in the managed known_hosts: run vmstation host once (it records the keys of hosts it has not seen), then deploy again`, quiet: true },
    },
    { name: `known_hosts for the copies to ${target.name}`, 'ansible.builtin.copy': { content: '{{ etcd_copy_known_host }}\n', dest: `${BACKUP_KEY_DIR}/known_hosts`, mode: '0600' } },
  ];
}

export function snapshotsPlaybook(cluster: Cluster): unknown[] {
  const snap = cluster.spec.kubernetes.etcd.snapshots;
  const rke2 = cluster.spec.kubernetes.method === 'rke2';
  const trigger = rke2 ? `${SNAPSHOT_UNIT}.path` : `${SNAPSHOT_UNIT}.timer`;
  const target = copyTargetNode(cluster);
  const units = [`${SNAPSHOT_UNIT}.service`, trigger];
  const plays: unknown[] = [
    {
      name: `Scheduled etcd snapshots (${snap.enabled ? `${snap.schedule}, keep ${snap.keep}` : 'disabled'})`,
      hosts: 'etcd_nodes',
      become: true,
      gather_facts: false,
      tasks: [
        ...toolsTasks(cluster),
        { name: 'vmstation settings folder', 'ansible.builtin.file': { path: '/etc/vmstation', state: 'directory', mode: '0700' } },
        { name: 'node-exporter textfile folder', 'ansible.builtin.file': { path: NODE_EXPORTER_TEXTFILE_DIR, state: 'directory', mode: '0755' } },
        { name: 'Snapshot script', 'ansible.builtin.copy': { src: '{{ playbook_dir }}/vmstation-etcd-snapshot', dest: SNAPSHOT_SCRIPT, mode: '0755' } },
        { name: 'Settings of this node', 'ansible.builtin.copy': { src: '{{ playbook_dir }}/env/{{ inventory_hostname }}.env', dest: ENV_FILE, mode: '0600' } },
        { name: 'systemd units', 'ansible.builtin.copy': { src: '{{ playbook_dir }}/{{ item }}', dest: '/etc/systemd/system/{{ item }}', mode: '0644' }, loop: units, register: 'etcd_snapshot_units' },
        ...copyKeyTasks(cluster),
        {
          name: snap.enabled ? `${trigger} enabled and started` : `${trigger} stopped and disabled`,
          'ansible.builtin.systemd_service': { name: trigger, enabled: snap.enabled, state: snap.enabled ? 'started' : 'stopped', daemon_reload: true },
        },
      ],
    },
  ];
  if (target) {
    const home = target.ssh.user === 'root' ? '/root' : `/home/${target.ssh.user}`;
    plays.push({
      name: `${target.name} keeps the copies (${COPIES_DIR})`,
      hosts: 'etcd_copy_target',
      become: true,
      gather_facts: false,
      tasks: [
        { name: 'Receive script (the forced command of the backup keys)', 'ansible.builtin.copy': { src: '{{ playbook_dir }}/vmstation-etcd-snapshot-receive', dest: RECEIVE_SCRIPT, mode: '0755' } },
        { name: 'Copies folder', 'ansible.builtin.file': { path: COPIES_DIR, state: 'directory', mode: '0700', owner: target.ssh.user } },
        { name: 'SSH folder', 'ansible.builtin.file': { path: `${home}/.ssh`, state: 'directory', mode: '0700', owner: target.ssh.user } },
        {
          name: 'Each etcd node may only put, list and get snapshots here',
          'ansible.builtin.lineinfile': {
            path: `${home}/.ssh/authorized_keys`,
            create: true,
            mode: '0600',
            owner: target.ssh.user,
            regexp: ' vmstation-etcd-backup@{{ item }}$',
            line: `restrict,command="${RECEIVE_SCRIPT} {{ item }} ${snap.keep}" {{ (hostvars[item].etcd_backup_pubkey.content | b64decode).strip() }}`,
          },
          loop: "{{ groups['etcd_nodes'] }}",
        },
      ],
    });
  }
  return plays;
}

const header = (cluster: Cluster) => `# Rendered by vmstation from cluster ${cluster.metadata.name}: scheduled etcd snapshots. Do not edit.\n`;

export const etcdRenderer: Renderer = {
  name: 'etcd',
  render(cluster: Cluster): Artifact[] {
    const rke2 = cluster.spec.kubernetes.method === 'rke2';
    const h = header(cluster);
    const units: Artifact[] = [
      { path: `${ETCD_DIR}/${SNAPSHOT_UNIT}.service`, component: 'etcd-snapshots', checker: 'systemd-analyze', content: snapshotService(cluster) },
      rke2
        ? { path: `${ETCD_DIR}/${SNAPSHOT_UNIT}.path`, component: 'etcd-snapshots', checker: 'systemd-analyze', content: snapshotPathUnit(cluster) }
        : { path: `${ETCD_DIR}/${SNAPSHOT_UNIT}.timer`, component: 'etcd-snapshots', checker: 'systemd-analyze', content: snapshotTimer(cluster) },
    ];
    return [
      { path: `${ETCD_DIR}/inventory.yaml`, component: 'etcd-snapshots', checker: 'ansible-inventory', content: h + ansibleYaml(etcdInventory(cluster)) },
      { path: `${ETCD_DIR}/snapshots.yml`, component: 'etcd-snapshots', checker: 'ansible-syntax', content: h + toYaml(snapshotsPlaybook(cluster)) },
      { path: `${ETCD_DIR}/vmstation-etcd-snapshot`, component: 'etcd-snapshots', checker: 'shellcheck', content: snapshotScript(), mode: 0o755 },
      { path: `${ETCD_DIR}/vmstation-etcd-snapshot-receive`, component: 'etcd-snapshots', checker: 'shellcheck', content: receiveScript(), mode: 0o755 },
      ...units,
      ...etcdNodes(cluster).map((n) => ({ path: `${ETCD_DIR}/env/${n.name}.env`, component: 'etcd-snapshots', checker: 'none' as const, content: snapshotEnv(cluster, n) })),
    ];
  },
};
