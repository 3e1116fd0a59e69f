// The drivers the controller uses, behind one interface so tests can run the controller with the
// real ones against the lab, or with fakes where a test is about the controller alone.
import type { Cluster, ClusterNode } from '../../config/model.js';
import { SshError, type SshTarget } from '../../adapters/ssh/index.js';
import { IpmiDriver, type BmcTarget } from './ipmi.js';
import { tcpProbe, type TcpProbe } from './probe.js';
import { createRunner, type Runner } from '../../adapters/process/index.js';
import type { SecretSource } from './secrets.js';
import { sshCheck, suspendOverSsh, type SshOpener } from './suspend.js';
import { sendMagicPackets, type WolDeps } from './wol.js';
import { expandHome } from '../../util/home.js';

export interface PowerDrivers {
  /** Sends the magic packets (all copies). */
  wakeOnLan(node: string): Promise<void>;
  /** `chassis power on` through the node's BMC. */
  ipmiPowerOn(node: string): Promise<void>;
  /** TCP connect to the node's SSH port. */
  reachable(node: string, timeoutMs: number): Promise<boolean>;
  /** An SSH command succeeds (host key checked). */
  sshCheck(node: string, timeoutMs: number): Promise<void>;
  /** `sync`, then the node's suspend command. */
  suspend(node: string): Promise<void>;
}

export interface DriverOptions {
  secrets: SecretSource;
  /** known_hosts path; default spec.ssh.knownHosts (normalisation fills in the default). */
  knownHostsPath?: string | undefined;
  /** Private key path overriding the cluster file's (the controller's mounted Secret). */
  privateKeyPath?: string | undefined;
  run?: Runner;
  probe?: TcpProbe;
  wol?: WolDeps;
  openSsh?: SshOpener;
  /** Where magic packets go (default spec.power.wol.broadcast); tests point it at loopback. */
  wolBroadcast?: string;
  wolPort?: number;
}

export function sshTargetOf(cluster: Cluster, node: ClusterNode, opts: Pick<DriverOptions, 'knownHostsPath' | 'privateKeyPath'>): SshTarget {
  return {
    host: node.address,
    port: node.ssh.port,
    username: node.ssh.user,
    privateKeyPath: opts.privateKeyPath ?? node.ssh.privateKey,
    knownHostsPath: opts.knownHostsPath ?? expandHome(cluster.spec.ssh.knownHosts),
  };
}

/**
 * The power manager's own key is authorized only on nodes with power.autoSleep (the host layer's
 * power role): a refused key on another node says so instead of a bare "not accepted".
 */
async function explainAuth<T>(node: ClusterNode, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof SshError && err.kind === 'auth' && !node.power.autoSleep)
      throw new SshError('auth', `${err.message}; the power manager's key is authorized only on nodes with power.autoSleep: true (set it on ${node.name} and run vmstation host)`, { cause: err });
    throw err;
  }
}

export function createDrivers(cluster: Cluster, opts: DriverOptions): PowerDrivers {
  const byName = new Map(cluster.spec.nodes.map((n) => [n.name, n]));
  const need = (name: string): ClusterNode => {
    const n = byName.get(name);
    if (!n) throw new Error(`node ${name} is not in the cluster file`);
    return n;
  };
  const ipmi = new IpmiDriver(opts.run ?? createRunner(), opts.secrets);
  const probe = opts.probe ?? tcpProbe;
  const wol = cluster.spec.power.wol;
  return {
    async wakeOnLan(name) {
      const n = need(name);
      if (!n.mac) throw new Error(`${name} has no mac in the cluster file: Wake-on-LAN cannot address it`);
      const secureOn = n.power.secureOn ? await opts.secrets.get(n.power.secureOn.secret) : undefined;
      if (n.power.secureOn && secureOn === undefined) throw new Error(`${name}: SecureOn secret ${n.power.secureOn.secret} is not available`);
      await sendMagicPackets({ mac: n.mac, broadcast: opts.wolBroadcast ?? wol.broadcast, port: opts.wolPort ?? wol.port, packets: wol.packets, secureOn }, opts.wol);
    },
    async ipmiPowerOn(name) {
      const n = need(name);
      if (!n.power.bmc) throw new Error(`${name} has no bmc in the cluster file`);
      await ipmi.powerOn(n.power.bmc satisfies BmcTarget);
    },
    reachable(name, timeoutMs) {
      const n = need(name);
      return probe(n.address, n.ssh.port, timeoutMs);
    },
    async sshCheck(name, timeoutMs) {
      const n = need(name);
      await explainAuth(n, sshCheck(sshTargetOf(cluster, n, opts), { timeoutMs, ...(opts.openSsh ? { open: opts.openSsh } : {}) }));
    },
    async suspend(name) {
      const n = need(name);
      await explainAuth(n, suspendOverSsh(sshTargetOf(cluster, n, opts), n.power.suspendCommand, opts.openSsh ? { open: opts.openSsh } : {}));
    },
  };
}
