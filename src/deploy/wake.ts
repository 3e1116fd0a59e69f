// Wakes sleeping nodes before anything else touches them (the original failed with "No route to
// host"). Uses the power manager's drivers: Wake-on-LAN, then IPMI where configured, then waits
// for SSH's TCP port. Clock and sleep are injected so tests need not wait.
import type { Cluster, ClusterNode } from '../config/model.js';
import type { PowerDrivers } from '../power/drivers/index.js';
import { errorMessage } from '../errors.js';

export interface WakeOutcome {
  node: string;
  /** Already reachable: nothing was sent. */
  wasAwake: boolean;
  reachable: boolean;
  /** Drivers used, in order, e.g. ['wol'] or ['wol', 'ipmi']. */
  sent: string[];
  waitedMs: number;
  message: string;
}

export interface WakeDeps {
  drivers: Pick<PowerDrivers, 'wakeOnLan' | 'ipmiPowerOn' | 'reachable'>;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
  /** How long one reachability probe may take. */
  probeTimeoutMs?: number;
  /** Between probes while waiting for a node to boot. */
  pollMs?: number;
  /** Send the wake again this often while waiting (UDP is lossy; a node may still be going down). */
  resendMs?: number;
}

function canWake(node: ClusterNode, driver: string): boolean {
  return driver === 'wol' ? node.mac !== undefined : node.power.bmc !== undefined;
}

/** Wakes one node if it does not answer on its SSH port; resolves once it does (or gives up). */
export async function ensureNodeAwake(cluster: Cluster, nodeName: string, deps: WakeDeps): Promise<WakeOutcome> {
  const node = cluster.spec.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`node ${nodeName} is not in the cluster file`);
  const probe = deps.probeTimeoutMs ?? 1500;
  const poll = deps.pollMs ?? 2000;
  const started = deps.now();
  if (await deps.drivers.reachable(node.name, probe)) return { node: node.name, wasAwake: true, reachable: true, sent: [], waitedMs: 0, message: 'awake' };
  const drivers = node.power.wake.filter((d) => canWake(node, d));
  if (drivers.length === 0)
    return { node: node.name, wasAwake: false, reachable: false, sent: [], waitedMs: deps.now() - started, message: `does not answer on ${node.address}:${node.ssh.port} and has no way to be woken (no mac, no bmc)` };
  // Each driver gets the node's boot time (twice, for slow firmware) before the next is tried.
  const budget = node.power.bootSeconds * 2000;
  const sent: string[] = [];
  const errors: string[] = [];
  for (const d of drivers) {
    try {
      if (d === 'wol') await deps.drivers.wakeOnLan(node.name);
      else await deps.drivers.ipmiPowerOn(node.name);
      sent.push(d);
    } catch (err) {
      errors.push(`${d}: ${errorMessage(err)}`);
      continue;
    }
    const until = deps.now() + budget;
    const resend = deps.resendMs ?? 15_000;
    let lastSent = deps.now();
    while (deps.now() < until) {
      if (deps.now() - lastSent >= resend) {
        lastSent = deps.now();
        await (d === 'wol' ? deps.drivers.wakeOnLan(node.name) : deps.drivers.ipmiPowerOn(node.name)).catch(() => undefined);
      }
      if (await deps.drivers.reachable(node.name, probe)) {
        const waited = deps.now() - started;
        return { node: node.name, wasAwake: false, reachable: true, sent, waitedMs: waited, message: `woken by ${sent.join(' then ')} in ${(waited / 1000).toFixed(1)} s` };
      }
      await deps.sleep(poll);
    }
  }
  return {
    node: node.name,
    wasAwake: false,
    reachable: false,
    sent,
    waitedMs: deps.now() - started,
    message: `still not answering on ${node.address}:${node.ssh.port} after ${sent.length > 0 ? sent.join(' then ') : 'no wake'}${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`,
  };
}
