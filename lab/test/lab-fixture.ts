// Test helper: one lab per test run (brought up by lab/test/global-setup.ts), and the small
// operations tests do against it: ssh with host-key checking on, the power emulator's control
// API, real magic packets (UDP and raw 0x0842 frames).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabFixture } from '../lifecycle.js';
import { LAB_DIR, labPaths } from '../paths.js';
import { run, runOk, sleep, type RunResult } from '../run.js';
import { buildMagicPacket } from '../wol/magic-packet.js';

export type { LabFixture };

/** The running lab's paths and nodes; throws with the reason when the lab is not up. */
export function labFixture(): LabFixture {
  const file = process.env.VMSTATION_LAB_FIXTURE ?? labPaths().fixtureFile;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabFixture;
  } catch {
    throw new Error(`no running lab (${file}): ${process.env.VMSTATION_LAB_UNAVAILABLE ?? 'run the lab project (lab/test/global-setup.ts) or `npm run lab -- up`'}`);
  }
}

export function labNode(name: string): LabFixture['nodes'][number] {
  const n = labFixture().nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no lab node ${name}`);
  return n;
}

/** ssh NODE CMD through the lab's ssh config (StrictHostKeyChecking yes, the lab's known_hosts). */
export function ssh(node: string, command: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return run('ssh', ['-F', labFixture().sshConfig, node, command], { timeoutMs: opts.timeoutMs ?? 60_000 });
}

export async function sshOk(node: string, command: string): Promise<string> {
  const r = await ssh(node, command);
  if (r.code !== 0) throw new Error(`ssh ${node} ${command}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function control<T = unknown>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${labFixture().controlUrl}${path}`, init);
  if (!r.ok) throw new Error(`lab control ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

export interface NodeStatus {
  name: string;
  power: 'on' | 'booting' | 'asleep' | 'off';
  boots: number;
  pid: number | null;
  memoryBytes: number | null;
}

export const nodeStatus = (node: string): Promise<NodeStatus> => control<NodeStatus>(`/nodes/${node}`);

export interface LabEvent {
  seq: number;
  node: string;
  kind: string;
  detail?: Record<string, unknown>;
}

export async function events(since = 0): Promise<{ last: number; events: LabEvent[] }> {
  return control(`/events?since=${since}`);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const waitForPower = (node: string, power: NodeStatus['power'], timeoutMs = 60_000): Promise<NodeStatus> =>
  waitFor(`${node} to be ${power}`, async () => {
    const s = await nodeStatus(node);
    return s.power === power ? s : undefined;
  }, timeoutMs);

export const waitForSsh = (node: string, timeoutMs = 60_000): Promise<number> => {
  const started = Date.now();
  return waitFor(`${node} to answer SSH`, async () => ((await ssh(node, 'true', { timeoutMs: 10_000 })).code === 0 ? Date.now() - started : undefined), timeoutMs, 250);
};

/** A real UDP magic packet for `mac`, broadcast on the lab subnet (as `wakeonlan` or `etherwake -b` send). */
export async function sendMagicPacket(mac: string, port = 9): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((res) => s.bind(() => res()));
  s.setBroadcast(true);
  await new Promise<void>((res, rej) => s.send(buildMagicPacket(mac), port, labFixture().broadcast, (e) => (e ? rej(e) : res())));
  s.close();
}

/** A raw Ethernet frame, EtherType 0x0842, carrying the magic packet, sent onto the lab bridge. */
export async function sendRawMagicFrame(mac: string): Promise<void> {
  await runOk('/usr/bin/python3', [join(LAB_DIR, 'wol', 'raw-frames.py'), 'send', labFixture().bridge, buildMagicPacket(mac).toString('hex')]);
}

/** Is TCP 22 of the node accepting connections right now? */
export async function tcpOpen(address: string, port = 22, timeoutMs = 1500): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port, timeout: timeoutMs });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

export function labSecrets(): Record<string, string> {
  return JSON.parse(readFileSync(labFixture().secretsFile, 'utf8')) as Record<string, string>;
}

/**
 * Test precondition: every lab host is on and answers SSH. Powers on (as its BMC would) any host
 * an earlier test file left asleep or off, and clears faults left behind.
 */
export async function ensureAllAwake(timeoutMs = 60_000): Promise<void> {
  await Promise.all(
    labFixture().nodes.map(async (n) => {
      const s = await nodeStatus(n.name);
      await control(`/nodes/${n.name}/faults`, { method: 'DELETE' });
      if (s.power === 'asleep' || s.power === 'off') await control(`/nodes/${n.name}/power`, { method: 'POST', body: JSON.stringify({ action: 'on' }) });
      await waitForPower(n.name, 'on', timeoutMs);
      await waitForSsh(n.name, timeoutMs);
    }),
  );
}
