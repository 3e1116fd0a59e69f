// The host layer applied with the real ansible-playbook to the lab's three Debian hosts
// (systemd-nspawn, real sshd/chrony/rsyslog/krb5/nftables), Kerberos and the firewall on:
//  (a) a second run changes nothing;
//  (b) a worker's chrony selects the NTP server node;
//  (c) 10,000 syslog lines from two workers all reach the server, including those logged while
//      the server's rsyslog is stopped for 60 s;
//  (d) kinit with a worker's host keytab gets a ticket from the KDC node;
//  (e) a closed port on a worker refuses connections from another lab host; SSH and
//      node-exporter (a stand-in listener on 9100, named as one) stay reachable.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedCount, type AnsibleEvent } from '../../../src/adapters/ansible/index.js';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { applyHostLayer, type HostApplyResult } from '../../../src/host/apply.js';
import { SYSLOG_HOSTS_DIR } from '../../../src/render/ansible/host-plan.js';
import { labFixture, sendMagicPacket, ssh, sshOk, tcpOpen, waitFor } from '../../../lab/test/lab-fixture.js';

const SERVER = 'masternode';
const WORKERS = ['storagenodet3500', 'homelab'] as const;
const REQUIRED_PACKAGES = ['chrony', 'rsyslog', 'ethtool', 'logrotate', 'nftables', 'krb5-kdc', 'krb5-admin-server', 'krb5-user'];

/** The lab's cluster file with Kerberos on (the firewall is on in the lab file already). */
export function labClusterWithKerberos(file: string): Cluster {
  const doc = parse(readFileSync(file, 'utf8')) as { spec: { infrastructure: { kerberos: { enabled: boolean }; firewall: { enabled: boolean } } } };
  doc.spec.infrastructure.kerberos.enabled = true;
  doc.spec.infrastructure.firewall.enabled = true;
  const r = validateText({ file, text: stringify(doc) });
  if (!r.cluster) throw new Error(`lab cluster file invalid: ${JSON.stringify(r.problems)}`);
  return r.cluster;
}

let cluster: Cluster;
let workDir: string;
const kerberosSecrets = new Map([
  ['kerberos-master-password', randomBytes(18).toString('base64url')],
  ['kerberos-admin-password', randomBytes(18).toString('base64url')],
]);
const runs: Array<{ label: string; result: HostApplyResult; events: AnsibleEvent[] }> = [];

async function apply(label: string, diff = false): Promise<HostApplyResult> {
  const events: AnsibleEvent[] = [];
  const result = await applyHostLayer({ cluster, workDir, diff, secrets: async () => ({ get: (n: string) => kerberosSecrets.get(n), put: async (n: string, v: string) => void kerberosSecrets.set(n, v) }), ensureAwake: wake, onEvent: (e) => events.push(e), notice: (l) => console.log(`[host] ${l}`) });
  runs.push({ label, result, events });
  console.log(`[host] ${label}: ${(result.run.durationMs / 1000).toFixed(1)}s, ${changedCount(result.run)} changed`);
  return result;
}

/** Wakes a lab node other tests may have put to sleep: a real magic packet, then SSH's port. */
async function wake(name: string): Promise<{ reachable: boolean; wasAwake: boolean; message: string }> {
  const node = labFixture().nodes.find((n) => n.name === name)!;
  if (await tcpOpen(node.address)) return { reachable: true, wasAwake: true, message: 'awake' };
  await sendMagicPacket(node.mac);
  await waitFor(`${name} to wake`, async () => ((await tcpOpen(node.address)) ? true : undefined), 120_000, 500);
  return { reachable: true, wasAwake: false, message: 'woken by a magic packet' };
}

const count = async (worker: string, pattern: string): Promise<number> =>
  Number((await sshOk(SERVER, `grep -c -- '${pattern}' ${SYSLOG_HOSTS_DIR}/${worker}/syslog.log 2>/dev/null || true`)).trim() || '0');

beforeAll(async () => {
  const lab = labFixture();
  cluster = labClusterWithKerberos(lab.clusterFile);
  workDir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-host-it-'));
  for (const n of lab.nodes) {
    await wake(n.name);
    const missing = (await sshOk(n.name, `for p in ${REQUIRED_PACKAGES.join(' ')}; do dpkg-query -W -f='\${Status}\\n' $p 2>/dev/null | grep -q 'install ok installed' || echo $p; done`)).trim();
    if (missing) throw new Error(`lab host ${n.name} lacks ${missing.split('\n').join(', ')}: its root filesystem predates the host layer's package list (lab/rootfs.ts); take the lab down and up again`);
  }
  await apply('first apply');
}, 900_000);

afterAll(async () => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  // The lab is shared by the whole run: take the firewall down again so later tests (ports of
  // their own on the lab hosts) are not refused. Everything else the layer set up is harmless.
  for (const n of labFixture().nodes) await ssh(n.name, 'systemctl disable nftables >/dev/null 2>&1; nft delete table inet vmstation 2>/dev/null; true');
});

describe('host layer on the lab', () => {
  it('(a) a second run reports zero changed tasks', async () => {
    const second = await apply('second apply', true);
    const changed = runs.at(-1)!.events.filter((e) => e.event === 'host_result' && e.status === 'changed').map((e) => (e.event === 'host_result' ? `${e.host}: ${e.task}` : ''));
    // On failure, the --diff output in the log says what differed.
    expect(changed, changed.length > 0 ? readFileSync(second.run.logFile, 'utf8').slice(-6000) : '').toEqual([]);
    expect(changedCount(second.run)).toBe(0);
    for (const n of cluster.spec.nodes) expect(second.run.stats[n.name]).toMatchObject({ failed: 0, unreachable: 0 });
  }, 300_000);

  it('(b) a worker\'s chrony selects the NTP server node', async () => {
    const server = cluster.spec.nodes.find((n) => n.name === SERVER)!.address;
    const line = await waitFor(
      'chrony on storagenodet3500 to select the server',
      async () => {
        const out = await sshOk('storagenodet3500', 'chronyc -n sources');
        return out.split('\n').find((l) => l.startsWith('^*') && l.includes(server));
      },
      90_000,
      1000,
    );
    expect(line).toMatch(new RegExp(`^\\^\\* ${server.replace(/\./g, '\\.')}\\s`));
  }, 120_000);

  it('(c) 10,000 syslog lines from two workers all arrive, including those sent while the server is down for 60 s', async () => {
    const marker = `vmst-${Date.now()}-${randomBytes(3).toString('hex')}`;
    const send = (worker: string, phase: string, n: number) => sshOk(worker, `seq 1 ${n} | sed 's/^/${marker} ${phase} /' | logger -t vmstation-syslog-test`);
    // 2,500 lines per worker with the server up; wait until they are all on the server.
    await Promise.all(WORKERS.map((w) => send(w, 'up', 2500)));
    for (const w of WORKERS) await waitFor(`${w}'s first 2,500 lines on the server`, async () => ((await count(w, `${marker} up `)) === 2500 ? true : undefined), 120_000, 1000);

    // Stop the server's rsyslog for 60 s; 2,500 more lines per worker meanwhile.
    const stoppedAt = Date.now();
    await sshOk(SERVER, 'systemctl stop syslog.socket rsyslog.service');
    await Promise.all(WORKERS.map((w) => send(w, 'down', 2500)));
    for (const w of WORKERS) expect(await count(w, `${marker} down `)).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, 60_000 - (Date.now() - stoppedAt))));
    await sshOk(SERVER, 'systemctl start rsyslog.service');

    for (const w of WORKERS) await waitFor(`${w}'s lines logged while the server was down`, async () => ((await count(w, `${marker} down `)) >= 2500 ? true : undefined), 120_000, 1000);
    let total = 0;
    for (const w of WORKERS) {
      const unique = Number((await sshOk(SERVER, `grep -o -- '${marker} [a-z]* [0-9]*$' ${SYSLOG_HOSTS_DIR}/${w}/syslog.log | sort -u | wc -l`)).trim());
      const all = await count(w, marker);
      expect({ worker: w, unique, all }).toEqual({ worker: w, unique: 5000, all: 5000 });
      total += unique;
    }
    expect(total).toBe(10_000);
  }, 400_000);

  it('(d) kinit with a worker\'s host keytab gets a ticket from the KDC node', async () => {
    const fqdn = `storagenodet3500.${cluster.spec.network.domain}`;
    const out = await sshOk('storagenodet3500', `KRB5CCNAME=/tmp/vmstation-kinit-test kinit -k -t /etc/krb5.keytab host/${fqdn} && klist -c /tmp/vmstation-kinit-test; kdestroy -c /tmp/vmstation-kinit-test`);
    expect(out).toContain(`Default principal: host/${fqdn}@${cluster.spec.infrastructure.kerberos.realm}`);
    expect(out).toContain(`krbtgt/${cluster.spec.infrastructure.kerberos.realm}@${cluster.spec.infrastructure.kerberos.realm}`);
  }, 60_000);

  it('(e) the firewall refuses a closed port on a worker; SSH and node-exporter stay reachable', async () => {
    const worker = cluster.spec.nodes.find((n) => n.name === 'storagenodet3500')!;
    // Listeners on the worker: 9100 (a stand-in for node-exporter) and 5555 (a port nothing allows).
    const pids = (await sshOk(worker.name, 'for p in 9100 5555; do nohup python3 -m http.server --bind 0.0.0.0 $p >/dev/null 2>&1 & echo $!; done')).trim().split('\n');
    try {
      await waitFor('the listeners', async () => ((await ssh(worker.name, 'ss -ltn | grep -q ":5555 " && ss -ltn | grep -q ":9100 "')).code === 0 ? true : undefined), 10_000);
      const probe = (port: number) =>
        sshOk(
          'homelab',
          `python3 -c "import socket,sys
s=socket.socket(); s.settimeout(5)
try:
    s.connect(('${worker.address}', ${port})); print('open')
except ConnectionRefusedError: print('refused')
except OSError as e: print('error', e)"`,
        ).then((s) => s.trim());
      expect(await probe(5555)).toBe('refused');
      expect(await probe(9100)).toBe('open');
      expect(await probe(worker.ssh.port)).toBe('open');
      // Locally the port is open: it is the firewall that refuses it.
      expect((await sshOk(worker.name, "python3 -c \"import socket; s=socket.create_connection(('127.0.0.1', 5555), 5); print('open')\"")).trim()).toBe('open');
    } finally {
      await ssh(worker.name, `kill ${pids.join(' ')}`);
    }
  }, 60_000);
});
