// The scheduled etcd snapshots as rendered, checked by the real tools: the units by
// `systemd-analyze verify`, the schedule by `systemd-analyze calendar` (against cron-parser's own
// next runs), the scripts by shellcheck and `sh -n`, the playbook by `ansible-playbook
// --syntax-check` and the inventory by `ansible-inventory`. Paths and keys are the methods'.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../../src/render/index.js';
import { cronToOnCalendar, longestGapSeconds } from '../../../src/render/etcd/calendar.js';
import type { Artifact } from '../../../src/render/artifact.js';
import { exampleWith, loadClusterFile } from '../../unit/deploy/helpers.js';

const example = loadClusterFile('examples/vmstation.yaml');
const files = (c: Parameters<typeof renderCluster>[0]) => Object.fromEntries(renderCluster(c).map((a) => [a.path, a]));

function writeTree(artifacts: readonly Artifact[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'etcd-render-'));
  for (const a of artifacts) {
    mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
    writeFileSync(path.join(dir, a.path), a.content, { mode: a.mode ?? 0o644 });
  }
  return dir;
}

/** Next `n` runs as systemd computes them for OnCalendar lines (TZ=UTC), epoch ms, merged. */
function systemdNext(lines: string[], n: number): number[] {
  const out = execFileSync('systemd-analyze', ['calendar', `--iterations=${n}`, ...lines], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  const times = [...out.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) => Date.parse(`${m[1]!.replace(' ', 'T')}Z`));
  return [...new Set(times)].sort((a, b) => a - b).slice(0, n);
}

function cronNext(expr: string, from: number, n: number): number[] {
  const it = CronExpressionParser.parse(expr, { currentDate: new Date(from), tz: 'UTC' });
  return Array.from({ length: n }, () => it.next().getTime());
}

describe('cron schedule -> systemd OnCalendar', () => {
  // crontab(5): with both day fields restricted, either matching runs the job; systemd.timer(5):
  // OnCalendar= may be given more than once and the timer elapses at any of them.
  const cases: Array<[string, string[]]> = [
    ['0 */12 * * *', ['*-*-* 00,12:00:00']], // the default: k3s and RKE2 snapshot at 00:00 and 12:00
    ['*/20 2-4 * * *', ['*-*-* 02,03,04:00,20,40:00']],
    ['30 3 1,15 * 1-5', ['Mon,Tue,Wed,Thu,Fri *-*-* 03:30:00', '*-*-01,15 03:30:00']],
    ['5 4 * jan,jul sun', ['Sun *-01,07-* 04:05:00']],
    ['0 0 * * 7', ['Sun *-*-* 00:00:00']],
  ];
  for (const [expr, expected] of cases) {
    it(`"${expr}" runs when cron would, as systemd-analyze calendar computes it`, () => {
      const lines = cronToOnCalendar(expr);
      expect(lines).toEqual(expected);
      // A minute boundary may pass between the two computations: accept cron-parser from before or after.
      const before = Date.now();
      const got = systemdNext(lines, 8);
      const after = Date.now();
      expect([JSON.stringify(cronNext(expr, before, 8)), JSON.stringify(cronNext(expr, after, 8))]).toContain(JSON.stringify(got));
    });
  }

  it('knows the longest gap between runs (the alert threshold is built on it)', () => {
    expect(longestGapSeconds('0 */12 * * *')).toBe(12 * 3600);
    expect(longestGapSeconds('0 3 * * 0')).toBe(7 * 86400);
  });
});

describe('etcd snapshot files (Kubespray)', () => {
  const f = files(example);

  it('renders units, scripts, settings per etcd node, the playbook and its inventory', () => {
    expect(Object.keys(f).filter((p) => p.startsWith('etcd/')).sort()).toEqual([
      'etcd/env/masternode.env',
      'etcd/inventory.yaml',
      'etcd/snapshots.yml',
      'etcd/vmstation-etcd-snapshot',
      'etcd/vmstation-etcd-snapshot-receive',
      'etcd/vmstation-etcd-snapshot.service',
      'etcd/vmstation-etcd-snapshot.timer',
    ]);
    expect(f['etcd/vmstation-etcd-snapshot']!.mode).toBe(0o755);
  });

  it("uses Kubespray's certificates, endpoint and tools", () => {
    // kubespray@v2.31.0:roles/etcd/templates/etcd.env.j2 (CLI settings: ETCDCTL_ENDPOINTS, ETCDCTL_CACERT
    // {{ etcd_cert_dir }}/ca.pem, ETCDCTL_CERT/KEY admin-{{ inventory_hostname }}[-key].pem);
    // roles/kubespray_defaults/defaults/main/main.yml (etcd_cert_dir /etc/ssl/etcd/ssl, bin_dir /usr/local/bin).
    expect(f['etcd/env/masternode.env']!.content).toContain(
      ['ETCDCTL=/usr/local/bin/etcdctl', 'ETCDUTL=/usr/local/bin/etcdutl', 'ETCDCTL_API=3', 'ETCDCTL_ENDPOINTS=https://127.0.0.1:2379', 'ETCDCTL_CACERT=/etc/ssl/etcd/ssl/ca.pem', 'ETCDCTL_CERT=/etc/ssl/etcd/ssl/admin-masternode.pem', 'ETCDCTL_KEY=/etc/ssl/etcd/ssl/admin-masternode-key.pem'].join('\n'),
    );
    // Defaults as k3s/RKE2 (docs.rke2.io/datastore/backup_restore: "at 00:00 and 12:00 ... 5 snapshots retained").
    expect(f['etcd/env/masternode.env']!.content).toContain('SNAPSHOT_KEEP=5');
    expect(f['etcd/vmstation-etcd-snapshot.timer']!.content).toContain('OnCalendar=*-*-* 00,12:00:00\nPersistent=true');
    // The textfile folder node-exporter reads (prometheus-node-exporter's README.textfile: /var/lib/prometheus/node-exporter).
    expect(f['etcd/env/masternode.env']!.content).toContain('TEXTFILE_DIR=/var/lib/prometheus/node-exporter');
  });

  it('the units pass systemd-analyze verify; a broken one does not', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'etcd-units-'));
    // The units systemd itself ships (sysinit.target, timers.target, ...), so verify resolves dependencies.
    mkdirSync(path.join(root, 'lib/systemd'), { recursive: true });
    cpSync('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    for (const [from, to, mode] of [
      ['etcd/vmstation-etcd-snapshot', 'usr/local/sbin/vmstation-etcd-snapshot', 0o755],
      ['etcd/vmstation-etcd-snapshot.service', 'etc/systemd/system/vmstation-etcd-snapshot.service', 0o644],
      ['etcd/vmstation-etcd-snapshot.timer', 'etc/systemd/system/vmstation-etcd-snapshot.timer', 0o644],
      ['etcd/env/masternode.env', 'etc/vmstation/etcd-snapshot.env', 0o600],
    ] as const) {
      mkdirSync(path.dirname(path.join(root, to)), { recursive: true });
      writeFileSync(path.join(root, to), f[from]!.content, { mode });
    }
    const verify = (units: string[]) => spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units.map((u) => `/etc/systemd/system/${u}`)], { encoding: 'utf8' });
    const ok = verify(['vmstation-etcd-snapshot.service', 'vmstation-etcd-snapshot.timer']);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    writeFileSync(path.join(root, 'etc/systemd/system/vmstation-etcd-snapshot.timer'), f['etcd/vmstation-etcd-snapshot.timer']!.content.replace(/OnCalendar=.*/, 'OnCalendar=*-*-* 25:00:00'));
    expect(verify(['vmstation-etcd-snapshot.timer']).status).not.toBe(0);
  });

  it('the scripts pass shellcheck (POSIX sh) and sh -n', () => {
    const dir = writeTree([f['etcd/vmstation-etcd-snapshot']!, f['etcd/vmstation-etcd-snapshot-receive']!]);
    for (const s of ['etcd/vmstation-etcd-snapshot', 'etcd/vmstation-etcd-snapshot-receive']) {
      const r = spawnSync('shellcheck', ['--shell=sh', '--severity=style', path.join(dir, s)], { encoding: 'utf8' });
      expect(r.stdout, s).toBe('');
      expect(r.status).toBe(0);
      expect(spawnSync('sh', ['-n', path.join(dir, s)]).status).toBe(0);
    }
  });

  it('the playbook passes --syntax-check and the inventory ansible-inventory', () => {
    const dir = writeTree(renderCluster(example));
    expect(execFileSync('ansible-playbook', ['--syntax-check', '-i', path.join(dir, 'etcd/inventory.yaml'), path.join(dir, 'etcd/snapshots.yml')], { encoding: 'utf8' })).toContain('playbook: ');
    const inv = JSON.parse(execFileSync('ansible-inventory', ['-i', path.join(dir, 'etcd/inventory.yaml'), '--list'], { encoding: 'utf8' })) as Record<string, { hosts?: string[] }>;
    expect(inv['etcd_nodes']?.hosts).toEqual(['masternode']);
  });
});

describe('copyTo, kubeadm and RKE2', () => {
  it('copyTo a node: a key per etcd node, authorized there only for the receive command; the host key from the managed known_hosts', () => {
    const c = exampleWith((t) => t.replace('    serviceSubnet: 10.233.0.0/18\n', '    serviceSubnet: 10.233.0.0/18\n    etcd:\n      snapshots:\n        copyTo: storagenodet3500\n        keep: 3\n'));
    const f = files(c);
    expect(f['etcd/env/masternode.env']!.content).toContain('COPY_TO_NODE=storagenodet3500\nCOPY_TO_ADDRESS=192.168.4.61\nCOPY_TO_PORT=22\nCOPY_TO_USER=root');
    const plays = parse(f['etcd/snapshots.yml']!.content) as Array<{ hosts: string; tasks: Array<Record<string, unknown>> }>;
    expect(plays.map((p) => p.hosts)).toEqual(['etcd_nodes', 'etcd_copy_target']);
    const auth = plays[1]!.tasks.find((t) => 'ansible.builtin.lineinfile' in t)!['ansible.builtin.lineinfile'] as { line: string };
    expect(auth.line).toBe('restrict,command="/usr/local/sbin/vmstation-etcd-snapshot-receive {{ item }} 3" {{ (hostvars[item].etcd_backup_pubkey.content | b64decode).strip() }}');
    const dir = writeTree(renderCluster(c));
    expect(execFileSync('ansible-playbook', ['--syntax-check', '-i', path.join(dir, 'etcd/inventory.yaml'), path.join(dir, 'etcd/snapshots.yml')], { encoding: 'utf8' })).toContain('playbook: ');
  });

  it('copyTo a path: copied on the etcd node itself', () => {
    const c = exampleWith((t) => t.replace('    serviceSubnet: 10.233.0.0/18\n', '    serviceSubnet: 10.233.0.0/18\n    etcd:\n      snapshots:\n        copyTo: /mnt/nas/etcd\n'));
    expect(files(c)['etcd/env/masternode.env']!.content).toContain('COPY_TO_PATH=/mnt/nas/etcd');
  });

  it("kubeadm: the static pod's certificates, and etcdctl/etcdutl from the etcd release Kubespray pins for the minor", () => {
    // Certificates: kubespray@v2.31.0:roles/etcdctl_etcdutl/templates/etcdctl.sh.j2 (etcd_deployment_type
    // kubeadm: {{ kube_cert_dir }}/etcd/ca.crt, server.crt, server.key). Release and checksum:
    // roles/kubespray_defaults/vars/main/{main.yml etcd_supported_versions, checksums.yml} (1.35 -> 3.6.10).
    const c = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm'));
    const f = files(c);
    expect(f['etcd/env/masternode.env']!.content).toContain('ETCDCTL_CACERT=/etc/kubernetes/pki/etcd/ca.crt\nETCDCTL_CERT=/etc/kubernetes/pki/etcd/server.crt\nETCDCTL_KEY=/etc/kubernetes/pki/etcd/server.key');
    expect(f['etcd/snapshots.yml']!.content).toContain('url: https://github.com/etcd-io/etcd/releases/download/v3.6.10/etcd-v3.6.10-linux-amd64.tar.gz');
    expect(f['etcd/snapshots.yml']!.content).toContain('checksum: sha256:ed579fafab5701e3aaa95509969e7bc74776a4ae5269d32e3928408b406456ec');
    expect(f['etcd/vmstation-etcd-snapshot.service']!.content).not.toContain('etcd.service');
  });

  it("RKE2: its own schedule keys from the same setting, and a path unit that copies and measures RKE2's snapshots", () => {
    // docs.rke2.io/datastore/backup_restore: etcd-snapshot-schedule-cron, etcd-snapshot-retention,
    // snapshots in /var/lib/rancher/rke2/server/db/snapshots.
    const r = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
    const custom = { ...r, spec: { ...r.spec, kubernetes: { ...r.spec.kubernetes, etcd: { snapshots: { ...r.spec.kubernetes.etcd.snapshots, schedule: '15 */6 * * *', keep: 10 } } } } };
    const f = files(custom);
    expect(parse(f['rke2/config/s1.yaml']!.content)).toMatchObject({ 'etcd-snapshot-schedule-cron': '15 */6 * * *', 'etcd-snapshot-retention': 10 });
    expect(parse(f['rke2/config/w1.yaml']!.content)).not.toHaveProperty('etcd-snapshot-schedule-cron');
    expect(f['etcd/vmstation-etcd-snapshot.path']!.content).toContain('PathChanged=/var/lib/rancher/rke2/server/db/snapshots');
    expect(f['etcd/vmstation-etcd-snapshot.service']!.content).toContain('ExecStart=/usr/local/sbin/vmstation-etcd-snapshot export');
    expect(f['etcd/vmstation-etcd-snapshot.timer']).toBeUndefined();
    expect(Object.keys(f).filter((p) => p.startsWith('etcd/env/')).sort()).toEqual(['etcd/env/s1.env', 'etcd/env/s2.env', 'etcd/env/s3.env']);
    expect(f['etcd/env/s1.env']!.content).not.toContain('ETCDCTL');
  });
});
