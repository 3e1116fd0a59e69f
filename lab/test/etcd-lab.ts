// A real etcd on the lab's masternode, as the etcd snapshot test and bench (bench/etcd-snapshot-restore.ts)
// need it: Debian's etcd-server/etcd-client 3.4 (in the lab's root filesystem) laid out as Kubespray
// runs it (etcd_deployment_type host): /etc/ssl/etcd/ssl/{ca,member-NODE,admin-NODE}.pem from a test CA
// made here with openssl, etcd and etcdctl in /usr/local/bin, /etc/etcd.env and an etcd.service as
// Kubespray's templates write them (roles/etcd/templates/etcd.env.j2, etcd-host.service.j2).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { labFixture, ssh, sshOk, waitFor } from './lab-fixture.js';

export const SSL = '/etc/ssl/etcd/ssl';
export const ETCDCTL = `ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=${SSL}/ca.pem --cert=${SSL}/admin-masternode.pem --key=${SSL}/admin-masternode-key.pem`;

/** Writes a file on a lab host through ssh's standard input (host-key checking on). */
function put(node: string, file: string, content: string | Buffer, mode = '0644'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-F', labFixture().sshConfig, node, `mkdir -p "$(dirname ${file})" && cat > ${file} && chmod ${mode} ${file}`]);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`writing ${file} on ${node}: exit ${code}`))));
    child.stdin.end(content);
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A test CA and the member and admin certificates, named as Kubespray's make-ssl-etcd.sh names them. */
function certificates(dir: string): Record<string, string> {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=etcd-ca']);
  const issue = (name: string, ext: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  issue('member-masternode', 'subjectAltName=IP:10.78.0.63,IP:127.0.0.1,DNS:localhost,DNS:masternode\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue('admin-masternode', 'extendedKeyUsage=clientAuth\n');
  const out: Record<string, string> = {};
  for (const f of ['ca.pem', 'member-masternode.pem', 'member-masternode-key.pem', 'admin-masternode.pem', 'admin-masternode-key.pem']) out[f] = readFileSync(path.join(dir, f), 'utf8');
  return out;
}

// The subset of Kubespray's etcd.env.j2 that a one-member etcd 3.4 needs (names and values as rendered).
const ETCD_ENV = `ETCD_DATA_DIR=/var/lib/etcd
ETCD_ADVERTISE_CLIENT_URLS=https://10.78.0.63:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.78.0.63:2380
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_LISTEN_CLIENT_URLS=https://10.78.0.63:2379,https://127.0.0.1:2379
ETCD_INITIAL_CLUSTER_TOKEN=k8s_etcd
ETCD_LISTEN_PEER_URLS=https://10.78.0.63:2380
ETCD_NAME=etcd1
ETCD_INITIAL_CLUSTER=etcd1=https://10.78.0.63:2380
ETCD_TRUSTED_CA_FILE=${SSL}/ca.pem
ETCD_CERT_FILE=${SSL}/member-masternode.pem
ETCD_KEY_FILE=${SSL}/member-masternode-key.pem
ETCD_CLIENT_CERT_AUTH=true
ETCD_PEER_TRUSTED_CA_FILE=${SSL}/ca.pem
ETCD_PEER_CERT_FILE=${SSL}/member-masternode.pem
ETCD_PEER_KEY_FILE=${SSL}/member-masternode-key.pem
ETCD_PEER_CLIENT_CERT_AUTH=true
`;
// Kubespray's roles/etcd/templates/etcd-host.service.j2 with bin_dir /usr/local/bin.
const ETCD_UNIT = `[Unit]
Description=etcd
After=network.target

[Service]
Type=notify
User=root
EnvironmentFile=/etc/etcd.env
ExecStart=/usr/local/bin/etcd
NotifyAccess=all
Restart=always
RestartSec=10s
LimitNOFILE=40000

[Install]
WantedBy=multi-user.target
`;

/** Keys /registry/day-two/key-1..N (values value-N, padded with "x" to `valueBytes` when given), one etcdctl put each. */
export async function putKeys(count: number, valueBytes = 0): Promise<void> {
  const pad = valueBytes > 0 ? `pad=-$(head -c ${valueBytes} /dev/zero | tr '\\0' x); ` : 'pad=; ';
  const command = `${pad}for i in $(seq 1 ${count}); do ${ETCDCTL} put /registry/day-two/key-$i value-$i$pad >/dev/null || exit 1; done`;
  // About 30 ms per put on an idle machine; allow for a loaded one.
  const r = await ssh('masternode', command, { timeoutMs: 60_000 + count * 500 });
  if (r.code !== 0) throw new Error(`writing ${count} keys on masternode: exit ${r.code}: ${r.stderr.trim()}`);
}

export const readKeys = async (): Promise<string[]> => (await sshOk('masternode', `${ETCDCTL} get --prefix /registry/day-two/ --print-value-only`)).trim().split('\n').filter(Boolean);

/** Starts etcd with TLS on masternode (files in `dir`: the test CA) and waits until it is healthy. */
export async function startLabEtcd(dir: string): Promise<void> {
  for (const [name, content] of Object.entries(certificates(dir))) await put('masternode', `${SSL}/${name}`, content, name.endsWith('-key.pem') ? '0600' : '0644');
  await put('masternode', '/etc/etcd.env', ETCD_ENV, '0640');
  await put('masternode', '/etc/systemd/system/etcd.service', ETCD_UNIT);
  await sshOk('masternode', 'ln -sf /usr/bin/etcd /usr/local/bin/etcd && ln -sf /usr/bin/etcdctl /usr/local/bin/etcdctl && systemctl daemon-reload && systemctl start etcd');
  await waitFor('etcd healthy', async () => ((await ssh('masternode', `${ETCDCTL} endpoint health`)).code === 0 ? true : undefined), 60_000, 1000);
}

/** Removes etcd, the snapshot units and every snapshot from the lab (masternode and storagenodet3500). */
export async function removeLabEtcd(): Promise<void> {
  await ssh('masternode', [
    'systemctl disable --now vmstation-etcd-snapshot.timer etcd >/dev/null 2>&1',
    'rm -f /etc/systemd/system/etcd.service /etc/etcd.env /etc/systemd/system/vmstation-etcd-snapshot.* /usr/local/sbin/vmstation-etcd-snapshot /usr/local/bin/etcd /usr/local/bin/etcdctl',
    'rm -rf /etc/ssl/etcd /var/lib/etcd /var/lib/etcd.before-restore-* /var/backups/vmstation-etcd /etc/vmstation /var/lib/prometheus/node-exporter/vmstation_etcd_snapshot.prom',
    'systemctl daemon-reload; true',
  ].join('; '));
  await ssh('storagenodet3500', "rm -rf /var/backups/vmstation-etcd-copies /usr/local/sbin/vmstation-etcd-snapshot-receive; sed -i '/vmstation-etcd-backup@/d' /root/.ssh/authorized_keys; true");
}
