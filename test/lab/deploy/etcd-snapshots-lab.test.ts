// etcd snapshots and restore with a real etcd (Debian's etcd-server/etcd-client 3.4 in the lab's
// root filesystem) on masternode, laid out as Kubespray runs it (etcd_deployment_type host):
// /etc/ssl/etcd/ssl/{ca,member-NODE,admin-NODE}.pem from a test CA made here with openssl, etcd and
// etcdctl in /usr/local/bin, /etc/etcd.env and an etcd.service as Kubespray's templates write them
// (roles/etcd/templates/etcd.env.j2, etcd-host.service.j2). Then, through the CLI:
//  deploy installs the rendered timer (schedule every minute here), which takes a snapshot, checks
//  it, and copies it off the node to storagenodet3500; node-exporter reads its metrics;
//  `etcd snapshot` and `etcd snapshots`; a corrupt snapshot is refused with nothing stopped; the
//  data folder wiped; `etcd restore` from the copy; the keys read back.
// etcd 3.4 has no etcdutl: the units and the restore use `etcdctl snapshot status|restore` there,
// and etcdutl on 3.5/3.6 (see docs/deploy.md "Backups").
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAllAwake, labFixture, ssh, sshOk, waitFor } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../src/cli/main.js';
import { freePort } from '../../helpers/net.js';

const SSL = '/etc/ssl/etcd/ssl';
const ETCDCTL = `ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints=https://127.0.0.1:2379 --cacert=${SSL}/ca.pem --cert=${SSL}/admin-masternode.pem --key=${SSL}/admin-masternode-key.pem`;
const KEYS = 25;

let dir: string;
let file: string;
let env: NodeJS.ProcessEnv;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string; ms: number }> {
  let out = '';
  let err = '';
  const o = new PassThrough();
  const e = new PassThrough();
  o.on('data', (d: Buffer) => (out += d.toString()));
  e.on('data', (d: Buffer) => (err += d.toString()));
  const started = Date.now();
  const code = await run(['node', 'vmstation', ...args], { stdout: o, stderr: e, stdin: new PassThrough(), env, cwd: dir, isTTY: false });
  return { code, out, err, ms: Date.now() - started };
}

/** Writes a file on a lab host through ssh's standard input (host-key checking on). */
function put(node: string, file: string, content: string | Buffer, mode = '0644'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-F', labFixture().sshConfig, node, `mkdir -p "$(dirname ${file})" && cat > ${file} && chmod ${mode} ${file}`]);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`writing ${file} on ${node}: exit ${code}`))));
    child.stdin.end(content);
  });
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A test CA and the member and admin certificates, named as Kubespray's make-ssl-etcd.sh names them. */
function certificates(): Record<string, string> {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=etcd-ca']);
  const issue = (name: string, ext: string) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
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

const readKeys = async () => (await sshOk('masternode', `${ETCDCTL} get --prefix /registry/day-two/ --print-value-only`)).trim().split('\n').filter(Boolean);

beforeAll(async () => {
  const lab = labFixture();
  dir = mkdtempSync(path.join(tmpdir(), 'etcd-lab-'));
  await ensureAllAwake();
  const doc = parse(readFileSync(lab.clusterFile, 'utf8')) as { spec: { kubernetes: Record<string, unknown> } };
  // Every minute, so the rendered timer runs during the test; copies go to storagenodet3500.
  doc.spec.kubernetes['etcd'] = { snapshots: { schedule: '* * * * *', keep: 3, copyTo: 'storagenodet3500' } };
  file = path.join(dir, 'vmstation.etcd.yaml');
  writeFileSync(file, stringify(doc));
  env = { ...process.env, VMSTATION_STATE_DIR: path.join(dir, 'state'), VMSTATION_CACHE_DIR: path.join(dir, 'cache') };
  for (const [name, content] of Object.entries(certificates())) await put('masternode', `${SSL}/${name}`, content, name.endsWith('-key.pem') ? '0600' : '0644');
  await put('masternode', '/etc/etcd.env', ETCD_ENV, '0640');
  await put('masternode', '/etc/systemd/system/etcd.service', ETCD_UNIT);
  await sshOk('masternode', 'ln -sf /usr/bin/etcd /usr/local/bin/etcd && ln -sf /usr/bin/etcdctl /usr/local/bin/etcdctl && systemctl daemon-reload && systemctl start etcd');
  await waitFor('etcd healthy', async () => ((await ssh('masternode', `${ETCDCTL} endpoint health`)).code === 0 ? true : undefined), 60_000, 1000);
  await sshOk('masternode', `for i in $(seq 1 ${KEYS}); do ${ETCDCTL} put /registry/day-two/key-$i value-$i >/dev/null; done`);
}, 300_000);

afterAll(async () => {
  await ssh('masternode', [
    'systemctl disable --now vmstation-etcd-snapshot.timer etcd >/dev/null 2>&1',
    'rm -f /etc/systemd/system/etcd.service /etc/etcd.env /etc/systemd/system/vmstation-etcd-snapshot.* /usr/local/sbin/vmstation-etcd-snapshot /usr/local/bin/etcd /usr/local/bin/etcdctl',
    'rm -rf /etc/ssl/etcd /var/lib/etcd /var/lib/etcd.before-restore-* /var/backups/vmstation-etcd /etc/vmstation /var/lib/prometheus/node-exporter/vmstation_etcd_snapshot.prom',
    'systemctl daemon-reload; true',
  ].join('; '));
  await ssh('storagenodet3500', "rm -rf /var/backups/vmstation-etcd-copies /usr/local/sbin/vmstation-etcd-snapshot-receive; sed -i '/vmstation-etcd-backup@/d' /root/.ssh/authorized_keys; true");
}, 120_000);

describe('etcd snapshots and restore on the lab (real etcd 3.4 with TLS, Kubespray layout)', () => {
  let name = '';

  it('deploy installs the rendered timer; it takes a checked snapshot and copies it off the node; node-exporter reads its metrics', async () => {
    const d = await cli(['deploy', '-f', file, '--phase', 'kubernetes', '--yes', '--kubeconfig', labFixture().kubeconfig!]);
    expect(d.code, `${d.err}\n${d.out}`).toBe(0);
    expect(d.out).toContain('scheduled etcd snapshots (* * * * *, keep 3, copied to storagenodet3500)');
    expect(await sshOk('masternode', 'systemctl is-active vmstation-etcd-snapshot.timer')).toContain('active');
    const file1 = await waitFor('a snapshot from the timer', async () => {
      const r = await ssh('masternode', 'ls /var/backups/vmstation-etcd/ | grep -E "^etcd-snapshot-masternode-.*\\.db$" | head -n 1');
      return r.stdout.trim() || undefined;
    }, 150_000, 2000);
    name = file1;
    const journal = await sshOk('masternode', 'journalctl -u vmstation-etcd-snapshot -o cat --no-pager | tail -n 20');
    expect(journal).toMatch(/saved \/var\/backups\/vmstation-etcd\/etcd-snapshot-masternode-\S+\.db \(revision \d+, \d+ bytes\)/);
    // Copied off the node, same bytes (sha256 checked by the receiving side too).
    await waitFor('the copy on storagenodet3500', async () => ((await ssh('storagenodet3500', `test -s /var/backups/vmstation-etcd-copies/masternode/${name}`)).code === 0 ? true : undefined), 60_000, 1000);
    const sum = (await sshOk('masternode', `sha256sum /var/backups/vmstation-etcd/${name}`)).split(' ')[0];
    expect((await sshOk('storagenodet3500', `sha256sum /var/backups/vmstation-etcd-copies/masternode/${name}`)).split(' ')[0]).toBe(sum);
    // The receive command refuses anything but its own requests.
    expect((await ssh('storagenodet3500', 'SSH_ORIGINAL_COMMAND="get ../../etc/shadow" /usr/local/sbin/vmstation-etcd-snapshot-receive masternode 3')).code).toBe(2);

    const prom = await sshOk('masternode', 'cat /var/lib/prometheus/node-exporter/vmstation_etcd_snapshot.prom');
    expect(prom).toMatch(/^vmstation_etcd_snapshot_last_attempt_success 1$/m);
    expect(prom).toMatch(/^vmstation_etcd_snapshot_last_revision [1-9]\d*$/m);
    expect(prom).toMatch(/^vmstation_etcd_snapshot_copy_last_success_timestamp_seconds \d+$/m);
    // The real node-exporter (Debian's, on this machine) reads the file with its textfile collector.
    const textDir = mkdtempSync(path.join(tmpdir(), 'textfile-'));
    writeFileSync(path.join(textDir, 'vmstation_etcd_snapshot.prom'), prom);
    const port = await freePort();
    const ne = spawn('prometheus-node-exporter', ['--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${textDir}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const metrics = await waitFor('node-exporter', async () => (await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => undefined)), 15_000, 200);
      expect(metrics).toMatch(/^vmstation_etcd_snapshot_last_success_timestamp_seconds \d/m);
      expect(metrics).toMatch(/^node_textfile_scrape_error 0$/m);
    } finally {
      ne.kill();
    }
  }, 400_000);

  it('etcd snapshot takes one now; etcd snapshots lists them on the node and at the copy target', async () => {
    const s = await cli(['etcd', 'snapshot', '-f', file]);
    expect(s.code, s.err).toBe(0);
    console.log(`[figure] vmstation etcd snapshot (lab etcd 3.4, ${KEYS} keys, TLS, copy to another node): ${s.ms} ms`);
    expect(s.out).toMatch(/^masternode: \/var\/backups\/vmstation-etcd\/etcd-snapshot-masternode-\S+\.db \(\d+\.\d s\)$/m);
    const l = await cli(['etcd', 'snapshots', '-f', file, '-o', 'json']);
    const list = JSON.parse(l.out) as Array<{ node: string; place: string; name: string }>;
    expect(list.filter((e) => e.place === 'local').length).toBeGreaterThanOrEqual(2);
    expect(list.filter((e) => e.place === 'local').length).toBeLessThanOrEqual(3); // keep: 3
    expect(list.some((e) => e.place === 'copy' && e.node === 'storagenodet3500' && e.name === name)).toBe(true);
  }, 300_000);

  it('a corrupt snapshot is refused before anything is stopped or wiped', async () => {
    const good = execFileSync('ssh', ['-F', labFixture().sshConfig, 'masternode', `cat /var/backups/vmstation-etcd/${name}`]);
    const corrupt = path.join(dir, 'corrupt', 'etcd-snapshot-corrupt.db');
    execFileSync('mkdir', ['-p', path.dirname(corrupt)]);
    writeFileSync(corrupt, Buffer.concat([good.subarray(0, Math.floor(good.length / 2)), Buffer.alloc(4096, 0x5a)]));
    const r = await cli(['etcd', 'restore', corrupt, '-f', file, '--yes']);
    expect(r.code).toBe(1);
    console.log(`[lab] corrupt snapshot: ${r.err.trim().split('\n')[0] ?? ''}`);
    expect(r.err).toContain('error[snapshot-refused]');
    expect(r.err).toContain('nothing was stopped, moved or wiped');
    expect(await sshOk('masternode', 'systemctl is-active etcd')).toContain('active');
    expect(await readKeys()).toHaveLength(KEYS);
  }, 120_000);

  it('after the data folder is wiped, restore from the copy on storagenodet3500 brings every key back', async () => {
    await sshOk('masternode', 'systemctl disable --now vmstation-etcd-snapshot.timer && systemctl stop etcd && rm -rf /var/lib/etcd');
    expect((await ssh('masternode', `${ETCDCTL} --dial-timeout=2s get /registry/day-two/key-1`)).code).not.toBe(0);
    const r = await cli(['etcd', 'restore', `storagenodet3500:${name}`, '-f', file, '--yes']);
    expect(r.code, `${r.err}\n${r.out}`).toBe(0);
    console.log(`[figure] vmstation etcd restore (lab etcd 3.4, from the copy on another node): ${r.ms} ms\n${r.out}`);
    expect(r.out).toContain(`masternode: ${name} from storagenodet3500`);
    expect(r.out).toContain('masternode: sha256 and snapshot status');
    expect(r.out).toMatch(/restored etcd-snapshot-masternode-\S+ into vmstation-lab in \d+\.\d s/);
    const keys = await readKeys();
    expect(keys).toHaveLength(KEYS);
    expect(keys).toContain(`value-${KEYS}`);
  }, 300_000);
});
