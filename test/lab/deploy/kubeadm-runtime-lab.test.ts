// The kubeadm playbook's runtime tasks run for real (not --check) on the lab's three hosts, whose
// root filesystem has Debian 12's own `containerd` (1.6.20) and `runc`, shipped config included:
// - before: the running containerd, started as Debian ships it, has SystemdCgroup = false and looks
//   for CNI binaries in /usr/lib/cni (the defect: the old `creates:` guard kept that file);
// - after `--tags runtime,kernel`: the running containerd has its CRI plugin `ok` (`ctr plugins ls`),
//   the systemd cgroup driver, /opt/cni/bin and kubeadm's pause image (`containerd config dump`),
//   and the sysctls are set; a second run changes nothing.
// What cannot run in a container is skipped and said: `modprobe` (tag modprobe; a container shares
// its host's kernel and has no kmod), package installs (tag network: no internet), and the rest of
// kubeadm (init/join need the packages). Each host is restored afterwards: Debian's config.toml
// back, containerd stopped and disabled again, our files removed, ip_forward as it was.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFixture, sshOk } from '../../../lab/test/lab-fixture.js';
import { runPlaybook, type AnsibleEvent } from '../../../src/adapters/ansible/index.js';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { strictSshEnv } from '../../../src/deploy/kubespray.js';
import { KERNEL_MODULES_FILE, KERNEL_TAG, SYSCTL_FILE, kubeadmRenderer } from '../../../src/render/kubeadm/index.js';
import { RUNTIME_TAG } from '../../../src/render/kubeadm/runtime.js';

const HOSTS = ['homelab', 'masternode', 'storagenodet3500'];
const BACKUP = '/root/vmstation-runtime-test-backup';

function kubeadmLabCluster(): Cluster {
  const lab = labFixture();
  const text = readFileSync(lab.clusterFile, 'utf8').replace('method: kubespray', 'method: kubeadm');
  const r = validateText({ file: lab.clusterFile, text });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.cluster;
}

function renderTree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubeadm-runtime-'));
  for (const a of kubeadmRenderer.render(kubeadmLabCluster())) {
    mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
    writeFileSync(path.join(dir, a.path), a.content);
  }
  return dir;
}

const sh = async (host: string, command: string) => (await sshOk(host, command)).trim();

type HostResult = Extract<AnsibleEvent, { event: 'host_result' }>;

async function runRuntimeTasks(dir: string, run: number) {
  const events: HostResult[] = [];
  const r = await runPlaybook({
    cwd: path.join(dir, 'kubeadm'),
    playbook: 'cluster.yml',
    inventory: path.join(dir, 'kubeadm', 'inventory.yaml'),
    tags: [RUNTIME_TAG, KERNEL_TAG],
    skipTags: ['network', 'modprobe'],
    logFile: path.join(dir, `runtime-${run}.log`),
    env: strictSshEnv(labFixture().knownHosts),
    onEvent: (e) => e.event === 'host_result' && events.push(e),
  });
  return { r, events };
}

/** What the running containerd says about itself. */
async function runtimeFacts(host: string) {
  const plugins = await sshOk(host, 'ctr plugins ls');
  const dump = await sshOk(host, 'containerd config dump');
  const cri = plugins.split('\n').find((l) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(l));
  return {
    cri: cri?.trim().split(/\s+/).at(-1),
    systemdCgroup: /^\s*SystemdCgroup = (\w+)/m.exec(dump)?.[1],
    cniBinDir: /^\s*bin_dir = "([^"]*)"/m.exec(dump)?.[1],
    sandboxImage: /^\s*sandbox_image = "([^"]*)"/m.exec(dump)?.[1],
    disabledPlugins: /^disabled_plugins = (.*)$/m.exec(dump)?.[1],
  };
}

describe('kubeadm runtime tasks on the lab: real containerd', () => {
  beforeAll(async () => {
    for (const h of HOSTS) {
      const has = await sshOk(h, 'command -v containerd ctr runc || true');
      if (!has.includes('/usr/bin/containerd'))
        throw new Error(`${h} has no containerd: the lab's root filesystem predates it (lab/rootfs.ts PACKAGES); take the lab down under the lock and up again to rebuild it`);
      await sshOk(h, `mkdir -p ${BACKUP} && cp -a /etc/containerd/config.toml ${BACKUP}/config.toml && cat /proc/sys/net/ipv4/ip_forward > ${BACKUP}/ip_forward && systemctl is-enabled containerd > ${BACKUP}/enabled || true`);
    }
  }, 60_000);

  afterAll(async () => {
    for (const h of HOSTS) {
      await sshOk(
        h,
        [
          'systemctl disable --now containerd >/dev/null 2>&1 || true',
          `cp -a ${BACKUP}/config.toml /etc/containerd/config.toml`,
          'rm -f /etc/containerd/config.toml.*~',
          `rm -f ${KERNEL_MODULES_FILE} ${SYSCTL_FILE}`,
          `sysctl -q -w net.ipv4.ip_forward=$(cat ${BACKUP}/ip_forward)`,
          `rm -rf ${BACKUP}`,
        ].join(' && '),
      );
      expect(await sh(h, 'systemctl is-enabled containerd || true')).toBe('disabled');
    }
  }, 60_000);

  it("Debian's package as shipped: containerd runs with cgroupfs and /usr/lib/cni (what the creates: guard kept)", async () => {
    await sshOk('masternode', 'systemctl start containerd');
    expect(await runtimeFacts('masternode')).toMatchObject({ cri: 'ok', systemdCgroup: 'false', cniBinDir: '/usr/lib/cni', sandboxImage: 'registry.k8s.io/pause:3.6' });
    await sshOk('masternode', 'systemctl stop containerd');
  }, 60_000);

  it('after the runtime and kernel tasks: CRI ok, systemd cgroups, /opt/cni/bin, kubeadm pause image, sysctls set; second run 0 changed', async () => {
    const dir = renderTree();
    const first = await runRuntimeTasks(dir, 1);
    expect(first.events.filter((e) => e.status === 'failed' || e.status === 'unreachable').map((e) => `${e.host} ${e.task}: ${e.msg}`)).toEqual([]);
    expect(first.r.exitCode).toBe(0);
    for (const h of HOSTS) {
      const changed = first.events.filter((e) => e.host === h && e.status === 'changed').map((e) => e.task);
      expect(changed, h).toEqual(expect.arrayContaining(['containerd configuration (replaces what the OS package ships)', 'containerd running', 'Kernel settings Kubernetes networking needs', 'Apply kernel settings']));
      // The playbook's own check of the running containerd passed on every host.
      expect(first.events.find((e) => e.host === h && e.task.startsWith('The running containerd'))?.status, h).toBe('ok');
      expect(await runtimeFacts(h), h).toEqual({ cri: 'ok', systemdCgroup: 'true', cniBinDir: '/opt/cni/bin', sandboxImage: 'registry.k8s.io/pause:3.10.1', disabledPlugins: '[]' });
      expect(await sh(h, 'systemctl is-enabled containerd; systemctl is-active containerd'), h).toBe('enabled\nactive');
      expect(await sh(h, 'sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables'), h).toBe('1\n1\n1');
      expect(await sh(h, `cat ${KERNEL_MODULES_FILE}`), h).toBe('overlay\nbr_netfilter');
    }
    const second = await runRuntimeTasks(dir, 2);
    expect(second.r.exitCode).toBe(0);
    expect(Object.fromEntries(Object.entries(second.r.stats).map(([h, s]) => [h, s.changed]))).toEqual({ homelab: 0, masternode: 0, storagenodet3500: 0 });
    // modprobe was left out (tag modprobe) and said so by its absence: it cannot run in a container.
    expect(first.events.some((e) => e.task === 'Load kernel modules now')).toBe(false);
  }, 300_000);
});
