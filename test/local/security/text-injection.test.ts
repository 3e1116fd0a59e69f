// Issue 17 §3: no text field becomes configuration or code. Each finding of the security review
// is reproduced here twice: `validate` refuses the hostile value with a clear error (the schema's
// narrow types), and with the schema bypassed (the value put straight into the model) the
// renderer still never writes it as syntax (escaping at the output). Real checkers decide:
// chronyd -p, Python's configparser as Ansible configures it, amtool, ansible-playbook.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { withSecretVarsFile } from '../../../src/adapters/ansible/runner.js';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { renderChronyConf } from '../../../src/render/ansible/chrony.js';
import { hostPlans } from '../../../src/render/ansible/host-plan.js';
import { ansibleRenderer } from '../../../src/render/ansible/index.js';
import { renderAnsibleCfg } from '../../../src/render/ansible/project.js';
import { alertmanagerConfig } from '../../../src/render/metrics/alertmanager.js';
import { fastYaml } from '../../../src/render/metrics/yaml.js';
import { grafanaIni, iniText } from '../../../src/render/observability/grafana/config.js';
import { parseAnsibleYaml } from '../../../src/util/ansible-yaml.js';
import { ROOT, writeTree } from '../../unit/ansible/clusters.js';

const run = promisify(execFile);
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
};

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function exampleDoc(): Doc {
  return parse(readFileSync(path.join(ROOT, 'examples/vmstation.yaml'), 'utf8')) as Doc;
}

function validate(edit: (d: Doc) => void) {
  const doc = exampleDoc();
  edit(doc);
  return validateText({ file: 'cluster.yaml', text: stringify(doc) });
}

function example(): Cluster {
  const r = validate(() => {});
  if (!r.cluster) throw new Error(JSON.stringify(r.problems));
  return r.cluster;
}

/** The model with one value set behind the schema's back, as if validation had a gap. */
function bypass(edit: (c: Cluster) => void): Cluster {
  const c = structuredClone(example());
  edit(c);
  return c;
}

function errorCodes(edit: (d: Doc) => void): string[] {
  return validate(edit).problems.filter((p) => p.severity === 'error').map((p) => p.code);
}

const CHRONY_PAYLOAD = 'pool.ntp.org\nallow all\ncmdallow all\nbindcmdaddress 0.0.0.0\n#';
const GRAFANA_PAYLOAD = 'admin\n[auth.anonymous]\nenabled = true\norg_role = Admin';
const KNOWN_HOSTS_PAYLOAD = '/tmp/kh\n[defaults]\nvault_password_file = /tmp/x';

describe('ntp.upstream cannot add chrony directives', () => {
  it('validate refuses a time-server name with line breaks (invalid-time-server)', () => {
    expect(errorCodes((d) => (d.spec.infrastructure.ntp.upstream = [CHRONY_PAYLOAD]))).toEqual(['invalid-time-server']);
  });

  it('validate accepts host names and IPv4 addresses, and chronyd -p reads back exactly one source line for each', async () => {
    const names = ['pool.ntp.org', 'time.cloudflare.com', '192.168.4.1', 'ntp1.Example-Lab.net'];
    const r = validate((d) => (d.spec.infrastructure.ntp.upstream = names));
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const cluster = r.cluster!;
    const plan = hostPlans(cluster).find((p) => p.isNtpServer)!;
    const dir = writeTree([{ path: 'chrony.conf', content: renderChronyConf(cluster, plan), component: 'chrony', checker: 'chronyd' }], tempDir('inj-chrony-'));
    const { stdout } = await run('chronyd', ['-p', '-f', path.join(dir, 'chrony.conf')]);
    expect(stdout.split('\n').filter((l) => /^(server|pool) /.test(l))).toEqual(names.map((n) => `${n.includes('pool.') ? 'pool' : 'server'} ${n} iburst`));
    expect(stdout).not.toMatch(/^(cmdallow|bindcmdaddress|allow all)/m);
  });

  it('with the schema bypassed, the chrony renderer refuses the value instead of writing `allow all`', () => {
    const c = bypass((x) => (x.spec.infrastructure.ntp.upstream = [CHRONY_PAYLOAD]));
    for (const plan of hostPlans(c)) expect(() => renderChronyConf(c, plan)).toThrow(/spec\.infrastructure\.ntp\.upstream: .* cannot be written safely/);
  });
});

describe('grafana.adminUser cannot add grafana.ini sections', () => {
  it('validate refuses it (invalid-account-name)', () => {
    expect(errorCodes((d) => (d.spec.monitoring.grafana.adminUser = GRAFANA_PAYLOAD))).toEqual(['invalid-account-name']);
  });

  it('with the schema bypassed, the ini writer refuses a line break, a comment character and a quote', () => {
    for (const bad of [GRAFANA_PAYLOAD, 'admin ; x', 'admin#x', '"admin"']) {
      const c = bypass((x) => (x.spec.monitoring.grafana.adminUser = bad));
      expect(() => iniText(grafanaIni(c), 'test')).toThrow(/grafana\.ini \[security\] admin_user: .* cannot be written safely/);
    }
  });
});

describe('ssh.knownHosts cannot break ansible.cfg', () => {
  it('validate refuses a path with line breaks, "%" or spaces (invalid-path)', () => {
    for (const bad of [KNOWN_HOSTS_PAYLOAD, '/tmp/100%', '/tmp/my hosts', 'relative/known_hosts']) expect(errorCodes((d) => (d.spec.ssh.knownHosts = bad))).toEqual(['invalid-path']);
  });

  it('with the schema bypassed, a line break is refused and "%" survives Python\'s configparser as Ansible reads ansible.cfg', async () => {
    expect(() => renderAnsibleCfg(bypass((x) => (x.spec.ssh.knownHosts = KNOWN_HOSTS_PAYLOAD)))).toThrow(/cannot be written safely/);
    const knownHosts = '/tmp/100%/known_hosts';
    const cfg = renderAnsibleCfg(bypass((x) => (x.spec.ssh.knownHosts = knownHosts)));
    const dir = writeTree([{ path: 'ansible.cfg', content: cfg, component: 'ansible', checker: 'ansible-syntax' }], tempDir('inj-cfg-'));
    // ansible-core's config manager: configparser.ConfigParser(inline_comment_prefixes=(';',)).
    const py = "import configparser, shlex, sys\nc = configparser.ConfigParser(inline_comment_prefixes=(';',))\nc.read(sys.argv[1])\nprint(c.sections())\nprint(shlex.split(c.get('ssh_connection', 'ssh_args')))";
    const { stdout } = await run('python3', ['-c', py, path.join(dir, 'ansible.cfg')]);
    const [sections, args] = stdout.trim().split('\n');
    expect(sections).toBe("['defaults', 'ssh_connection']");
    expect(args).toContain(`'UserKnownHostsFile=${knownHosts}'`);
  });
});

describe('smarthost always yields an alertmanager.yml amtool accepts', () => {
  it('validate refuses a smarthost without a port (amtool: "missing port in address")', () => {
    const receivers = (smarthost: string) => [{ name: 'mail', type: 'email', to: 'me@example.com', from: 'am@example.com', smarthost }];
    expect(errorCodes((d) => (d.spec.monitoring.alertmanager = { receivers: receivers('smtp.example.com') }))).toEqual(['invalid-host-port']);
    expect(errorCodes((d) => (d.spec.monitoring.alertmanager = { receivers: receivers('smtp.example.com:587\nglobal: {}') }))).toEqual(['invalid-host-port']);
  });

  it('every smarthost form validate accepts passes amtool check-config', async () => {
    const dir = tempDir('inj-am-');
    for (const smarthost of ['smtp.example.com:587', '192.168.4.5:25', 'mail-relay:2525']) {
      const r = validate((d) => (d.spec.monitoring.alertmanager = { receivers: [{ name: 'mail', type: 'email', to: 'me@example.com', from: 'am@example.com', smarthost }] }));
      expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
      const [file] = [path.join(dir, 'alertmanager.yml')];
      writeTree([{ path: 'alertmanager.yml', content: fastYaml(alertmanagerConfig(r.cluster!)), component: 'alertmanager', checker: 'amtool' }], dir);
      await expect(run('amtool', ['check-config', file!])).resolves.toBeDefined();
    }
  });
});

describe('Jinja in ssh.user or ssh.privateKey is never evaluated on the operator\'s machine', () => {
  const lookup = (marker: string) => `{{ lookup('pipe', 'touch ${marker}') }}`;

  it("validate refuses {{ lookup('pipe', ...) }} in both (invalid-user-name, invalid-path)", () => {
    expect(errorCodes((d) => (d.spec.ssh.user = lookup('/tmp/x')))).toEqual(['invalid-user-name']);
    expect(errorCodes((d) => (d.spec.ssh.privateKey = lookup('/tmp/x')))).toEqual(['invalid-path']);
  });

  it('with the schema bypassed, the rendered inventory tags them !unsafe and the real ansible-playbook runs no lookup', async () => {
    const markers = tempDir('inj-lookup-');
    const userMarker = path.join(markers, 'from-user');
    const keyMarker = path.join(markers, 'from-key');
    const c = bypass((x) => {
      for (const n of x.spec.nodes) {
        n.ssh.user = lookup(userMarker);
        n.ssh.privateKey = lookup(keyMarker);
      }
    });
    const artifacts = ansibleRenderer.render(c);
    const dir = writeTree(artifacts, tempDir('inj-ansible-'));
    // Port 1 on loopback: the connection is refused at once, after Ansible has templated the
    // connection variables (which is where the lookup ran before the fix).
    const r = await run('ansible-playbook', ['-vvv', '-i', 'inventory.yaml', 'site.yaml', '--limit', 'masternode', '-e', 'ansible_host=127.0.0.1', '-e', 'ansible_port=1'], {
      cwd: path.join(dir, 'ansible'),
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: markers, ANSIBLE_SSH_CONTROL_PATH_DIR: markers },
      timeout: 120_000,
    }).catch((e: { stdout: string; stderr: string }) => e);
    expect(existsSync(userMarker)).toBe(false);
    expect(existsSync(keyMarker)).toBe(false);
    expect(`${r.stdout}${r.stderr}`).toContain(`ESTABLISH SSH CONNECTION FOR USER: ${lookup(userMarker)}`);
    const hostVars = artifacts.find((a) => a.path === 'ansible/host_vars/masternode.yaml')!.content;
    expect(hostVars).toContain(`ansible_user: !unsafe "${lookup(userMarker)}"`);
    expect((parseAnsibleYaml(hostVars) as Record<string, string>).ansible_ssh_private_key_file).toBe(lookup(keyMarker));
  });

  it('secrets passed to ansible-playbook (Kerberos passwords) are data, not templates', async () => {
    const markers = tempDir('inj-secret-');
    const marker = path.join(markers, 'from-secret');
    const password = `{{ lookup('pipe', 'touch ${marker}') }}`;
    const out = await withSecretVarsFile({ vmstation_kerberos_master_password: password }, async (file) => {
      const r = await run('ansible', ['localhost', '-c', 'local', '-i', 'localhost,', '-m', 'ansible.builtin.debug', '-a', 'msg={{ vmstation_kerberos_master_password }}', '-e', `@${file}`], {
        env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: markers },
        timeout: 60_000,
      });
      return r.stdout;
    }, path.join(markers, 'secrets'));
    expect(existsSync(marker)).toBe(false);
    expect(out).toContain(JSON.stringify(password));
  });
});
