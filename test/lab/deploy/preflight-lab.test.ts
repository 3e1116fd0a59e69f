// Preflight against the lab's real hosts over real SSH (host keys checked against the lab's
// known_hosts), with homelab deliberately mis-prepared:
// - swap: a swap line in /etc/fstab. Active swap cannot be emulated: `swapon` inside an nspawn
//   container needs CAP_SYS_ADMIN in the host's namespace and would change the host's kernel, so
//   the check's other half (swap that comes back at the next boot) is what fails here;
// - a required port taken: python3's http.server listening on 10250 (the kubelet's port);
// - WoL not armed: the lab's veth NIC reports no Wake-on state (no ethtool, no sysfs wakeup), so
//   the persistent setting decides; storagenodet3500 gets a systemd .link file with
//   WakeOnLan=magic, homelab none.
// Also: storagenodet3500 is put to sleep first, and preflight wakes it by a real magic packet
// (the lab's power emulator) instead of failing with "No route to host".
// The lab kernel has no IPVS, so this copy of the lab file uses kube-proxy in iptables mode (the
// modules check fails every node in ipvs mode, correctly; asserted at the end).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFixture, labSecrets, ssh, sshOk, tcpOpen, waitFor, waitForPower } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../src/cli/main.js';
import { validateText } from '../../../src/config/validate.js';
import type { Cluster } from '../../../src/config/model.js';
import { nodeAccess } from '../../../src/deploy/context.js';
import { runPreflight, type PreflightReport } from '../../../src/deploy/preflight/run.js';
import { mapSecrets } from '../../../src/power/drivers/secrets.js';

const PORT_UNIT = 'vmstation-test-port-10250';
const SWAP_LINE = '/swapfile-vmstation-preflight-test none swap sw 0 0';
const BACKUP = '/root/vmstation-preflight-test-backup';

function labCluster(mode: 'iptables' | 'ipvs'): { cluster: Cluster; file: string } {
  const text = readFileSync(labFixture().clusterFile, 'utf8').replace('serviceSubnet: 10.233.0.0/18', `serviceSubnet: 10.233.0.0/18\n    kubeProxyMode: ${mode}`);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'preflight-lab-')), 'vmstation.yaml');
  writeFileSync(file, text);
  const r = validateText({ file, text });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return { cluster: r.cluster, file };
}

const failing = (report: PreflightReport, node: string) => {
  const n = report.nodes.find((x) => x.node === node)!;
  return [...(n.error ? ['ssh'] : []), ...n.checks.filter((c) => c.status === 'fail').map((c) => c.id)];
};

describe('preflight on the lab hosts', () => {
  beforeAll(async () => {
    const lab = labFixture();
    const store = lab.nodes.find((n) => n.name === 'storagenodet3500')!;
    // homelab: WoL settings set aside (restored after), swap in fstab, a port taken.
    await sshOk('homelab', `mkdir -p ${BACKUP} && for f in $(grep -ls WakeOnLan /etc/systemd/network/*.link 2>/dev/null); do mv "$f" ${BACKUP}/; done; grep -qF '${SWAP_LINE}' /etc/fstab || echo '${SWAP_LINE}' >> /etc/fstab`);
    await ssh('homelab', `systemctl stop ${PORT_UNIT} 2>/dev/null; systemctl reset-failed ${PORT_UNIT} 2>/dev/null; true`);
    await sshOk('homelab', `systemd-run --unit=${PORT_UNIT} /usr/bin/python3 -m http.server 10250 --bind 0.0.0.0`);
    await waitFor('port 10250 on homelab', async () => ((await tcpOpen(lab.nodes.find((n) => n.name === 'homelab')!.address, 10250)) ? true : undefined), 15_000);
    // storagenodet3500: WoL armed at boot by a .link file, then asleep.
    await sshOk('storagenodet3500', `mkdir -p /etc/systemd/network && printf '[Match]\\nMACAddress=${store.mac}\\n\\n[Link]\\nWakeOnLan=magic\\n' > /etc/systemd/network/50-vmstation-test-wol.link`);
    await ssh('storagenodet3500', '/usr/local/sbin/lab-suspend');
    await waitForPower('storagenodet3500', 'asleep', 30_000);
    expect(await tcpOpen(store.address)).toBe(false);
  }, 120_000);

  afterAll(async () => {
    await ssh('homelab', `systemctl stop ${PORT_UNIT}; sed -i '\\#${SWAP_LINE}#d' /etc/fstab; mv ${BACKUP}/* /etc/systemd/network/ 2>/dev/null; rmdir ${BACKUP}; true`);
    await ssh('storagenodet3500', 'rm -f /etc/systemd/network/50-vmstation-test-wol.link');
  }, 60_000);

  it('wakes the sleeping node, then reports exactly the three problems on homelab', async () => {
    const { cluster } = labCluster('iptables');
    const access = nodeAccess(cluster, { secrets: mapSecrets(labSecrets()) });
    const started = Date.now();
    let report: PreflightReport;
    try {
      report = await runPreflight(cluster, { pool: access.pool, ensureAwake: access.ensureAwake, now: Date.now });
    } finally {
      await access.close();
    }
    const ms = Date.now() - started;
    const store = report.nodes.find((n) => n.node === 'storagenodet3500')!;
    expect(store.wake).toMatchObject({ sent: ['wol'] });
    expect(store.wake!.message).toMatch(/^woken by wol in \d+\.\d s$/);
    expect(report.nodes.map((n) => n.error).filter(Boolean)).toEqual([]);
    expect(failing(report, 'masternode')).toEqual([]);
    expect(failing(report, 'storagenodet3500')).toEqual([]);
    expect(failing(report, 'homelab')).toEqual(['swap', 'ports', 'wol']);
    const homelab = Object.fromEntries(report.nodes.find((n) => n.node === 'homelab')!.checks.map((c) => [c.id, c]));
    expect(homelab.swap!.observed).toBe('swap configured in /etc/fstab (/swapfile-vmstation-preflight-test), turned on at the next boot');
    expect(homelab.ports!.observed).toBe('10250 (kubelet) is used by python3');
    expect(homelab.wol!.observed).toBe('not armed: host0 reports no Wake-on state and nothing arms it at boot');
    for (const c of [homelab.swap!, homelab.ports!, homelab.wol!]) expect(c.why && c.fix).toBeTruthy();
    expect(report.ok).toBe(false);
    console.log(`[preflight] 3 lab hosts incl. waking storagenodet3500: ${ms} ms`);
  }, 240_000);

  it('prints the table and JSON from the CLI, exit 1; ipvs mode fails the modules check on this kernel', async () => {
    const { file } = labCluster('ipvs');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const io = { stdout: out, stderr: new PassThrough(), stdin: new PassThrough(), env: process.env, cwd: path.dirname(file), isTTY: false };
    expect(await run(['node', 'vmstation', 'preflight', '-f', file, '--output', 'json'], io)).toBe(1);
    const report = JSON.parse(text) as PreflightReport;
    for (const n of report.nodes) expect(n.checks.find((c) => c.id === 'modules')).toMatchObject({ status: 'fail', observed: 'missing: ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh' });
    text = '';
    expect(await run(['node', 'vmstation', 'preflight', '-f', file, '--node', 'homelab'], io)).toBe(1);
    expect(text).toMatch(/^homelab\s+swap\s+FAIL/m);
    expect(text).toContain('    fix: stop or reconfigure the program holding the port');
    expect(text).not.toMatch(/^masternode/m);
  }, 240_000);
});
