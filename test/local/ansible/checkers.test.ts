// Every rendered file of the host layer goes through its real checker: chronyd -p, rsyslogd -N1,
// nft -c, firewall-offline-cmd --check-config, ansible-playbook --syntax-check, ansible-inventory.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CASES, renderAnsible, writeTree } from '../../unit/ansible/clusters.js';
import { unwrapUnsafe } from '../../helpers/ansible-unsafe.js';

const run = promisify(execFile);
const trees: string[] = [];
afterAll(() => {
  for (const t of trees) rmSync(t, { recursive: true, force: true });
});

async function check(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { ...opts, timeout: 60_000, maxBuffer: 20 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`);
  }
}

const ansibleEnv = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: os.tmpdir() };

describe.each(Object.entries(CASES))('host layer of %s', (name, load) => {
  const artifacts = renderAnsible(load());
  const dir = writeTree(artifacts);
  trees.push(dir);
  const byChecker = (c: string) => artifacts.filter((a) => a.checker === c);

  it('renders the same bytes every time', () => {
    expect(renderAnsible(load())).toEqual(artifacts);
  });

  it('chronyd -p accepts every chrony.conf', async () => {
    const files = byChecker('chronyd');
    expect(files.length).toBeGreaterThan(0);
    for (const a of files) {
      const { stdout } = await check('chronyd', ['-p', '-f', path.join(dir, a.path)]);
      expect(stdout).toMatch(/^(server|pool) /m);
    }
  });

  it('rsyslogd -N1 accepts every rsyslog.conf', async () => {
    const files = byChecker('rsyslogd');
    expect(files.length).toBeGreaterThan(0);
    for (const a of files) {
      // rsyslogd -N1 requires the work directory to exist; RHEL's (/var/lib/rsyslog) does not on
      // this Debian machine, so that one path is pointed at a temporary folder for the check.
      const workDir = /workDirectory="([^"]+)"/.exec(a.content)?.[1];
      let file = path.join(dir, a.path);
      if (workDir && !existsSync(workDir)) {
        const tmp = mkdtempSync(path.join(os.tmpdir(), 'vmstation-rsyslog-work-'));
        trees.push(tmp);
        file = path.join(tmp, 'rsyslog.conf');
        writeFileSync(file, a.content.replace(`workDirectory="${workDir}"`, `workDirectory="${tmp}"`));
      }
      const { stderr } = await check('rsyslogd', ['-N1', '-f', file]);
      expect(stderr).toContain('End of config validation run');
      expect(stderr).not.toMatch(/error|can not be accessed/i);
    }
  });

  it('nft -c accepts every nftables ruleset (Debian nodes)', async () => {
    for (const a of byChecker('nft')) await check('nft', ['-c', '-f', path.join(dir, a.path)]);
    expect(byChecker('nft').length).toBe(artifacts.filter((a) => a.path.endsWith('.nft')).length);
  });

  it('firewall-offline-cmd --check-config accepts every firewalld zone (RHEL nodes)', async () => {
    for (const a of byChecker('firewall-offline-cmd')) {
      const conf = mkdtempSync(path.join(os.tmpdir(), 'vmstation-firewalld-'));
      try {
        mkdirSync(path.join(conf, 'zones'));
        if (existsSync('/etc/firewalld/firewalld.conf')) copyFileSync('/etc/firewalld/firewalld.conf', path.join(conf, 'firewalld.conf'));
        copyFileSync(path.join(dir, a.path), path.join(conf, 'zones', 'public.xml'));
        await check('firewall-offline-cmd', ['--system-config', conf, '--check-config']);
        // The check must be able to fail: a broken copy of the same zone is refused.
        writeFileSync(path.join(conf, 'zones', 'public.xml'), artifacts.find((x) => x === a)!.content.replace('<accept/>', '<acept/>'));
        await expect(check('firewall-offline-cmd', ['--system-config', conf, '--check-config'])).rejects.toThrow(/Unexpected element acept/);
      } finally {
        rmSync(conf, { recursive: true, force: true });
      }
    }
  });

  it('ansible-playbook --syntax-check accepts the playbook and roles', async () => {
    const { stdout } = await check('ansible-playbook', ['--syntax-check', 'site.yaml'], { cwd: path.join(dir, 'ansible'), env: ansibleEnv });
    expect(stdout).toContain('playbook: site.yaml');
  });

  it('ansible-inventory --list shows the groups by role, OS family, sleep and service', async () => {
    const cluster = load();
    const { stdout } = await check('ansible-inventory', ['--list'], { cwd: path.join(dir, 'ansible'), env: ansibleEnv });
    const listed = JSON.parse(stdout) as Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    // Every string VMStation wrote is tagged !unsafe, so Ansible never templates it (issue 17 §3).
    for (const n of cluster.spec.nodes) expect(listed._meta.hostvars[n.name]!.ansible_user).toEqual({ __ansible_unsafe: n.ssh.user });
    const inv = unwrapUnsafe(listed);
    const hosts = (g: string) => (inv[g]?.hosts ?? []).sort();
    const names = (pick: (n: (typeof cluster.spec.nodes)[number]) => boolean) => cluster.spec.nodes.filter(pick).map((n) => n.name).sort();
    expect(hosts('role_control_plane')).toEqual(names((n) => n.roles.includes('control-plane')));
    expect(hosts('role_worker')).toEqual(names((n) => n.roles.includes('worker')));
    expect(hosts('os_debian')).toEqual(names((n) => n.os.startsWith('debian')));
    expect(hosts('os_redhat')).toEqual(names((n) => n.os.startsWith('rhel')));
    expect(hosts('sleepers')).toEqual(names((n) => n.power.autoSleep));
    expect(hosts('ntp_server')).toEqual([cluster.spec.infrastructure.ntp.server]);
    expect(hosts('syslog_server')).toEqual([cluster.spec.infrastructure.syslog.server]);
    expect(hosts('kerberos_kdc')).toEqual(cluster.spec.infrastructure.kerberos.enabled ? [cluster.spec.infrastructure.kerberos.kdc] : []);
    for (const n of cluster.spec.nodes) {
      const hv = inv._meta.hostvars[n.name]!;
      expect(hv.ansible_host).toBe(n.address);
      expect(hv.ansible_user).toBe(n.ssh.user);
      expect(hv.ansible_port).toBe(n.ssh.port);
      expect(hv.ansible_ssh_private_key_file).toBe(n.ssh.privateKey);
      expect(hv.vmstation_chrony_conf).toBe(n.os.startsWith('rhel') ? '/etc/chrony.conf' : '/etc/chrony/chrony.conf');
    }
  });

  it('every checked file is listed with a real checker and nothing is left unchecked', () => {
    const real = new Set(['chronyd', 'rsyslogd', 'nft', 'firewall-offline-cmd', 'ansible-syntax', 'ansible-inventory', 'golden']);
    for (const a of artifacts) expect(real.has(a.checker), `${a.path}: ${a.checker}`).toBe(true);
    expect(name).toBeTruthy();
  });
});
