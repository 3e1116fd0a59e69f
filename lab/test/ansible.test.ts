// A real Ansible play over SSH on every lab host, using the systemd module, host-key checking on.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../run.js';
import { labFixture, sshOk, ensureAllAwake } from './lab-fixture.js';

describe('ansible on the lab', () => {
  beforeAll(() => ensureAllAwake());

  it('runs a play with the systemd module on all three hosts', async () => {
    const lab = labFixture();
    const dir = mkdtempSync(join(tmpdir(), 'lab-ansible-'));
    const unit = `lab-probe-${process.pid}-${Date.now()}`;
    const inventory = {
      all: {
        hosts: Object.fromEntries(lab.nodes.map((n) => [n.name, { ansible_host: n.address }])),
        vars: {
          ansible_user: 'root',
          ansible_ssh_private_key_file: lab.privateKey,
          ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHosts} -o StrictHostKeyChecking=yes -o HostKeyAlias={{ inventory_hostname }}`,
          ansible_python_interpreter: '/usr/bin/python3',
        },
      },
    };
    writeFileSync(join(dir, 'inventory.json'), JSON.stringify(inventory));
    writeFileSync(
      join(dir, 'play.yaml'),
      [
        '- hosts: all',
        '  gather_facts: true',
        '  tasks:',
        '    - name: rsyslog restarted through systemd',
        '      ansible.builtin.systemd: { name: rsyslog, state: restarted }',
        '    - name: a unit of our own, installed, enabled and started',
        '      ansible.builtin.copy:',
        `        dest: /etc/systemd/system/${unit}.service`,
        '        content: "[Unit]\\nDescription=lab probe\\n[Service]\\nType=oneshot\\nRemainAfterExit=yes\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n"',
        `    - ansible.builtin.systemd: { name: ${unit}, state: started, enabled: true, daemon_reload: true }`,
        '    - name: its state, as systemd reports it',
        `      ansible.builtin.systemd: { name: ${unit} }`,
        '      register: probe',
        '    - ansible.builtin.assert: { that: ["probe.status.ActiveState == \'active\'", "ansible_facts.service_mgr == \'systemd\'"] }',
        '',
      ].join('\n'),
    );
    const r = await run('ansible-playbook', ['-i', join(dir, 'inventory.json'), join(dir, 'play.yaml')], {
      env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: join(dir, 'tmp') },
      timeoutMs: 180_000,
    });
    expect(r.stderr + r.stdout).not.toMatch(/UNREACHABLE!|Host key verification failed|REMOTE HOST IDENTIFICATION/);
    expect(r.code, `${r.stderr}\n${r.stdout.slice(-3000)}`).toBe(0);
    // PLAY RECAP: one line per host (ansible-core ships no JSON stdout callback)
    const recap = Object.fromEntries(
      [...r.stdout.matchAll(/^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)].map((m) => [m[1], { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) }]),
    );
    expect(Object.keys(recap).sort()).toEqual(lab.nodes.map((n) => n.name).sort());
    for (const s of Object.values(recap)) expect(s).toMatchObject({ ok: 6, changed: 3, unreachable: 0, failed: 0 });
    for (const n of lab.nodes) expect((await sshOk(n.name, `systemctl is-enabled ${unit}; systemctl is-active ${unit}`)).trim()).toBe('enabled\nactive');
  });
});
