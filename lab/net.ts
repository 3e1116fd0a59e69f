// The lab's bridge: the host's gateway address, the BMC addresses, and a veth pair that keeps
// the bridge's carrier up while every node sleeps (else frames the host sends go nowhere).
import { existsSync } from 'node:fs';
import { run, runOk } from './run.js';

export const BRIDGE = 'vmslab0';
export const KEEPALIVE = { bridgeEnd: 'vmslab0-k', peer: 'vmslab0-p' };

export const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);

export async function createBridge(addresses: string[]): Promise<void> {
  if (!linkExists(BRIDGE)) await runOk('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  // No STP and no forwarding delay: nodes come and go and must talk at once.
  await runOk('ip', ['link', 'set', BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  for (const a of addresses) {
    const r = await run('ip', ['addr', 'add', a, 'dev', BRIDGE]);
    if (r.code !== 0 && !r.stderr.includes('File exists')) throw new Error(`ip addr add ${a}: ${r.stderr.trim()}`);
  }
  if (!linkExists(KEEPALIVE.bridgeEnd)) await runOk('ip', ['link', 'add', KEEPALIVE.bridgeEnd, 'type', 'veth', 'peer', 'name', KEEPALIVE.peer]);
  await runOk('ip', ['link', 'set', KEEPALIVE.bridgeEnd, 'master', BRIDGE, 'up']);
  await runOk('ip', ['link', 'set', KEEPALIVE.peer, 'up']);
  await runOk('ip', ['link', 'set', BRIDGE, 'up']);
}

export async function deleteBridge(): Promise<string[]> {
  const removed: string[] = [];
  for (const l of [KEEPALIVE.bridgeEnd, BRIDGE]) {
    if (linkExists(l)) {
      await runOk('ip', ['link', 'del', l]);
      removed.push(l);
    }
  }
  return removed;
}

/** Every link the lab may have left: the bridge, the keepalive pair and the nodes' veths (vb-*). */
export async function labLinks(nodeNames: string[]): Promise<string[]> {
  const r = await runOk('ip', ['-o', 'link', 'show']);
  const names = r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  const vb = new Set(nodeNames.map((n) => `vb-${n}`.slice(0, 15)));
  return names.filter((n) => n === BRIDGE || n === KEEPALIVE.bridgeEnd || n === KEEPALIVE.peer || vb.has(n) || (n.startsWith('vb-') && nodeNames.some((x) => n.startsWith(`vb-${x}`.slice(0, 10)))));
}
