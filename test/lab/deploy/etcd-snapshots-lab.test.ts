// etcd snapshots and restore with a real etcd (Debian's etcd-server/etcd-client 3.4 in the lab's
// root filesystem) on masternode, laid out as Kubespray runs it (lab/test/etcd-lab.ts: TLS from a
// test CA, /etc/etcd.env and etcd.service as Kubespray's templates write them). Then, through the CLI:
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
import { ETCDCTL, putKeys, readKeys, removeLabEtcd, startLabEtcd } from '../../../lab/test/etcd-lab.js';
import { ensureAllAwake, labFixture, ssh, sshOk, waitFor } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../src/cli/main.js';
import { freePort } from '../../helpers/net.js';

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
  await startLabEtcd(dir);
  await putKeys(KEYS);
}, 300_000);

afterAll(async () => {
  await removeLabEtcd();
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
