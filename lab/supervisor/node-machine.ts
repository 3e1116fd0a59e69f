// One emulated host: its systemd-nspawn container and its power state, as real hardware has it.
// The host goes down on its own (suspend, poweroff), by its BMC, or when the lab stops; it comes
// back only by a magic packet carrying its MAC or by its BMC (after the boot delay).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNodeCgroups, removeCgroupTree } from '../cgroups.js';
import type { LabNode } from '../lab-config.js';
import { nodeCgroups } from '../paths.js';
import { run } from '../run.js';

export type PowerState = 'on' | 'booting' | 'asleep' | 'off';

export interface Faults {
  /** Magic packets for this node still to be dropped. */
  dropMagicPackets: number;
  /** Magic packets never wake it (its BMC still does). */
  neverWake: boolean;
  /** Extra delay on every boot. */
  slowBootMs: number;
  /** sshd refuses connections (TCP RST) until this time (epoch ms). */
  refuseSshUntil: number;
}

export const noFaults = (): Faults => ({ dropMagicPackets: 0, neverWake: false, slowBootMs: 0, refuseSshUntil: 0 });

export interface NodeEnv {
  rootfs: string;
  bridge: string;
  nodeDir: string;
  logFile: string;
  bootDelayMs: number;
  event: (node: string, kind: string, detail?: Record<string, unknown>) => void;
  recordPid: (node: string, pid: number | undefined) => void;
  now: () => number;
}

export class NodeMachine {
  power: PowerState = 'off';
  since: number;
  boots = 0;
  faults: Faults = noFaults();
  private child: ChildProcess | undefined;
  private hardOff = false;
  private stopping = false;
  private bootTimer: NodeJS.Timeout | undefined;
  private sshTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly node: LabNode,
    private readonly env: NodeEnv,
  ) {
    this.since = env.now();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private setPower(p: PowerState, detail: Record<string, unknown> = {}): void {
    this.power = p;
    this.since = this.env.now();
    this.env.event(this.node.name, `power:${p}`, detail);
  }

  private get requestFile(): string {
    return join(this.env.nodeDir, 'power', 'request');
  }

  /** systemd-nspawn, started from the node's own cgroups (the shell moves itself, then execs). */
  async start(): Promise<void> {
    if (this.child) return;
    this.stopping = false;
    this.hardOff = false;
    rmSync(this.requestFile, { force: true });
    for (const d of nodeCgroups(this.node.name)) removeCgroupTree(d, true);
    const cgroups = await ensureNodeCgroups(this.node.name);
    const d = this.env.nodeDir;
    const args = [
      '-q',
      '-b',
      '--register=no',
      '--keep-unit',
      `--machine=${this.node.name}`,
      `--directory=${this.env.rootfs}`,
      `--overlay=${this.env.rootfs}:${join(d, 'upper')}:/`,
      `--network-bridge=${this.env.bridge}`,
      `--bind-ro=${join(d, '10-lab.network')}:/etc/systemd/network/10-lab.network`,
      `--bind=${join(d, 'power')}:/run/lab-power`,
      '--console=read-only',
    ];
    const moveSelf = cgroups.map((c) => `echo $$ > ${c}/cgroup.procs`).join(' && ');
    const out = openSync(this.env.logFile, 'a');
    const child = spawn('/bin/sh', ['-c', `${moveSelf} && exec "$0" "$@"`, '/usr/bin/systemd-nspawn', ...args], { stdio: ['ignore', out, out] });
    closeSync(out);
    this.child = child;
    this.boots++;
    this.env.recordPid(this.node.name, child.pid);
    this.setPower('on', { pid: child.pid, boot: this.boots });
    child.on('exit', (code, signal) => this.onExit(code, signal));
    if (this.faults.refuseSshUntil > this.env.now()) this.scheduleSshFault(500);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.child = undefined;
    this.env.recordPid(this.node.name, undefined);
    for (const d of nodeCgroups(this.node.name)) removeCgroupTree(d, true);
    const suspended = existsSync(this.requestFile) && readFileSync(this.requestFile, 'utf8').trim() === 'suspend';
    rmSync(this.requestFile, { force: true });
    if (this.stopping) return this.setPower('off', { reason: 'lab stopping', code, signal });
    if (code === 133) {
      // A reboot inside: nspawn exits 133 and the "firmware" starts it again.
      this.env.event(this.node.name, 'reboot');
      void this.start();
      return;
    }
    if (this.hardOff) return this.setPower('off', { reason: 'power cut (BMC)', code, signal });
    if (suspended) return this.setPower('asleep', { reason: 'suspend command', code });
    this.setPower('off', { reason: 'powered off from inside', code, signal });
  }

  /** Wake by magic packet or BMC; returns why not when it does nothing. */
  wake(source: 'wol' | 'ipmi'): { woke: boolean; reason: string } {
    if (this.power === 'on' || this.power === 'booting') return { woke: false, reason: `already ${this.power}` };
    if (source === 'wol' && this.faults.neverWake) return { woke: false, reason: 'fault: never wake by magic packet' };
    const delay = this.env.bootDelayMs + this.faults.slowBootMs;
    this.setPower('booting', { source, delayMs: delay });
    this.bootTimer = setTimeout(() => {
      this.bootTimer = undefined;
      void this.start();
    }, delay);
    return { woke: true, reason: `booting in ${delay} ms` };
  }

  /** The container's init (PID 1 inside), the child of nspawn. */
  innerPid(): number | undefined {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length > 0 ? Number(kids[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** A power cut, as a BMC does: the container's init is killed, nspawn cleans up and exits. */
  powerCut(): { done: boolean; reason: string } {
    if (this.power === 'booting') {
      clearTimeout(this.bootTimer);
      this.setPower('off', { reason: 'power cut while booting (BMC)' });
      return { done: true, reason: 'boot cancelled' };
    }
    if (this.power !== 'on' || !this.child) return { done: false, reason: `already ${this.power}` };
    this.hardOff = true;
    const inner = this.innerPid();
    try {
      if (inner !== undefined) process.kill(inner, 'SIGKILL');
      else this.child.kill('SIGKILL');
    } catch {
      // gone already
    }
    return { done: true, reason: 'power cut' };
  }

  /** Orderly stop for `lab down`: SIGTERM to nspawn powers the container off. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.bootTimer);
    clearTimeout(this.sshTimer);
    const child = this.child;
    if (!child) {
      this.power = 'off';
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      const inner = this.innerPid();
      try {
        if (inner !== undefined) process.kill(inner, 'SIGKILL');
        child.kill('SIGKILL');
      } catch {
        // gone already
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  setFaults(f: Partial<Faults> & { refuseSshForMs?: number }): void {
    if (f.dropMagicPackets !== undefined) this.faults.dropMagicPackets = f.dropMagicPackets;
    if (f.neverWake !== undefined) this.faults.neverWake = f.neverWake;
    if (f.slowBootMs !== undefined) this.faults.slowBootMs = f.slowBootMs;
    if (f.refuseSshForMs !== undefined) {
      this.faults.refuseSshUntil = f.refuseSshForMs > 0 ? this.env.now() + f.refuseSshForMs : 0;
      if (f.refuseSshForMs > 0) this.scheduleSshFault(0);
      else void this.applySshFault(false);
    }
    this.env.event(this.node.name, 'faults', { ...this.faults });
  }

  clearFaults(): void {
    const hadSsh = this.faults.refuseSshUntil > 0;
    this.faults = noFaults();
    clearTimeout(this.sshTimer);
    if (hadSsh) void this.applySshFault(false);
    this.env.event(this.node.name, 'faults', { ...this.faults });
  }

  private scheduleSshFault(afterMs: number): void {
    clearTimeout(this.sshTimer);
    this.sshTimer = setTimeout(() => {
      void (async () => {
        const until = this.faults.refuseSshUntil;
        if (until <= this.env.now()) {
          await this.applySshFault(false);
          return;
        }
        const ok = await this.applySshFault(true);
        // Not up yet (booting): try again shortly; else lift it when the window closes.
        this.scheduleSshFault(ok ? until - this.env.now() : 500);
      })();
    }, afterMs);
  }

  /**
   * SSH refusing connections: an nftables rule in the node's own network namespace answers
   * TCP 22 with a reset, for everyone (host, other nodes), as a host whose sshd is not up yet.
   */
  private async applySshFault(on: boolean): Promise<boolean> {
    const inner = this.innerPid();
    if (inner === undefined || this.power !== 'on') return false;
    const script = on
      ? 'table inet vmstation_lab_fault {\n chain input {\n  type filter hook input priority -10; policy accept;\n  tcp dport 22 reject with tcp reset\n }\n}\n'
      : 'delete table inet vmstation_lab_fault\n';
    const r = await run('nsenter', ['-t', String(inner), '-n', 'nft', '-f', '-'], { input: script });
    if (on && r.code !== 0) this.env.event(this.node.name, 'fault-error', { stderr: r.stderr.trim() });
    if (r.code === 0) this.env.event(this.node.name, on ? 'ssh-refusing' : 'ssh-accepting');
    return r.code === 0;
  }
}
