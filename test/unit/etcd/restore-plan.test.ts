// The etcd restore as a pure plan, per method, and how a snapshot argument is found.
import { describe, expect, it } from 'vitest';
import { parseList } from '../../../src/etcd/snapshots.js';
import { pickSnapshot } from '../../../src/etcd/restore.js';
import { planRestore, type RestoreStep } from '../../../src/etcd/restore-plan.js';
import { exampleWith, loadClusterFile } from '../deploy/helpers.js';

const example = loadClusterFile('examples/vmstation.yaml');
const NAME = 'etcd-snapshot-masternode-20261203T120000Z.db';
const onNode = { name: NAME, at: { node: 'masternode', path: `/var/backups/vmstation-etcd/${NAME}` }, sha256: 'ab'.repeat(32) };
const commands = (steps: RestoreStep[], stage: string) => steps.filter((s) => s.stage === stage).map((s) => (s.action.kind === 'run' ? `${s.action.node}: ${s.action.command}` : `copy -> ${s.action.to.node}`));

describe('restore plan: Kubespray', () => {
  const steps = planRestore(example, onNode, '20261203T130000Z');

  it('checks the staged file (sha256, then snapshot status with etcdutl, or etcdctl on etcd 3.4) before anything stops', () => {
    expect(steps.map((s) => s.stage)).toEqual(['stage', 'stage', 'check', 'stop', 'stop', 'restore', 'start', 'start', 'start', 'verify']);
    const check = commands(steps, 'check')[0]!;
    expect(check).toContain(`sha256sum '/var/backups/vmstation-etcd/restore/${NAME}'`);
    // etcd-io/etcd release-3.6 etcdutl/README.md "SNAPSHOT STATUS"; etcd 3.4's etcdctl has snapshot status itself.
    expect(check).toContain(`if command -v /usr/local/bin/etcdutl >/dev/null 2>&1; then /usr/local/bin/etcdutl snapshot status '/var/backups/vmstation-etcd/restore/${NAME}' -w json; else ETCDCTL_API=3 /usr/local/bin/etcdctl snapshot status`);
    // A trial restore into a scratch folder verifies the integrity hash snapshot save appended
    // (etcd.io/docs/v3.6/op-guide/recovery: restore checks it unless --skip-hash-check).
    expect(check).toContain(`/usr/local/bin/etcdutl snapshot restore '/var/backups/vmstation-etcd/restore/${NAME}' --data-dir "$t/data"`);
  });

  it("follows Kubespray's recover_lost_quorum.yml: stop etcd, data dir out of the way, snapshot restore with the member's name, token k8s_etcd, start", () => {
    // kubespray@v2.31.0:roles/recover_control_plane/etcd/tasks/recover_lost_quorum.yml: "etcdctl snapshot restore
    // /tmp/snapshot.db --name {{ etcd_member_name }} --initial-cluster {{ etcd_member_name }}={{ etcd_peer_url }}
    // --initial-cluster-token k8s_etcd --initial-advertise-peer-urls {{ etcd_peer_url }} --data-dir {{ etcd_data_dir }}".
    expect(commands(steps, 'stop')).toEqual([
      'masternode: if [ -f /etc/kubernetes/manifests/kube-apiserver.yaml ]; then mkdir -p /etc/kubernetes/manifests-stopped-by-vmstation && mv /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests-stopped-by-vmstation/; fi',
      'masternode: systemctl stop etcd',
    ]);
    const restore = commands(steps, 'restore')[0]!;
    expect(restore).toContain('mv /var/lib/etcd /var/lib/etcd.before-restore-20261203T130000Z');
    expect(restore).toContain(`/usr/local/bin/etcdutl snapshot restore '/var/backups/vmstation-etcd/restore/${NAME}' --name etcd1 --initial-cluster etcd1=https://192.168.4.63:2380 --initial-cluster-token k8s_etcd --initial-advertise-peer-urls https://192.168.4.63:2380 --data-dir /var/lib/etcd`);
    expect(restore).toContain('chown -R --reference=/var/lib/etcd.before-restore-20261203T130000Z /var/lib/etcd');
    expect(commands(steps, 'start')[0]).toBe('masternode: systemctl start --no-block etcd');
    expect(commands(steps, 'start')[1]).toContain('endpoint health');
  });

  it('three members: every one gets the snapshot, and each is restored with the whole initial cluster (etcd disaster recovery)', () => {
    // etcd.io/docs/v3.6/op-guide/recovery "Restoring a cluster": restore the same snapshot on each member with
    // its own --name and --initial-advertise-peer-urls and the same --initial-cluster.
    const three = exampleWith((t) => t.replace('roles: [control-plane]', 'roles: [control-plane, etcd]').replace(/roles: \[worker\]/g, 'roles: [worker, etcd]'));
    const s = planRestore(three, onNode, 'X');
    expect(commands(s, 'stage')).toEqual([
      'masternode: mkdir -p /var/backups/vmstation-etcd/restore && chmod 0700 /var/backups/vmstation-etcd/restore',
      `masternode: cp '/var/backups/vmstation-etcd/${NAME}' '/var/backups/vmstation-etcd/restore/${NAME}'`,
      'storagenodet3500: mkdir -p /var/backups/vmstation-etcd/restore && chmod 0700 /var/backups/vmstation-etcd/restore',
      'copy -> storagenodet3500',
      'homelab: mkdir -p /var/backups/vmstation-etcd/restore && chmod 0700 /var/backups/vmstation-etcd/restore',
      'copy -> homelab',
    ]);
    const initial = '--initial-cluster etcd1=https://192.168.4.63:2380,etcd2=https://192.168.4.61:2380,etcd3=https://192.168.4.62:2380';
    expect(commands(s, 'restore').map((c) => [c.split(':')[0], c.includes(initial), /--name (etcd\d)/.exec(c)?.[1]])).toEqual([
      ['masternode', true, 'etcd1'],
      ['storagenodet3500', true, 'etcd2'],
      ['homelab', true, 'etcd3'],
    ]);
  });
});

describe('restore plan: kubeadm and RKE2', () => {
  it("kubeadm: etcd and the API server stop by moving their static pod manifests aside, and start by moving them back", () => {
    const s = planRestore(exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm')), onNode, 'X');
    expect(commands(s, 'stop').map((c) => c.replace(/;.*$/, ''))).toEqual([
      'masternode: if [ -f /etc/kubernetes/manifests/kube-apiserver.yaml ]',
      'masternode: if [ -f /etc/kubernetes/manifests/etcd.yaml ]',
      'masternode: for i in $(seq 60)',
    ]);
    expect(commands(s, 'restore')[0]).toContain('--name masternode --initial-cluster masternode=https://192.168.4.63:2380 --initial-cluster-token etcd-cluster');
    expect(commands(s, 'start').at(-1)).toContain('mv /etc/kubernetes/manifests-stopped-by-vmstation/kube-apiserver.yaml /etc/kubernetes/manifests/');
  });

  it('RKE2: stop every server, cluster-reset with the restore path on the first, then the others without their old database', () => {
    // docs.rke2.io/datastore/backup_restore "Restoring a Snapshot to Existing Nodes".
    const s = planRestore(loadClusterFile('test/fixtures/valid/rke2-rocky.yaml'), { name: 'etcd-snapshot-s1-1765000000', at: { local: '/tmp/x' } }, 'X');
    expect(commands(s, 'stage')).toEqual(['s1: mkdir -p /var/backups/vmstation-etcd/restore && chmod 0700 /var/backups/vmstation-etcd/restore', 'copy -> s1']);
    expect(commands(s, 'stop')).toEqual(['s1: systemctl stop rke2-server', 's2: systemctl stop rke2-server', 's3: systemctl stop rke2-server']);
    expect(commands(s, 'restore')).toEqual(["s1: rke2 server --cluster-reset --cluster-reset-restore-path='/var/backups/vmstation-etcd/restore/etcd-snapshot-s1-1765000000'"]);
    expect(commands(s, 'start')).toEqual(['s1: systemctl start rke2-server', 's2: rm -rf /var/lib/rancher/rke2/server/db', 's2: systemctl start rke2-server', 's3: rm -rf /var/lib/rancher/rke2/server/db', 's3: systemctl start rke2-server']);
  });
});

describe('finding a snapshot', () => {
  const listed = [
    ...parseList(`${NAME} 20512 1765000000 ${'ab'.repeat(32)}\netcd-snapshot-masternode-20261202T120000Z.db 20480 1764900000 -\n`, { node: 'masternode', of: 'masternode', place: 'local', dir: '/var/backups/vmstation-etcd' }),
    ...parseList(`${NAME} 20512 1765000010 ${'ab'.repeat(32)}\n`, { node: 'storagenodet3500', of: 'masternode', place: 'copy', dir: '/var/backups/vmstation-etcd-copies/masternode' }),
  ];
  it('parses the list lines, the etcd node first, NODE:NAME to pick the copy', () => {
    expect(listed).toHaveLength(3);
    expect(listed[1]).toEqual({ node: 'masternode', of: 'masternode', place: 'local', dir: '/var/backups/vmstation-etcd', name: 'etcd-snapshot-masternode-20261202T120000Z.db', bytes: 20480, time: 1764900000 });
    expect(pickSnapshot(NAME, listed)?.node).toBe('masternode');
    expect(pickSnapshot(`storagenodet3500:${NAME}`, listed)?.place).toBe('copy');
    expect(pickSnapshot('nope.db', listed)).toBeUndefined();
  });
});
