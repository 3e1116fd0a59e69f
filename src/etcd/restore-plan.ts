// The etcd restore as a pure plan: ordered stages of commands per node, following each method's
// documented restore (sources in src/render/etcd/layout.ts):
// - Kubespray (etcd as a systemd service): its recover_lost_quorum.yml steps for every member
//   (stop etcd, the data dir out of the way, `snapshot restore` with the member's name, the
//   initial cluster, token and peer URL, ownership back, start etcd), with every API server
//   stopped meanwhile (kubernetes.io configure-upgrade-etcd, "Restoring an etcd cluster").
// - kubeadm (static pods): the same, stopping etcd and the API server by moving their manifests
//   out of /etc/kubernetes/manifests and back (the kubelet stops and starts them).
// - RKE2: docs.rke2.io/datastore/backup_restore: stop rke2-server on every server, `rke2 server
//   --cluster-reset --cluster-reset-restore-path=FILE` on the first, start it, remove
//   /var/lib/rancher/rke2/server/db on the others and start them.
// Nothing is stopped or moved before every member has the snapshot and it passed its check (its
// sha256 when known, and `snapshot status`): a corrupt snapshot is refused before anything changes.
import { hasRole, type Cluster } from '../config/model.js';
import { etcdLayout, KUBEADM_MANIFESTS, VMSTATION_SNAPSHOT_DIR, type EtcdLayout } from '../render/etcd/layout.js';

export type Stage = 'stage' | 'check' | 'stop' | 'restore' | 'start' | 'verify';
export const STAGES: readonly Stage[] = ['stage', 'check', 'stop', 'restore', 'start', 'verify'];

export type RestoreAction =
  | { kind: 'run'; node: string; command: string; timeoutMs?: number }
  /** Copies a file from a node (or the local machine) to a node, through vmstation's SSH connections. */
  | { kind: 'copy'; from: { node: string; path: string } | { local: string }; to: { node: string; path: string } };

export interface RestoreStep {
  stage: Stage;
  title: string;
  action: RestoreAction;
}

/** Where the snapshot to restore is. */
export interface SnapshotSource {
  /** File name, e.g. etcd-snapshot-masternode-20261203T120000Z.db. */
  name: string;
  /** On a node (an etcd node's snapshot folder or a copy target's copies), or a local file. */
  at: { node: string; path: string } | { local: string };
  /** From its .sha256 file, when there is one. */
  sha256?: string | undefined;
}

export const RESTORE_DIR = `${VMSTATION_SNAPSHOT_DIR}/restore`;
const MANIFESTS_ASIDE = '/etc/kubernetes/manifests-stopped-by-vmstation';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function etcdctlTls(layout: EtcdLayout, node: string): string {
  return `--endpoints=${layout.endpoint} --cacert=${layout.cacert(node)} --cert=${layout.cert(node)} --key=${layout.key(node)}`;
}

/** `snapshot status` with etcdutl where it exists (etcd >= 3.5), else etcdctl (3.4). */
function statusCommand(layout: EtcdLayout, file: string): string {
  return `if command -v ${layout.etcdutl} >/dev/null 2>&1; then ${layout.etcdutl} snapshot status ${q(file)} -w json; else ETCDCTL_API=3 ${layout.etcdctl} snapshot status ${q(file)} -w json; fi`;
}

/**
 * sha256 (when recorded), `snapshot status`, and a trial restore into a scratch folder: restore
 * verifies the integrity hash `snapshot save` appends (etcd's op-guide/recovery: it fails on a
 * snapshot whose hash does not match, unless --skip-hash-check), which status alone does not.
 */
function checkCommand(layout: EtcdLayout, file: string, sha256: string | undefined): string {
  const sum = sha256 ? `[ "$(sha256sum ${q(file)} | cut -d' ' -f1)" = ${q(sha256)} ] || { echo 'sha256 does not match the one recorded with the snapshot' >&2; exit 3; }; ` : '';
  if (layout.method === 'rke2') return `${sum}[ -s ${q(file)} ] || { echo 'empty file' >&2; exit 3; }`;
  const trial = `t=$(mktemp -d /var/tmp/vmstation-restore-check.XXXXXX); trap 'rm -rf "$t"' EXIT; if command -v ${layout.etcdutl} >/dev/null 2>&1; then ${layout.etcdutl} snapshot restore ${q(file)} --data-dir "$t/data" >/dev/null; else ETCDCTL_API=3 ${layout.etcdctl} snapshot restore ${q(file)} --data-dir "$t/data" >/dev/null; fi`;
  return `${sum}${statusCommand(layout, file)} && ${trial}`;
}

function restoreCommand(layout: EtcdLayout, member: EtcdLayout['members'][number], file: string, stamp: string): string {
  const initial = layout.members.map((m) => `${m.memberName}=${m.peerUrl}`).join(',');
  const args = `snapshot restore ${q(file)} --name ${member.memberName} --initial-cluster ${initial} --initial-cluster-token ${layout.clusterToken} --initial-advertise-peer-urls ${member.peerUrl} --data-dir ${layout.dataDir}`;
  const aside = `${layout.dataDir}.before-restore-${stamp}`;
  return [
    'set -e',
    `if [ -e ${layout.dataDir} ]; then mv ${layout.dataDir} ${aside}; fi`,
    `if command -v ${layout.etcdutl} >/dev/null 2>&1; then ${layout.etcdutl} ${args}; else ETCDCTL_API=3 ${layout.etcdctl} ${args}; fi`,
    // The owner etcd runs as (Kubespray's recover chowns to etcd; Debian's etcd also runs as etcd).
    `if [ -e ${aside} ]; then chown -R --reference=${aside} ${layout.dataDir}; fi`,
  ].join('; ');
}

function healthWait(layout: EtcdLayout, node: string): string {
  return `for i in $(seq 90); do ETCDCTL_API=3 ${layout.etcdctl} ${etcdctlTls(layout, node)} endpoint health >/dev/null 2>&1 && exit 0; sleep 2; done; ETCDCTL_API=3 ${layout.etcdctl} ${etcdctlTls(layout, node)} endpoint health`;
}

const moveAside = (file: string) => `if [ -f ${KUBEADM_MANIFESTS}/${file} ]; then mkdir -p ${MANIFESTS_ASIDE} && mv ${KUBEADM_MANIFESTS}/${file} ${MANIFESTS_ASIDE}/; fi`;
const moveBack = (file: string) => `if [ -f ${MANIFESTS_ASIDE}/${file} ]; then mv ${MANIFESTS_ASIDE}/${file} ${KUBEADM_MANIFESTS}/; fi`;
const portClosed = 'for i in $(seq 60); do ss -Hltn "sport = :2379" | grep -q . || exit 0; sleep 2; done; echo "etcd still listens on 2379" >&2; exit 1';

/** Where the snapshot goes on each node that restores it, then the whole restore, stage by stage. */
export function planRestore(cluster: Cluster, source: SnapshotSource, stamp: string): RestoreStep[] {
  const layout = etcdLayout(cluster);
  const dest = `${RESTORE_DIR}/${source.name}`;
  const members = layout.members;
  const targets = layout.method === 'rke2' ? members.slice(0, 1) : members;
  const steps: RestoreStep[] = [];
  const run = (stage: Stage, node: string, title: string, command: string, timeoutMs?: number) => steps.push({ stage, title, action: { kind: 'run', node, command, ...(timeoutMs ? { timeoutMs } : {}) } });

  for (const t of targets) {
    run('stage', t.node, `${t.node}: restore folder`, `mkdir -p ${RESTORE_DIR} && chmod 0700 ${RESTORE_DIR}`);
    if ('node' in source.at && source.at.node === t.node) run('stage', t.node, `${t.node}: ${source.name} from its own folder`, `cp ${q(source.at.path)} ${q(dest)}`);
    else steps.push({ stage: 'stage', title: `${t.node}: ${source.name} from ${'node' in source.at ? source.at.node : 'this machine'}`, action: { kind: 'copy', from: source.at, to: { node: t.node, path: dest } } });
  }
  for (const t of targets) run('check', t.node, `${t.node}: ${source.sha256 ? 'sha256 and ' : ''}${layout.method === 'rke2' ? 'size' : 'snapshot status'}`, checkCommand(layout, dest, source.sha256));

  const cps = cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane')).map((n) => n.name);
  if (layout.method === 'rke2') {
    for (const m of members) run('stop', m.node, `${m.node}: stop rke2-server`, 'systemctl stop rke2-server', 300_000);
    const first = members[0]!;
    run('restore', first.node, `${first.node}: rke2 server --cluster-reset --cluster-reset-restore-path=${dest}`, `rke2 server --cluster-reset --cluster-reset-restore-path=${q(dest)}`, 900_000);
    run('start', first.node, `${first.node}: start rke2-server`, 'systemctl start rke2-server', 900_000);
    for (const m of members.slice(1)) {
      run('start', m.node, `${m.node}: remove its old database (/var/lib/rancher/rke2/server/db), as RKE2's restore says`, 'rm -rf /var/lib/rancher/rke2/server/db');
      run('start', m.node, `${m.node}: start rke2-server (it joins the restored server)`, 'systemctl start rke2-server', 900_000);
    }
    return steps;
  }

  for (const cp of cps) run('stop', cp, `${cp}: stop kube-apiserver (its static pod manifest moved aside)`, moveAside('kube-apiserver.yaml'));
  for (const m of members) {
    if (layout.method === 'kubespray') run('stop', m.node, `${m.node}: stop etcd`, 'systemctl stop etcd', 120_000);
    else {
      run('stop', m.node, `${m.node}: stop etcd (its static pod manifest moved aside)`, moveAside('etcd.yaml'));
      run('stop', m.node, `${m.node}: wait until etcd has stopped`, portClosed, 150_000);
    }
  }
  for (const m of members) run('restore', m.node, `${m.node}: ${layout.dataDir} moved to ${layout.dataDir}.before-restore-${stamp}, snapshot restored as member ${m.memberName}`, restoreCommand(layout, m, dest, stamp), 600_000);
  for (const m of members) {
    if (layout.method === 'kubespray') run('start', m.node, `${m.node}: start etcd`, 'systemctl start --no-block etcd');
    else run('start', m.node, `${m.node}: start etcd (manifest back)`, moveBack('etcd.yaml'));
  }
  for (const m of members) run('start', m.node, `${m.node}: wait until etcd is healthy`, healthWait(layout, m.node), 200_000);
  for (const cp of cps) run('start', cp, `${cp}: start kube-apiserver (manifest back)`, moveBack('kube-apiserver.yaml'));
  const first = members[0]!;
  run('verify', first.node, `${first.node}: etcd endpoint status`, `ETCDCTL_API=3 ${layout.etcdctl} ${etcdctlTls(layout, first.node)} endpoint status -w json`);
  return steps;
}
