// Persistent SSH connections for one deploy run: one per node, opened on first use and reused by
// every later command (preflight, kubeconfig fetch, verify), closed together at the end.
// Host keys are checked against the managed known_hosts by the SSH adapter (never disabled).
import type { Readable } from 'node:stream';
import { SshConnection, type SshExecOptions, type SshExecResult, type SshTarget } from '../adapters/ssh/index.js';
import type { Cluster, ClusterNode } from '../config/model.js';
import { expandHome } from '../util/home.js';

export type SshSession = Pick<SshConnection, 'exec' | 'close'>;
export type SshOpen = (target: SshTarget, opts: { timeoutMs?: number }) => Promise<SshSession>;

export const openSshSession: SshOpen = (target, opts) => SshConnection.open(target, opts);

/** The managed known_hosts file, as a path this process can open. */
export function knownHostsPathOf(cluster: Cluster, env: NodeJS.ProcessEnv = process.env): string {
  return expandHome(cluster.spec.ssh.knownHosts, env);
}

export function sshTargetFor(cluster: Cluster, node: ClusterNode): SshTarget {
  return { host: node.address, port: node.ssh.port, username: node.ssh.user, privateKeyPath: node.ssh.privateKey, knownHostsPath: knownHostsPathOf(cluster) };
}

export class SshPool {
  private readonly sessions = new Map<string, Promise<SshSession>>();

  constructor(
    private readonly cluster: Cluster,
    private readonly open: SshOpen = openSshSession,
    private readonly connectTimeoutMs = 10_000,
  ) {}

  session(nodeName: string): Promise<SshSession> {
    let s = this.sessions.get(nodeName);
    if (!s) {
      const node = this.cluster.spec.nodes.find((n) => n.name === nodeName);
      if (!node) return Promise.reject(new Error(`node ${nodeName} is not in the cluster file`));
      s = this.open(sshTargetFor(this.cluster, node), { timeoutMs: this.connectTimeoutMs });
      // A failed open is not cached: the next call (after a wake) tries again.
      s.catch(() => this.sessions.delete(nodeName));
      this.sessions.set(nodeName, s);
    }
    return s;
  }

  async exec(nodeName: string, command: string, timeoutMs = 60_000, opts: Omit<SshExecOptions, 'timeoutMs'> = {}): Promise<SshExecResult> {
    return (await this.session(nodeName)).exec(command, { timeoutMs, ...opts });
  }

  /** Runs a command with `input()` streamed to its standard input (a file copy). */
  async execWithInput(nodeName: string, command: string, input: () => Readable, timeoutMs: number): Promise<SshExecResult> {
    return (await this.session(nodeName)).exec(command, { timeoutMs, stdin: input() });
  }

  /** Forgets a node's connection (e.g. it went to sleep), closing it if it was open. */
  drop(nodeName: string): void {
    const s = this.sessions.get(nodeName);
    this.sessions.delete(nodeName);
    s?.then((c) => c.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.then((c) => c.close()).catch(() => undefined)));
  }
}
