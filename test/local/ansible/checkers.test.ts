// Every rendered file of the host layer goes through its real checker: chronyd -p, rsyslogd -N1,
// nft -c, firewall-offline-cmd --check-config, systemd-analyze verify, ansible-playbook
// --syntax-check, ansible-inventory; the files no tool here can check are pinned by golden files.
// Each check records the files it ran on, and the last test of each cluster proves that every
// rendered file was checked by the checker index.json names for it (nothing left unchecked).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../../../src/render/artifact.js';
import { POWER_READINESS_SCRIPT_PATH, POWER_READINESS_UNIT } from '../../../src/render/ansible/power-readiness.js';
import { CASES, ROOT, renderAnsible, writeTree } from '../../unit/ansible/clusters.js';
import { unwrapUnsafe } from '../../helpers/ansible-unsafe.js';
import { unitRoot } from '../../helpers/systemd-verify.js';

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
/** Clusters whose golden-checked files test/golden/ansible pins (golden.test.ts): all of them. */
const GOLDEN_DIR = path.join(ROOT, 'test/golden/ansible');

describe.each(Object.entries(CASES))('host layer of %s', (name, load) => {
  const artifacts = renderAnsible(load());
  const dir = writeTree(artifacts);
  trees.push(dir);
  const byChecker = (c: string) => artifacts.filter((a) => a.checker === c);
  /** path -> the checkers that ran on it in this file (and passed). */
  const checked = new Map<string, Set<string>>();
  const mark = (a: Artifact | string, checker: Artifact['checker']): void => {
    const p = typeof a === 'string' ? a : a.path;
    checked.set(p, (checked.get(p) ?? new Set()).add(checker));
  };

  it('renders the same bytes every time', () => {
    expect(renderAnsible(load())).toEqual(artifacts);
  });

  it('chronyd -p accepts every chrony.conf', async () => {
    const files = byChecker('chronyd');
    expect(files.length).toBeGreaterThan(0);
    for (const a of files) {
      const { stdout } = await check('chronyd', ['-p', '-f', path.join(dir, a.path)]);
      expect(stdout).toMatch(/^(server|pool) /m);
      mark(a, 'chronyd');
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
      mark(a, 'rsyslogd');
    }
  });

  it('nft -c accepts every nftables ruleset (Debian nodes)', async () => {
    for (const a of byChecker('nft')) {
      await check('nft', ['-c', '-f', path.join(dir, a.path)]);
      mark(a, 'nft');
    }
    expect(byChecker('nft').length).toBe(artifacts.filter((a) => a.path.endsWith('.nft')).length);
  });

  it('firewall-offline-cmd --check-config accepts every firewalld zone (RHEL nodes)', async () => {
    for (const a of byChecker('firewall-offline-cmd')) {
      const conf = mkdtempSync(path.join(os.tmpdir(), 'vmstation-firewalld-'));
      try {
        mkdirSync(path.join(conf, 'zones'));
        if (existsSync('/etc/firewalld/firewalld.conf')) copyFileSync('/etc/firewalld/firewalld.conf', path.join(conf, 'firewalld.conf'));
        // configs/firewall/trusted.xml becomes the trusted zone, every node's file the public zone.
        const zone = path.basename(a.path) === 'trusted.xml' ? 'trusted.xml' : 'public.xml';
        copyFileSync(path.join(dir, a.path), path.join(conf, 'zones', zone));
        await check('firewall-offline-cmd', ['--system-config', conf, '--check-config']);
        mark(a, 'firewall-offline-cmd');
        // The check must be able to fail: a broken copy of the same zone is refused.
        writeFileSync(path.join(conf, 'zones', zone), a.content.replace('</zone>', '<acept/></zone>'));
        await expect(check('firewall-offline-cmd', ['--system-config', conf, '--check-config'])).rejects.toThrow(/Unexpected element acept/);
      } finally {
        rmSync(conf, { recursive: true, force: true });
      }
    }
  });

  it('systemd-analyze verify accepts every unit, with the program it runs in place', () => {
    const units = byChecker('systemd-analyze');
    // The sleepers' power-readiness unit is the only unit of the host layer.
    expect(units.map((a) => a.path)).toEqual(load().spec.nodes.filter((n) => n.power.autoSleep).map((n) => `configs/power/${n.name}.service`));
    const script = artifacts.find((a) => a.path === 'configs/power/power-readiness.py');
    for (const a of units) {
      const r = unitRoot('vmstation-power-units');
      trees.push(r.root);
      r.put(POWER_READINESS_SCRIPT_PATH, script!.content, 0o755);
      r.copyFromHost('/usr/bin/python3');
      // The power role installs it under this name (roles/power/tasks).
      r.put(`etc/systemd/system/${POWER_READINESS_UNIT}`, a.content);
      const ok = r.verify([POWER_READINESS_UNIT]);
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      mark(a, 'systemd-analyze');
      // The check can fail: a wrong Type= and a missing interpreter are both refused (the script
      // is an argument of python3, so systemd does not look for it).
      r.put(`etc/systemd/system/${POWER_READINESS_UNIT}`, a.content.replace('Type=oneshot', 'Type=oneshoot'));
      expect(r.verify([POWER_READINESS_UNIT]).stderr).toMatch(/oneshoot/);
      r.put(`etc/systemd/system/${POWER_READINESS_UNIT}`, a.content.replace('ExecStart=/usr/bin/python3 ', 'ExecStart=/usr/bin/python9 '));
      expect(r.verify([POWER_READINESS_UNIT]).status).not.toBe(0);
    }
  });

  it('shellcheck accepts every suspend program (what the power manager key may run), and can refuse one', async () => {
    const scripts = byChecker('shellcheck');
    const c = load();
    expect(scripts.map((a) => a.path)).toEqual(c.spec.power.enabled ? c.spec.nodes.filter((n) => n.power.autoSleep).map((n) => `configs/power/${n.name}-suspend.sh`) : []);
    for (const a of scripts) {
      await check('shellcheck', ['--severity=style', path.join(dir, a.path)]);
      mark(a, 'shellcheck');
    }
    if (scripts[0]) {
      const broken = path.join(dir, 'broken-suspend.sh');
      writeFileSync(broken, `${scripts[0].content}\nrm -rf $UNQUOTED/*\n`);
      await expect(check('shellcheck', ['--severity=style', broken])).rejects.toThrow(/SC2086|SC2115/);
    }
  });

  it('ansible-playbook --syntax-check accepts the playbook, with ansible.cfg read', async () => {
    const { stdout } = await check('ansible-playbook', ['-v', '--syntax-check', 'site.yaml'], { cwd: path.join(dir, 'ansible'), env: ansibleEnv });
    expect(stdout).toContain('playbook: site.yaml');
    expect(stdout).toContain(`Using ${path.join(dir, 'ansible', 'ansible.cfg')} as config file`);
    mark('ansible/site.yaml', 'ansible-syntax');
    mark('ansible/ansible.cfg', 'ansible-syntax');
  });

  it('ansible-playbook --syntax-check accepts every role file, also of roles this cluster leaves out', async () => {
    // site.yaml names only the roles this cluster uses, and --syntax-check does not follow
    // include_tasks: a play applying every role, importing every task file, reads them all.
    const roleFiles = artifacts.filter((a) => a.path.startsWith('ansible/roles/'));
    const roles = [...new Set(roleFiles.map((a) => a.path.split('/')[2]!))].sort();
    const taskFiles = roleFiles.filter((a) => /\/tasks\/(?!main\.yaml$)[^/]+$/.test(a.path));
    const play = [{ name: 'every role', hosts: 'all', gather_facts: false, roles, tasks: taskFiles.map((a) => ({ name: `import ${a.path}`, 'ansible.builtin.import_tasks': path.join(dir, a.path) })) }];
    writeFileSync(path.join(dir, 'ansible', 'every-role.yaml'), JSON.stringify(play));
    const { stdout } = await check('ansible-playbook', ['--syntax-check', 'every-role.yaml'], { cwd: path.join(dir, 'ansible'), env: ansibleEnv });
    expect(stdout).toContain('playbook: every-role.yaml');
    for (const a of roleFiles) {
      expect(/\/(tasks|handlers)\/[^/]+\.yaml$/.test(a.path), `${a.path}: a role file --syntax-check does not read`).toBe(true);
      mark(a, 'ansible-syntax');
    }
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
      // host_vars/NODE.yaml was read: every variable it sets is the node's.
      const own = artifacts.find((a) => a.path === `ansible/host_vars/${n.name}.yaml`)!;
      expect(hv).toMatchObject(unwrapUnsafe(parse(own.content.replace(/!unsafe /g, '')) as Record<string, unknown>));
      mark(own, 'ansible-inventory');
    }
    mark('ansible/inventory.yaml', 'ansible-inventory');
  });

  it('ansible-inventory reads every group_vars file, also of a group this cluster leaves empty', async () => {
    // A group with no host has its group_vars file skipped; a probe host in every group reads them all.
    const groupFiles = artifacts.filter((a) => a.path.startsWith('ansible/group_vars/'));
    const groups = groupFiles.map((a) => path.basename(a.path, '.yaml')).filter((g) => g !== 'all');
    writeFileSync(path.join(dir, 'ansible', 'probe.yaml'), JSON.stringify({ all: { children: Object.fromEntries(groups.map((g) => [g, { hosts: { [`probe-${g}`]: null } }])) } }));
    const { stdout } = await check('ansible-inventory', ['-i', 'inventory.yaml', '-i', 'probe.yaml', '--list'], { cwd: path.join(dir, 'ansible'), env: ansibleEnv });
    const hostvars = unwrapUnsafe(JSON.parse(stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars;
    for (const a of groupFiles) {
      const group = path.basename(a.path, '.yaml');
      const vars = parse(a.content.replace(/!unsafe /g, '')) as Record<string, unknown>;
      expect(Object.keys(vars).length, a.path).toBeGreaterThan(0);
      expect(hostvars[group === 'all' ? `probe-${groups[0]}` : `probe-${group}`], a.path).toMatchObject(unwrapUnsafe(vars));
      mark(a, 'ansible-inventory');
    }
  });

  it('every file no tool here can check is pinned by its golden file (test/golden/ansible)', () => {
    for (const a of byChecker('golden')) {
      const golden = path.join(GOLDEN_DIR, name, a.path);
      expect(existsSync(golden), `${golden} is missing: UPDATE_GOLDEN=1 npx vitest run --project unit test/unit/ansible/golden.test.ts`).toBe(true);
      expect(a.content).toBe(readFileSync(golden, 'utf8'));
      mark(a, 'golden');
    }
  });

  it('nothing is left unchecked: every rendered file went through the checker index.json names for it', () => {
    const missed = artifacts.filter((a) => !checked.get(a.path)?.has(a.checker)).map((a) => `${a.path} (${a.checker})`);
    expect(missed).toEqual([]);
    expect(checked.size).toBe(artifacts.length);
  });
});
