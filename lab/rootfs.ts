// The lab's root filesystem: one Debian image built with mmdebstrap, customized once for
// systemd-nspawn, cached by the hash of what goes into it, shared read-only by every node
// (each node writes into its own overlay).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { aptMirror as debianMirror } from '../src/image/mirror.js';
import { LAB_DIR } from './paths.js';
import { runOk } from './run.js';

export const SUITE = 'bookworm';
export const PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'python3', 'iproute2', 'chrony', 'rsyslog',
  // Added by the host layer (issue 5, src/render/ansible): what its roles install on Debian nodes,
  // preinstalled because lab hosts reach no mirror (the prep role then finds nothing missing).
  'ethtool', 'logrotate', 'nftables', 'krb5-kdc', 'krb5-admin-server', 'krb5-user',
  // A real container runtime (issues 11 and 12: the controller image side-loaded into containerd,
  // the kubeadm playbook's runtime tasks run for real) and a real etcd (issue 13: snapshots and
  // restore). Installed but not started at boot: the tests that need them start them.
  'containerd', 'runc', 'etcd-server', 'etcd-client',
];
/** Bump when the customization below changes, so caches built before are not reused. */
const CUSTOMIZATION_VERSION = 4;

/**
 * dpkg without fsync (the image is rebuilt if a build dies) and without man pages, docs and
 * translations: most of a build is dpkg unpacking, so this is most of what can be saved.
 */
export const MMDEBSTRAP_OPTIONS = [
  '--variant=minbase',
  '--dpkgopt=force-unsafe-io',
  '--dpkgopt=path-exclude=/usr/share/man/*',
  '--dpkgopt=path-exclude=/usr/share/info/*',
  '--dpkgopt=path-exclude=/usr/share/locale/*',
  '--dpkgopt=path-include=/usr/share/locale/locale.alias',
  '--dpkgopt=path-exclude=/usr/share/doc/*',
  '--dpkgopt=path-include=/usr/share/doc/*/copyright',
];

export function rootfsKey(): string {
  return createHash('sha256')
    .update(JSON.stringify({ SUITE, PACKAGES, CUSTOMIZATION_VERSION, MMDEBSTRAP_OPTIONS }))
    .digest('hex')
    .slice(0, 12);
}

/** The Debian mirror apt uses on this machine (VMSTATION_LAB_MIRROR overrides it). */
export function aptMirror(): Promise<string> {
  return debianMirror(process.env.VMSTATION_LAB_MIRROR);
}

export interface RootfsResult {
  dir: string;
  built: boolean;
  ms: number;
}

export async function ensureRootfs(cacheDir: string, log: (line: string) => void): Promise<RootfsResult> {
  const started = Date.now();
  const dir = join(cacheDir, `rootfs-${rootfsKey()}`);
  if (existsSync(join(dir, '.vmstation-lab-ready'))) return { dir, built: false, ms: Date.now() - started };
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${dir}.build-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const mirror = await aptMirror();
  log(`building the lab root filesystem with mmdebstrap (${SUITE}, ${mirror}) into ${dir}`);
  await runOk('mmdebstrap', ['--quiet', ...MMDEBSTRAP_OPTIONS, `--include=${PACKAGES.join(',')}`, SUITE, tmp, mirror], { timeoutMs: 900_000 });
  await customize(tmp);
  await writeFile(join(tmp, '.vmstation-lab-ready'), `${new Date().toISOString()}\n`);
  if (existsSync(join(dir, '.vmstation-lab-ready'))) {
    // Another build finished first (and a lab may run on it): keep that one.
    await rm(tmp, { recursive: true, force: true });
  } else {
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  }
  return { dir, built: true, ms: Date.now() - started };
}

/** Removes cached images other than `keep` and builds that died (called with no lab running). */
export async function pruneRootfsCache(cacheDir: string, keep: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(cacheDir)) return;
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    if (path === keep || !name.startsWith('rootfs-')) continue;
    const builder = /\.build-(\d+)$/.exec(name)?.[1];
    if (builder !== undefined && existsSync(`/proc/${builder}`)) continue; // still being built
    log(`removing the old root filesystem ${path}`);
    await rm(path, { recursive: true, force: true });
  }
}

async function forceSymlink(target: string, path: string): Promise<void> {
  await rm(path, { force: true });
  await symlink(target, path);
}

/** Everything systemd-nspawn needs from the image, each one a pitfall measured on these machines. */
export async function customize(root: string): Promise<void> {
  const p = (...parts: string[]): string => join(root, ...parts);
  // Clones must not share a hostname or a machine ID: nspawn sets the hostname, systemd makes an ID.
  await rm(p('etc/hostname'), { force: true });
  await writeFile(p('etc/machine-id'), '');
  await mkdir(p('var/lib/dbus'), { recursive: true });
  await forceSymlink('/etc/machine-id', p('var/lib/dbus/machine-id'));

  // chrony skips itself without CAP_SYS_TIME; run it without touching the clock (-x) instead.
  // The container never gets CAP_SYS_TIME, so it can never set the host's clock.
  await mkdir(p('etc/systemd/system/chrony.service.d'), { recursive: true });
  await writeFile(p('etc/systemd/system/chrony.service.d/vmstation-lab.conf'), '# VMStation lab: run in a container without CAP_SYS_TIME (chronyd -x never sets the clock).\n[Unit]\nConditionCapability=\n');
  await writeFile(p('etc/default/chrony'), '# VMStation lab: -x, never set the clock (a container shares the host\'s).\nDAEMON_OPTS="-F 1 -x"\n');
  const chronyConf = await readFile(p('etc/chrony/chrony.conf'), 'utf8');
  await writeFile(p('etc/chrony/chrony.conf'), chronyConf.replace(/^(pool|server) /gm, '# lab: no public time sources # $1 '));

  // No apt runs by timer; the lab never reaches a mirror from inside.
  for (const timer of ['apt-daily.timer', 'apt-daily-upgrade.timer']) await forceSymlink('/dev/null', p('etc/systemd/system', timer));

  // Static addresses from a bind-mounted .network file, applied by systemd-networkd.
  await runOk('systemctl', [`--root=${root}`, 'enable', 'systemd-networkd.service']);

  // Each node gets its own host key (written into its overlay), so host-key checking stays on.
  for (const f of await readdir(p('etc/ssh'))) if (f.startsWith('ssh_host_')) await unlink(p('etc/ssh', f));
  await writeFile(p('etc/ssh/sshd_config.d/vmstation-lab.conf'), '# VMStation lab: one host key per node, written by `lab up`.\nHostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n');

  // Added by the host layer (issue 5): the KDC services run only where its kerberos role enables
  // them (the KDC node); enabled everywhere they would fail at boot on every node (no realm yet).
  await runOk('systemctl', [`--root=${root}`, 'disable', 'krb5-kdc.service', 'krb5-admin-server.service']);
  // containerd and etcd start only where a test (or a rendered playbook) starts them: enabled on
  // every host they would cost memory on each and etcd would claim 2379 with Debian's defaults.
  await runOk('systemctl', [`--root=${root}`, 'disable', 'containerd.service', 'etcd.service']);

  // The suspend stand-in (see the script).
  await copyFile(join(LAB_DIR, 'image', 'lab-suspend'), p('usr/local/sbin/lab-suspend'));
  await chmod(p('usr/local/sbin/lab-suspend'), 0o755);
}
