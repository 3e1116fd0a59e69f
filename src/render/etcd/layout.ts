// Where each method puts etcd: members, certificates, tools, data and snapshot folders (pure
// data; the snapshot units and the restore steps read it). Sources:
// - Kubespray v2.31.0 (etcd_deployment_type host, its default): roles/etcd/templates/etcd.env.j2
//   (ETCDCTL_ENDPOINTS=https://127.0.0.1:2379, ETCDCTL_CACERT={{ etcd_cert_dir }}/ca.pem,
//   ETCDCTL_CERT/KEY admin-{{ inventory_hostname }}[-key].pem, ETCD_NAME={{ etcd_member_name }});
//   roles/kubespray_defaults/defaults/main/main.yml (etcd_cert_dir /etc/ssl/etcd/ssl, etcd_data_dir
//   /var/lib/etcd, bin_dir /usr/local/bin, etcd_member_name "etcd" + position in the etcd group,
//   etcd_peer_url https://ADDRESS:2380); roles/etcdctl_etcdutl (etcdctl and etcdutl in bin_dir);
//   roles/etcd_defaults (etcd_backup_prefix /var/backups);
//   roles/recover_control_plane/etcd/tasks/recover_lost_quorum.yml (the restore: stop etcd, remove
//   the data dir, `snapshot restore --name --initial-cluster --initial-cluster-token k8s_etcd
//   --initial-advertise-peer-urls --data-dir`, chown, start etcd).
// - kubeadm (stacked etcd as a static pod): /etc/kubernetes/pki/etcd/{ca.crt,server.crt,server.key}
//   (the client certificate Kubespray's etcdctl.sh uses for etcd_deployment_type kubeadm,
//   roles/etcdctl_etcdutl/templates/etcdctl.sh.j2), data in /var/lib/etcd, member name = node
//   name; the static pod manifests in /etc/kubernetes/manifests (kubernetes.io/docs/tasks/
//   administer-cluster/configure-upgrade-etcd, "Restoring an etcd cluster": stop every API
//   server, restore every member, start them again).
// - RKE2: docs.rke2.io/datastore/backup_restore (snapshots in /var/lib/rancher/rke2/server/db/
//   snapshots; restore with `rke2 server --cluster-reset --cluster-reset-restore-path=PATH`).
import { etcdMembers, hasRole, type Cluster } from '../../config/model.js';
import type { Method } from '../../config/schema.js';

export interface EtcdMember {
  node: string;
  address: string;
  /** etcd's --name for this member. */
  memberName: string;
  peerUrl: string;
}

export interface EtcdLayout {
  method: Method;
  members: EtcdMember[];
  endpoint: string;
  cacert: (node: string) => string;
  cert: (node: string) => string;
  key: (node: string) => string;
  etcdctl: string;
  etcdutl: string;
  dataDir: string;
  /** --initial-cluster-token the cluster was created with. */
  clusterToken: string;
  /** Where the snapshots of this method are kept on the etcd nodes. */
  snapshotDir: string;
}

/** Kubespray's etcd_backup_prefix is /var/backups: ours go next to its own pre-upgrade backups. */
export const VMSTATION_SNAPSHOT_DIR = '/var/backups/vmstation-etcd';
/** Where a copy target node keeps the copies it receives (one folder per etcd node). */
export const COPIES_DIR = '/var/backups/vmstation-etcd-copies';
export const RKE2_SNAPSHOT_DIR = '/var/lib/rancher/rke2/server/db/snapshots';
export const KUBEADM_MANIFESTS = '/etc/kubernetes/manifests';

/** The etcd members of a cluster, in the order the method numbers them. */
export function etcdNodes(cluster: Cluster): Cluster['spec']['nodes'] {
  return cluster.spec.kubernetes.method === 'kubespray' ? etcdMembers(cluster.spec.nodes) : cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane'));
}

export function etcdLayout(cluster: Cluster): EtcdLayout {
  const method = cluster.spec.kubernetes.method;
  const nodes = etcdNodes(cluster);
  if (method === 'kubespray') {
    const dir = '/etc/ssl/etcd/ssl';
    return {
      method,
      members: nodes.map((n, i) => ({ node: n.name, address: n.address, memberName: `etcd${i + 1}`, peerUrl: `https://${n.address}:2380` })),
      endpoint: 'https://127.0.0.1:2379',
      cacert: () => `${dir}/ca.pem`,
      cert: (node) => `${dir}/admin-${node}.pem`,
      key: (node) => `${dir}/admin-${node}-key.pem`,
      etcdctl: '/usr/local/bin/etcdctl',
      etcdutl: '/usr/local/bin/etcdutl',
      dataDir: '/var/lib/etcd',
      clusterToken: 'k8s_etcd',
      snapshotDir: VMSTATION_SNAPSHOT_DIR,
    };
  }
  const pki = '/etc/kubernetes/pki/etcd';
  return {
    method,
    members: nodes.map((n) => ({ node: n.name, address: n.address, memberName: n.name, peerUrl: `https://${n.address}:2380` })),
    endpoint: 'https://127.0.0.1:2379',
    // RKE2 takes its own snapshots (rke2 etcd-snapshot): vmstation never runs etcdctl there.
    cacert: () => (method === 'rke2' ? '' : `${pki}/ca.crt`),
    cert: () => (method === 'rke2' ? '' : `${pki}/server.crt`),
    key: () => (method === 'rke2' ? '' : `${pki}/server.key`),
    etcdctl: '/usr/local/bin/etcdctl',
    etcdutl: '/usr/local/bin/etcdutl',
    dataDir: method === 'rke2' ? '/var/lib/rancher/rke2/server/db/etcd' : '/var/lib/etcd',
    // etcd's default --initial-cluster-token; kubeadm's etcd static pod does not set it.
    clusterToken: 'etcd-cluster',
    snapshotDir: method === 'rke2' ? RKE2_SNAPSHOT_DIR : VMSTATION_SNAPSHOT_DIR,
  };
}

/** etcd release whose etcdctl/etcdutl the kubeadm hosts get (Kubespray v2.31.0's choice for the minor, with its checksums). */
export function etcdToolsRelease(kubernetesVersion: string): { version: string; sha256: string } {
  // kubespray@v2.31.0:roles/kubespray_defaults/vars/main/main.yml etcd_supported_versions (1.35 -> newest 3.6,
  // 1.33/1.34 -> newest 3.5) and vars/main/checksums.yml etcd_binary_checksums.amd64.
  return kubernetesVersion.startsWith('1.35.')
    ? { version: '3.6.10', sha256: 'ed579fafab5701e3aaa95509969e7bc74776a4ae5269d32e3928408b406456ec' }
    : { version: '3.5.29', sha256: '7692f812db0bfeee3a731c45046864cf729e552bad82ce7cb5b507053d033267' };
}
