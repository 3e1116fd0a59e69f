// The ansible-playbook runner: the classifier against failures recorded from real runs
// (fixtures/record.ts), and live runs of the real ansible-playbook on a local connection.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { changedCount, checkAnsibleVersion, classifyAnsibleRun, ensureAnsibleVersion, playbookArgs, requireSuccess, runPlaybook, withSecretVarsFile, type AnsibleEvent } from '../../../src/adapters/ansible/index.js';
import { formatHostResult, LineSplitter, parseEventLine } from '../../../src/adapters/ansible/events.js';

const FIXTURES = path.join(import.meta.dirname, '../../unit/ansible/fixtures');
interface Fixture {
  scenario: string;
  exitCode: number;
  signal: string | null;
  events: AnsibleEvent[];
  output: string;
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;
const classify = (name: string) => {
  const f = fixture(name);
  return classifyAnsibleRun({ exitCode: f.exitCode, signal: f.signal, events: f.events, output: f.output, logFile: '/var/log/x.log' });
};

describe('classifying failures recorded from real ansible-playbook runs', () => {
  it('a successful run is not an error', () => {
    expect(classify('ok')).toBeUndefined();
  });

  it('a failed task names the host, the task and the tool output', () => {
    const err = classify('failed-task')!;
    expect(err.code).toBe('ansible-task-failed');
    expect(err.message).toBe('task "Install chrony.conf" failed on localhost: non-zero return code');
    expect(err.details.join('\n')).toContain('chronyd: cannot parse line 3');
    expect(err.details[0]).toContain('(exit 3)');
    expect(err.hint).toContain('/var/log/x.log');
  });

  it('a failed no_log task says its output is hidden and leaks nothing', () => {
    const f = fixture('failed-no-log');
    expect(JSON.stringify(f)).not.toContain('secret-value-here');
    const err = classify('failed-no-log')!;
    expect(err.code).toBe('ansible-task-failed');
    expect(err.message).toContain('"Create the realm database"');
    expect(err.message).toContain('output hidden');
  });

  it('an unreachable host says which and why', () => {
    const err = classify('unreachable')!;
    expect(err.code).toBe('ansible-host-unreachable');
    expect(err.message).toMatch(/^cannot reach worker1 over SSH: Failed to connect to the host via ssh: .*Connection refused/);
    expect(err.hint).toMatch(/sleeping node must be woken/);
  });

  it('a changed host key is a host-key error with the way out', () => {
    const err = classify('host-key-mismatch')!;
    expect(err.code).toBe('ssh-host-key-mismatch');
    expect(err.message).toContain('worker1');
    expect(err.hint).toMatch(/ssh-keygen -R/);
  });

  it('a missing collection names the module and the collection to install', () => {
    const err = classify('missing-module')!;
    expect(err.code).toBe('ansible-module-missing');
    expect(err.message).toContain('community.general.modprobe');
    expect(err.hint).toContain('ansible-galaxy collection install community.general');
  });

  it.each(['syntax-error', 'bad-attribute'])('%s is a syntax error quoting the file and line', (name) => {
    const err = classify(name)!;
    expect(err.code).toBe('ansible-syntax-error');
    expect(err.details.join('\n')).toMatch(/The error appears to be in '\/tmp\/FIXTURE\/play.yaml': line \d+/);
  });

  it('the playbook-side version check becomes a version error', () => {
    const err = classify('old-ansible')!;
    expect(err.code).toBe('ansible-version');
    expect(err.message).toMatch(/needs ansible-core 99.0 or newer \(this is 2\.\d+/);
  });

  it('an unknown failure still fails, quoting the last lines', () => {
    const err = classifyAnsibleRun({ exitCode: 250, events: [], output: 'something\nunexpected happened\n' })!;
    expect(err.code).toBe('ansible-failed');
    expect(err.details).toEqual(['something', 'unexpected happened']);
  });

  it('checks the Ansible version text', () => {
    const text = 'ansible-playbook [core 2.14.18]\n  config file = None\n';
    expect(checkAnsibleVersion(text, '2.14')).toBeUndefined();
    expect(checkAnsibleVersion(text, '2.15')?.message).toBe('ansible-core 2.14.18 is too old: VMStation needs 2.15 or newer');
    expect(checkAnsibleVersion('bash: ansible-playbook: command not found', '2.14')?.code).toBe('ansible-version');
  });
});

describe('events', () => {
  it('parses only our events and splits chunks into lines', () => {
    const s = new LineSplitter();
    expect(s.push('{"event":"task_start","task":"a"}\n{"event":"pl')).toEqual(['{"event":"task_start","task":"a"}']);
    expect(s.push('ay_start","play":"p","hosts":"all"}\n')).toEqual(['{"event":"play_start","play":"p","hosts":"all"}']);
    expect(parseEventLine('not json')).toBeUndefined();
    expect(parseEventLine('{"event":"other"}')).toBeUndefined();
  });

  it('formats a host result for a person', () => {
    const f = fixture('failed-task');
    const e = f.events.find((x) => x.event === 'host_result')!;
    expect(e.event === 'host_result' && formatHostResult(e)).toBe('failed      localhost  Install chrony.conf - non-zero return code');
  });
});

describe('running the real ansible-playbook (local connection)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  function project(playbook: string, existing?: string): string {
    const dir = existing ?? mkdtempSync(path.join(os.tmpdir(), 'vmstation-runner-'));
    if (!existing) dirs.push(dir);
    writeFileSync(path.join(dir, 'inventory.ini'), 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
    writeFileSync(path.join(dir, 'play.yaml'), playbook);
    return dir;
  }

  it('streams task and host events while it runs, logs the output, counts changes, closes stdin', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-runner-'));
    dirs.push(dir);
    const out = path.join(dir, 'secret.txt');
    project(
      [
        '- hosts: all',
        '  gather_facts: false',
        '  tasks:',
        '    - name: Read stdin (must be closed, never a terminal)',
        '      ansible.builtin.shell: test ! -t 0 && cat',
        '      register: stdin',
        '    - name: Write the secret variable to a file',
        '      ansible.builtin.copy:',
        `        dest: ${out}`,
        '        content: "{{ vmstation_test_secret }}"',
        '      no_log: true',
      ].join('\n'),
      dir,
    );
    const seen: string[] = [];
    const r = await withSecretVarsFile({ vmstation_test_secret: 's3cret value' }, async (file) => {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      return runPlaybook({
        cwd: dir,
        playbook: 'play.yaml',
        inventory: 'inventory.ini',
        extraVarsFiles: [file],
        logFile: path.join(dir, 'logs', 'run.log'),
        onEvent: (e) => seen.push(e.event === 'host_result' ? `${e.status}:${e.task}` : e.event),
      });
    });
    requireSuccess(r);
    expect(readFileSync(out, 'utf8')).toBe('s3cret value');
    expect(seen).toEqual(['playbook_start', 'play_start', 'task_start', 'changed:Read stdin (must be closed, never a terminal)', 'task_start', 'changed:Write the secret variable to a file', 'stats']);
    expect(r.stats.localhost).toMatchObject({ changed: 2, failed: 0, unreachable: 0 });
    expect(changedCount(r)).toBe(2);
    const log = readFileSync(r.logFile, 'utf8');
    expect(log).toContain('PLAY RECAP');
    expect(log).not.toContain('s3cret');
    expect(r.argv.join(' ')).not.toContain('s3cret');
  });

  it('a failing task throws the classified error', async () => {
    const dir = project('- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Fail here\n      ansible.builtin.command: /bin/false\n');
    const r = await runPlaybook({ cwd: dir, playbook: 'play.yaml', inventory: 'inventory.ini', logFile: path.join(dir, 'run.log') });
    expect(r.exitCode).toBe(2);
    expect(() => requireSuccess(r)).toThrow('task "Fail here" failed on localhost: non-zero return code');
  });

  it('a missing ansible-playbook is a clear error', async () => {
    const dir = project('- hosts: all\n  tasks: []\n');
    await expect(runPlaybook({ cwd: dir, playbook: 'play.yaml', logFile: path.join(dir, 'run.log'), ansiblePlaybook: '/nonexistent/ansible-playbook' })).rejects.toMatchObject({ code: 'ansible-not-installed' });
  });

  it('the installed ansible-core is new enough', async () => {
    expect(await ensureAnsibleVersion('2.14')).toMatch(/core 2\.\d+/);
    await expect(ensureAnsibleVersion('99.0')).rejects.toMatchObject({ code: 'ansible-version' });
  });

  it('builds argv without secrets: tags, limit, check', () => {
    expect(playbookArgs({ playbook: 'site.yaml', inventory: 'inv.yaml', extraVarsFiles: ['/tmp/x/secrets.yaml'], tags: ['ntp', 'syslog'], limit: 'worker1', check: true })).toEqual([
      '-i',
      'inv.yaml',
      '-e',
      '@/tmp/x/secrets.yaml',
      '--tags',
      'ntp,syslog',
      '--limit',
      'worker1',
      '--check',
      'site.yaml',
    ]);
  });
});
