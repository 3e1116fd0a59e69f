// A small power lab on loopback for the controller's integration tests, next to the Kubernetes
// API stand-in: each "host" is a real OpenSSH server on its own 127.0.0.x address (host key kept
// across reboots, so known_hosts checking stays on); its suspend command asks the harness to take
// it down, and a real UDP listener boots it again only on a magic packet carrying its MAC. Faults:
// drop the first N magic packets of a host, or never wake it.
//
// The full lab (lab/, nspawn hosts on 10.78.0.0/24, ipmi_sim BMCs) runs the same tests against
// real machines; this harness lets the controller be tested where that lab is not up.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseMagicPacket } from '../../../lab/wol/magic-packet.js';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { freePort, writeSshdConfig } from '../../helpers/net.js';

export interface HostSpec {
  name: string;
  mac: string;
  /** 127.0.0.x */
  address: string;
  labels?: Record<string, string>;
  /** Seconds from the magic packet to sshd answering. */
  bootDelayMs?: number;
}

export class LoopbackHost {
  private child: ChildProcess | undefined;
  asleep = false;
  /** Magic packets to drop before one counts (fault: packets lost). */
  dropPackets = 0;
  /** Fault: ignore every magic packet. */
  neverWake = false;
  readonly packets: Array<{ at: number; dropped: boolean }> = [];
  suspends = 0;
  boots = 0;
  /** A suspend that has been asked for and not yet carried out (the host goes down a moment after). */
  private pendingSuspend: Promise<void> | undefined;

  constructor(
    readonly spec: HostSpec,
    readonly port: number,
    private readonly config: string,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** As the suspend command does: the host goes down `afterMs` later, not at once. */
  suspendSoon(afterMs: number): void {
    this.suspends += 1;
    this.asleep = true;
    const pending = new Promise<void>((r) => setTimeout(r, afterMs)).then(() => this.down());
    this.pendingSuspend = pending;
    void pending.finally(() => {
      if (this.pendingSuspend === pending) this.pendingSuspend = undefined;
    });
  }

  /** Whether a suspend is still on its way (the test reset must not race it). */
  get suspendPending(): boolean {
    return this.pendingSuspend !== undefined;
  }

  async up(): Promise<void> {
    // A suspend asked for just before must land first, or it would take down the host started here.
    await this.pendingSuspend;
    if (this.child) return;
    this.child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', this.config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(this.port, this.spec.address);
        s.once('connect', () => (s.destroy(), r(true)));
        s.once('error', () => r(false));
      });
      if (ok) break;
      if (this.child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd for ${this.name} did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    this.asleep = false;
  }

  async down(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null && c.pid) {
      const exited = new Promise((r) => c.once('exit', r));
      process.kill(c.pid, 'SIGTERM');
      await exited;
    }
  }

  isUp(): boolean {
    return this.child !== undefined;
  }
}

export interface LoopbackLab {
  dir: string;
  standin: Standin;
  hosts: Map<string, LoopbackHost>;
  wolPort: number;
  kubeconfigPath: string;
  clusterPath: string;
  cluster: Cluster;
  clientKey: string;
  knownHosts: string;
  host(name: string): LoopbackHost;
  stop(): Promise<void>;
}

export interface LabOptions {
  /** spec.power overrides, e.g. { idleAfter: '1h', wakeTimeout: '4s' }. */
  power?: Record<string, unknown>;
  /** Per-node power overrides by name. */
  nodePower?: Record<string, Record<string, unknown>>;
  hosts?: HostSpec[];
  kubelet?: { probeIntervalMs?: number; notReadyGraceMs?: number };
  /** spec.apps entries. */
  apps?: Array<Record<string, unknown>>;
}

export const DEFAULT_HOSTS: HostSpec[] = [
  { name: 'storagenodet3500', mac: '02:00:7f:00:00:3d', address: '127.0.0.61', labels: { 'vmstation.io/storage': 'true' } },
  { name: 'homelab', mac: '02:00:7f:00:00:3e', address: '127.0.0.62' },
];

function yamlValue(v: unknown): string {
  return JSON.stringify(v);
}

export async function startLoopbackLab(opts: LabOptions = {}): Promise<LoopbackLab> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-power-lab-'));
  chmodSync(dir, 0o700);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const clientKey = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  chmodSync(authorized, 0o600);
  const knownHosts = path.join(dir, 'known_hosts');
  const hosts = new Map<string, LoopbackHost>();
  const knownLines: string[] = [];
  for (const spec of opts.hosts ?? DEFAULT_HOSTS) {
    const hostDir = path.join(dir, spec.name);
    mkdirSync(hostDir);
    const hostKey = path.join(hostDir, 'host_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const port = await freePort(spec.address);
    const [type, blob] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
    knownLines.push(`[${spec.address}]:${port} ${type} ${blob}`);
    const config = path.join(hostDir, 'sshd_config');
    writeSshdConfig(config, { port, address: spec.address, hostKey, authorizedKeys: authorized, pidFile: path.join(hostDir, 'sshd.pid') });
    hosts.set(spec.name, new LoopbackHost(spec, port, config));
  }
  writeFileSync(knownHosts, `${knownLines.join('\n')}\n`);

  // Magic packets: a real UDP listener; a packet boots only the host whose MAC it carries.
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const wolPort = udp.address().port;
  udp.on('message', (msg) => {
    const v = parseMagicPacket(msg);
    if (!v.ok) return;
    for (const h of hosts.values()) {
      if (h.spec.mac.toLowerCase() !== v.mac) continue;
      const dropped = h.dropPackets > 0 || h.neverWake;
      if (h.dropPackets > 0) h.dropPackets -= 1;
      h.packets.push({ at: Date.now(), dropped });
      if (dropped || !h.asleep) continue;
      h.asleep = false; // booting
      h.boots += 1;
      setTimeout(() => void h.up(), h.spec.bootDelayMs ?? 300);
    }
  });

  // The suspend command writes a request file; the "host" goes down a moment later, as
  // `systemctl suspend` (and the lab's lab-suspend) return at once and the host sleeps after.
  const requests = path.join(dir, 'suspend-requests');
  mkdirSync(requests);
  const suspendWatcher = setInterval(() => {
    for (const h of hosts.values()) {
      const f = path.join(requests, h.name);
      if (!existsSync(f)) continue;
      unlinkSync(f);
      h.suspendSoon(200);
    }
  }, 50);

  for (const h of hosts.values()) await h.up();

  const standin = await startStandin({
    nodes: [
      { name: 'masternode', roles: ['control-plane'], probe: false, capacity: { cpu: '4', memory: '8Gi' } },
      ...[...hosts.values()].map((h) => ({ name: h.name, address: h.spec.address, sshPort: h.port, roles: ['worker'], labels: h.spec.labels ?? {}, capacity: { cpu: '4', memory: '8Gi' } })),
    ],
    kubelet: { probeIntervalMs: opts.kubelet?.probeIntervalMs ?? 200, notReadyGraceMs: opts.kubelet?.notReadyGraceMs ?? 600, probeTimeoutMs: 300 },
  });
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  await standin.writeKubeconfig(kubeconfigPath);

  const power: Record<string, unknown> = { idleAfter: '1h', minAwake: '1s', wakeTimeout: '5s', wakeAttempts: 3, retryFailedAfter: '1h', maxConcurrentTransitions: 2, ...opts.power };
  const wol = { port: wolPort, broadcast: '127.0.0.1', packets: 3 };
  const nodeLines = [...hosts.values()]
    .map((h) => {
      const p = { autoSleep: true, wake: ['wol'], watts: { awake: 110, asleep: 5 }, bootSeconds: 1, suspendCommand: `touch ${path.join(requests, h.name)}`, ...opts.nodePower?.[h.name] };
      return [
        `    - name: ${h.name}`,
        `      address: ${h.spec.address}`,
        `      mac: "${h.spec.mac}"`,
        '      os: debian-12',
        '      roles: [worker]',
        `      labels: ${yamlValue(h.spec.labels ?? {})}`,
        `      ssh: { port: ${h.port} }`,
        `      power: ${yamlValue(p)}`,
      ].join('\n');
    })
    .join('\n');
  const text = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata:
  name: power-loopback
spec:
  network:
    subnet: 127.0.0.0/8
  ssh:
    user: root
    privateKey: ${clientKey}
    knownHosts: ${knownHosts}
  nodes:
    - name: masternode
      address: 127.0.0.63
      os: debian-12
      roles: [control-plane]
${nodeLines}
  power: ${yamlValue({ ...power, wol: { ...wol, ...(power['wol'] as object | undefined) } })}
${opts.apps ? `  apps: ${yamlValue(opts.apps)}\n` : ''}`;
  const clusterPath = path.join(dir, 'vmstation.yaml');
  writeFileSync(clusterPath, text);
  const result = validateText({ file: clusterPath, text });
  if (!result.cluster) throw new Error(`the loopback cluster file is invalid:\n${result.problems.map((p) => `${p.code}: ${p.message}`).join('\n')}`);
  const cluster = result.cluster;

  return {
    dir,
    standin,
    hosts,
    wolPort,
    kubeconfigPath,
    clusterPath,
    cluster,
    clientKey,
    knownHosts,
    host(name) {
      const h = hosts.get(name);
      if (!h) throw new Error(`no loopback host ${name}`);
      return h;
    },
    async stop() {
      clearInterval(suspendWatcher);
      udp.close();
      await standin.stop();
      for (const h of hosts.values()) await h.down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value (not undefined/false) or the timeout passes. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Back to a known state between tests: every host up, faults off, Nodes awake and uncordoned, test pods gone. */
export async function resetLab(lab: LoopbackLab): Promise<void> {
  const { testKube } = await import('../../helpers/kube-test-client.js');
  const kube = testKube(lab.kubeconfigPath);
  lab.standin.faults.clear();
  // The previous test's controller may have asked a host to suspend just before it closed: let the
  // watcher pick up such a request (it polls every 50 ms) and the host go down, then start it again.
  for (let round = 0; round === 0 || [...lab.hosts.values()].some((h) => h.suspendPending); round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, 150));
    for (const h of lab.hosts.values()) {
      h.dropPackets = 0;
      h.neverWake = false;
      h.packets.length = 0;
      await h.up();
      h.suspends = 0;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const clear: Record<string, null> = {};
  for (const k of ['state', 'since', 'reason', 'attempts', 'last-wake-seconds', 'cordoned', 'wake-triggered-at', 'energy-saved-kwh', 'request']) clear[`vmstation.io/power-${k}`] = null;
  for (const name of ['masternode', ...lab.hosts.keys()]) await kube.patchNode(name, { metadata: { annotations: clear }, spec: { unschedulable: null } });
  const pods = await kube.core.listNamespacedPod({ namespace: 'default' });
  for (const p of pods.items) await kube.core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
  const events = await kube.core.listNamespacedEvent({ namespace: 'default' });
  for (const e of events.items) await kube.core.deleteNamespacedEvent({ name: e.metadata.name ?? '', namespace: 'default' }).catch(() => undefined);
  const pdbs = await kube.policy.listNamespacedPodDisruptionBudget({ namespace: 'default' });
  for (const p of pdbs.items) await kube.policy.deleteNamespacedPodDisruptionBudget({ name: p.metadata?.name ?? '', namespace: 'default' });
  await eventually('all nodes Ready', async () => {
    const nodes = await kube.listNodes();
    return nodes.length === lab.hosts.size + 1 && nodes.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });
}
