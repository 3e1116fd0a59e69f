// SELinux on RHEL/Rocky, per deploy path, against each upstream (src/render/selinux): kubeadm and
// Kubespray set it permissive as their upstreams do, RKE2 keeps it enforcing with its policy and
// vmstation's own additions fit that policy. The lines relied on are in
// test/data/upstream/selinux-lines.txt (verbatim, with repository and commit).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { renderCluster } from '../../../src/render/index.js';
import { kubeadmRenderer } from '../../../src/render/kubeadm/index.js';
import { kubesprayGroupVars } from '../../../src/render/kubespray/vars.js';
import { rke2Renderer } from '../../../src/render/rke2/index.js';
import { CALICO_SELINUX_RPM, CONTAINER_FILE_T, PERMISSIVE_LINE, PERMISSIVE_REGEXP, SELINUX_CONFIG, labelContainerFiles } from '../../../src/render/selinux/index.js';
import { kubesprayDefault, upstreamLine, upstreamLines } from '../../helpers/upstream.js';
import { exampleWith, loadClusterFile } from '../../unit/deploy/helpers.js';

const LINES = 'upstream/selinux-lines.txt';
type Task = Record<string, unknown> & { name: string; when?: string; tags?: string[] };
type Play = { tags: string[]; tasks: Task[] };
const plays = (text: string) => parse(text) as Play[];
const module = (t: Task) => Object.keys(t).find((k) => k.startsWith('ansible.builtin.'))!;

const kubeadmPrepare = plays(kubeadmRenderer.render(exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm'))).find((a) => a.path === 'kubeadm/cluster.yml')!.content)[0]!.tasks;

describe('kubeadm: SELinux permissive on RHEL/Rocky, as its install page does', () => {
  // https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/ (Red Hat-based
  // distributions, step 1, read 2026-12-03): "sudo setenforce 0" and
  // "sudo sed -i 's/^SELINUX=enforcing$/SELINUX=permissive/' /etc/selinux/config"; "This is required to allow
  // containers to access the host filesystem". containerd's default config, which the kubeadm path writes,
  // keeps SELinux off in the CRI (EnableSelinux: false), and container-selinux has no label for /var/lib/etcd.
  it('reads the mode, runs setenforce 0 only where SELinux enforces, and edits /etc/selinux/config with the page\'s own expression', () => {
    expect(upstreamLine(LINES, /EnableSelinux:\s+false/).where).toMatch(/^containerd\/containerd@v1\.7\.27\//);
    const selinux = kubeadmPrepare.filter((t) => /SELinux/.test(t.name));
    expect(selinux.map(module)).toEqual(['ansible.builtin.command', 'ansible.builtin.command', 'ansible.builtin.replace']);
    expect(selinux[0]).toMatchObject({ 'ansible.builtin.command': 'getenforce', failed_when: false, changed_when: false, when: "os_family_name == 'redhat'" });
    expect(selinux[1]!['ansible.builtin.command']).toBe('setenforce 0');
    expect(selinux[1]!.when).toContain("stdout | trim == 'Enforcing'");
    expect(selinux[2]!['ansible.builtin.replace']).toEqual({ path: SELINUX_CONFIG, regexp: '^SELINUX=enforcing$', replace: 'SELINUX=permissive' });
    expect(selinux[2]!.when).toContain("!= 'Disabled'");
    // Before the runtime and kubeadm need it.
    const names = kubeadmPrepare.map((t) => t.name);
    expect(names.indexOf(selinux[2]!.name)).toBeLessThan(names.findIndex((n) => n.startsWith('containerd running')));
  });

  it("the real Ansible replace module turns an EL /etc/selinux/config permissive, leaves the comments alone, and changes nothing the second time", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'selinux-config-'));
    const file = path.join(dir, 'config');
    // The lines of RHEL's /etc/selinux/config that matter: a comment mentioning SELINUX= and the setting.
    const before = '# SELINUX= can take one of these three values:\n#     enforcing - SELinux security policy is enforced.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n';
    writeFileSync(file, before);
    // -o: one line per host, `localhost | CHANGED => {...}` or `localhost | SUCCESS => {...}`.
    const run = () =>
      execFileSync('ansible', ['localhost', '-c', 'local', '-o', '-m', 'ansible.builtin.replace', '-a', JSON.stringify({ path: file, regexp: PERMISSIVE_REGEXP, replace: PERMISSIVE_LINE })], {
        encoding: 'utf8',
        env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
      }).split(' => ')[0];
    expect(run()).toBe('localhost | CHANGED');
    expect(readFileSync(file, 'utf8')).toBe(before.replace('SELINUX=enforcing\n', 'SELINUX=permissive\n'));
    expect(run()).toBe('localhost | SUCCESS');
  });
});

describe('Kubespray: permissive, its own default, stated', () => {
  // kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/defaults/main/main.yml:7;
  // roles/kubernetes/preinstall/tasks/0080-system-configurations.yml (ansible.posix.selinux state: preinstall_selinux_state).
  it('renders preinstall_selinux_state: permissive, which is Kubespray v2.31.0\'s default', () => {
    expect(kubesprayDefault('preinstall_selinux_state')).toBe('permissive');
    expect(kubesprayGroupVars(exampleWith((t) => t))['all/all.yml']!.preinstall_selinux_state).toBe('permissive');
  });
});

describe('RKE2: enforcing with its policy, and what vmstation adds fits it', () => {
  const rocky = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
  const prepare = (text: string) => plays(text)[0]!.tasks;
  const rke2Prepare = prepare(rke2Renderer.render(rocky).find((a) => a.path === 'rke2/cluster.yml')!.content);

  // rancher/rke2-packaging@825f397:rpm/centos8/server/rke2-server.env:2 and agent/rke2-agent.env:2 (RKE2_SELINUX=true);
  // rke2-common.spec:22 (Requires(post): rke2-selinux); rke2-docs selinux.md:40,43 (the RPM install turns it on).
  it('the RPM install (get.rke2.io on RHEL/Rocky) turns SELinux on in containerd, so pods run confined', () => {
    expect(upstreamLines(LINES).filter((l) => l.text === 'RKE2_SELINUX=true').map((l) => l.where.replace(/^.*\/rpm\/centos8\//, ''))).toEqual(['agent/rke2-agent.env:2', 'server/rke2-server.env:2']);
    expect(upstreamLine(LINES, /Requires\(post\): rke2-selinux/).where).toContain('rke2-common.spec:22');
    expect(upstreamLine(LINES, /SELinux comes as default for rpms installation/).where).toContain('selinux.md:43');
    // vmstation leaves RKE2's choice alone: no selinux key, no setenforce.
    for (const a of rke2Renderer.render(rocky)) expect(a.content, a.path).not.toMatch(/setenforce|^selinux:/m);
  });

  // rke2-docs airgap.md:187 (rke2-selinux requires container-selinux); selinux.md:51-53 (Calico needs Tigera's policy).
  it("installs container-selinux first and, with Calico, Tigera's calico-selinux from the URL RKE2's page gives", () => {
    expect(upstreamLine(LINES, /^\s+\* container-selinux$/).where).toContain('airgap.md:187');
    const url = /\((https:\/\/downloads\.tigera\.io\/[^)]+\.rpm)\)/.exec(upstreamLine(LINES, /The package to install is provided by Tigera/).text)![1];
    expect(CALICO_SELINUX_RPM).toBe(url);
    const dnf = rke2Prepare.filter((t) => module(t) === 'ansible.builtin.dnf').map((t) => (t['ansible.builtin.dnf'] as { name: string }).name);
    expect(dnf).toEqual(['container-selinux', url]);
    const calico = rke2Prepare.find((t) => (t['ansible.builtin.dnf'] as { name?: string } | undefined)?.name === url)!;
    expect(calico.when).toContain("ansible_facts['os_family'] == 'RedHat'");
    expect(calico.tags).toEqual(['network']);
    const flannel = prepare(rke2Renderer.render({ ...rocky, spec: { ...rocky.spec, kubernetes: { ...rocky.spec.kubernetes, cni: 'flannel' } } }).find((a) => a.path === 'rke2/cluster.yml')!.content);
    expect(flannel.some((t) => JSON.stringify(t).includes('calico-selinux'))).toBe(false);
  });

  // rancher/rke2-selinux@63deede:policy/centos{9,10}/rke2.fc:16 labels local-path's default folder container_file_t;
  // container-selinux has no rule for ours, which stays var_lib_t and unwritable for container_t pods.
  it('labels the monitoring storage folder container_file_t on the monitoring node, as rke2-selinux labels /opt/local-path-provisioner', () => {
    expect(upstreamLine(LINES, /^\/opt\/local-path-provisioner/).text).toContain(`object_r:${CONTAINER_FILE_T},s0`);
    const label = rke2Prepare.find((t) => t.name.startsWith('The monitoring storage folder'))!;
    expect(label['ansible.builtin.shell']).toBe(labelContainerFiles('/var/lib/vmstation'));
    expect(label.when).toContain("inventory_hostname == 's1'");
    expect(label.when).toContain("!= 'Disabled'");
  });

  it('the labelling shell is valid sh, adds the rule once and reports a change only when something changed (semanage/restorecon stand-ins)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'label-'));
    const bin = path.join(dir, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    // Stand-ins for policycoreutils' semanage and restorecon (no SELinux here): a file holds the local rules.
    writeFileSync(path.join(bin, 'semanage'), `#!/bin/sh\nrules=${dir}/rules\ncase "$2" in -l) cat "$rules" 2>/dev/null;; -a) echo "$5 all files system_u:object_r:$4:s0" >> "$rules";; esac\n`);
    writeFileSync(path.join(bin, 'restorecon'), `#!/bin/sh\n[ -e ${dir}/relabelled ] || { touch ${dir}/relabelled; echo "Relabeled $3"; }\n`);
    for (const f of ['semanage', 'restorecon']) chmodSync(path.join(bin, f), 0o755);
    const script = labelContainerFiles(path.join(dir, 'storage'));
    expect(spawnSync('sh', ['-n', '-c', script]).status).toBe(0);
    const run = () => execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` } }).trim();
    expect(run()).toBe('changed=1');
    expect(readFileSync(path.join(dir, 'rules'), 'utf8')).toBe(`${dir}/storage(/.*)? all files system_u:object_r:container_file_t:s0\n`);
    expect(run()).toBe('changed=0');
  });

  // containers/container-selinux@66ae652:container.fc:160 (/var/log/pods is container_log_t, which container_t
  // may not read; host logs are var_log_t); container.te:823,835 (the runtime may start a pod as spc_t).
  it('runs the two DaemonSets that read the host (log shipper, node-exporter) as spc_t, on every method', () => {
    expect(upstreamLine(LINES, /^\/var\/log\/pods/).text).toContain('container_log_t');
    expect(upstreamLine(LINES, /spc_t:process \{ dyntransition/).where).toContain('container.te:835');
    for (const shipper of ['alloy', 'promtail'] as const) {
      const c = exampleWith((t) => (shipper === 'promtail' ? t.replace('logShipper: alloy', 'logShipper: promtail') : t));
      expect(c.spec.monitoring.logShipper).toBe(shipper);
      const daemonSets = renderCluster(c)
        .filter((a) => a.path.startsWith('manifests/'))
        .flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJSON() as { kind: string; metadata: { name: string }; spec: { template: { spec: { securityContext?: { seLinuxOptions?: unknown }; volumes?: Array<{ hostPath?: unknown }> } } } }))
        .filter((o) => o.kind === 'DaemonSet');
      const readsHost = daemonSets.filter((d) => (d.spec.template.spec.volumes ?? []).some((v) => v.hostPath !== undefined)).map((d) => d.metadata.name).sort();
      expect(readsHost).toEqual([shipper, 'node-exporter'].sort());
      for (const d of daemonSets.filter((x) => readsHost.includes(x.metadata.name))) expect(d.spec.template.spec.securityContext?.seLinuxOptions, d.metadata.name).toEqual({ type: 'spc_t' });
    }
  });
});
