// Runs preflight on every node (or those named) in parallel: wake the node when it does not
// answer, open the persistent SSH connection, measure its clock, run the probe script once,
// then evaluate the facts (pure, ./checks.ts).
import type { Cluster, ClusterNode } from '../../config/model.js';
import { formatTable } from '../../util/table.js';
import type { SshPool } from '../ssh-pool.js';
import type { WakeOutcome } from '../wake.js';
import { evaluateNode, requiredModules, type CheckResult } from './checks.js';
import { parseProbe, probeScript, type ProbeFacts } from './probe.js';
import { errorMessage } from '../../errors.js';

export interface NodeReport {
  node: string;
  address: string;
  /** What waking did (absent when the node answered at once). */
  wake?: { sent: string[]; waitedMs: number; message: string } | undefined;
  /** Set when the node could not be checked at all. */
  error?: { code: string; message: string; hint: string } | undefined;
  checks: CheckResult[];
  durationMs: number;
}

export interface PreflightReport {
  cluster: string;
  ok: boolean;
  nodes: NodeReport[];
}

export interface PreflightDeps {
  pool: SshPool;
  /** Makes sure a node answers on its SSH port, waking it when needed. */
  ensureAwake: (node: string) => Promise<WakeOutcome>;
  /** Milliseconds, for durations and the clock measurement (Date.now in production). */
  now: () => number;
  /** Between SSH attempts to a node that was just woken (its sshd may still be starting). */
  sleep?: (ms: number) => Promise<void>;
}

interface Probed {
  facts?: ProbeFacts;
  /** This node's clock minus the local clock, in seconds. */
  offsetS?: number;
  report: NodeReport;
}

/** Three timestamps over the open connection; the one with the shortest round trip wins. */
async function measureOffset(pool: SshPool, node: string, now: () => number): Promise<number> {
  let best: { rtt: number; offset: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = now();
    const r = await pool.exec(node, 'date +%s.%N', 10_000);
    const t1 = now();
    const remote = Number.parseFloat(r.stdout.trim()) * 1000;
    if (r.exitCode !== 0 || Number.isNaN(remote)) throw new Error(`cannot read the clock: ${r.stderr.trim() || r.stdout.trim()}`);
    const offset = (remote - (t0 + t1) / 2) / 1000;
    if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset };
  }
  return best!.offset;
}

function errorOf(err: unknown, node: ClusterNode): NodeReport['error'] {
  const message = errorMessage(err);
  const kind = (err as { kind?: string }).kind;
  if (kind === 'host-key')
    return { code: 'ssh-host-key', message, hint: `check the host's key and update the managed known_hosts (ssh-keyscan ${node.address} after verifying the fingerprint on the console)` };
  if (kind === 'auth') return { code: 'ssh-auth', message, hint: `authorize the key ${node.ssh.privateKey} for ${node.ssh.user}@${node.name} (ssh-copy-id)` };
  if (kind === 'config') return { code: 'ssh-config', message, hint: 'check spec.ssh.privateKey and spec.ssh.knownHosts in the cluster file' };
  return { code: 'ssh-failed', message, hint: `check that ${node.name} (${node.address}) runs sshd on port ${node.ssh.port}` };
}

async function probeNode(cluster: Cluster, node: ClusterNode, deps: PreflightDeps): Promise<Probed> {
  const started = deps.now();
  const report: NodeReport = { node: node.name, address: node.address, checks: [], durationMs: 0 };
  const done = (extra: Partial<Probed> = {}): Probed => {
    report.durationMs = deps.now() - started;
    return { report, ...extra };
  };
  const awake = await deps.ensureAwake(node.name);
  if (!awake.wasAwake) report.wake = { sent: awake.sent, waitedMs: awake.waitedMs, message: awake.message };
  if (!awake.reachable) {
    report.error = {
      code: 'node-unreachable',
      message: `${node.name}: ${awake.message}`,
      hint: node.power.autoSleep ? 'check that Wake-on-LAN is armed (or the BMC answers) and the node is on the LAN; power it on by hand once' : 'power the node on and check its network cable and address',
    };
    return done();
  }
  if (!awake.wasAwake) {
    // A node that just woke answers TCP before its sshd is ready: retry the handshake a few times.
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        await deps.pool.session(node.name);
        break;
      } catch (err) {
        const kind = (err as { kind?: string }).kind;
        if (attempt >= 6 || kind === 'host-key' || kind === 'auth' || kind === 'config') break;
        await sleep(2000);
      }
    }
  }
  try {
    const [offsetS, out] = await Promise.all([
      measureOffset(deps.pool, node.name, deps.now),
      deps.pool.exec(node.name, probeScript(node.address, requiredModules(cluster)), 60_000),
    ]);
    if (out.exitCode !== 0) throw new Error(`the probe script exited ${String(out.exitCode)}: ${out.stderr.trim().split('\n').slice(-2).join(' ')}`);
    return done({ facts: parseProbe(out.stdout), offsetS });
  } catch (err) {
    report.error = errorOf(err, node);
    return done();
  }
}

/** Preflight of the named nodes (all when `only` is empty). */
export async function runPreflight(cluster: Cluster, deps: PreflightDeps, only: readonly string[] = []): Promise<PreflightReport> {
  const unknown = only.filter((n) => !cluster.spec.nodes.some((x) => x.name === n));
  if (unknown.length > 0) throw new Error(`no node named ${unknown.join(', ')} in the cluster file`);
  const nodes = cluster.spec.nodes.filter((n) => only.length === 0 || only.includes(n.name));
  const ntp = cluster.spec.infrastructure.ntp.server;
  const ntpNode = cluster.spec.nodes.find((n) => n.name === ntp);
  // The NTP server's clock is the reference even when it is not one of the nodes asked for.
  const targets = ntpNode && !nodes.includes(ntpNode) ? [...nodes, ntpNode] : nodes;
  const probed = await Promise.all(targets.map((n) => probeNode(cluster, n, deps)));
  const ref = probed.find((p) => p.report.node === ntp)?.offsetS;
  const reports: NodeReport[] = [];
  for (const n of nodes) {
    const p = probed.find((x) => x.report.node === n.name)!;
    if (p.facts) {
      const clockOffsetS = p.offsetS !== undefined && ref !== undefined ? p.offsetS - ref : undefined;
      p.report.checks = evaluateNode({ cluster, node: n, facts: p.facts, clockOffsetS, clockReference: ntp });
    }
    reports.push(p.report);
  }
  const ok = reports.every((r) => !r.error && r.checks.every((c) => c.status !== 'fail'));
  return { cluster: cluster.metadata.name, ok, nodes: reports };
}

export function formatPreflight(report: PreflightReport): string {
  const rows: string[][] = [];
  const problems: string[] = [];
  for (const n of report.nodes) {
    if (n.wake) rows.push([n.node, 'wake', n.wake.sent.length > 0 ? 'woken' : 'asleep', n.wake.message]);
    if (n.error) {
      rows.push([n.node, 'ssh', 'FAIL', n.error.message]);
      problems.push(`${n.node}: ${n.error.message}\n    fix: ${n.error.hint}`);
    }
    for (const c of n.checks) {
      rows.push([n.node, c.id, c.status === 'fail' ? 'FAIL' : c.status === 'warn' ? 'WARN' : c.status, c.observed]);
      if (c.status === 'fail' || c.status === 'warn') problems.push(`${n.node} ${c.id}: ${c.observed}\n    why: ${c.why ?? ''}\n    fix: ${c.fix ?? ''}`);
    }
  }
  const lines = [formatTable(['NODE', 'CHECK', 'STATUS', 'OBSERVED'], rows)];
  if (problems.length > 0) lines.push('', 'Problems:', ...problems.map((p) => `  ${p}`));
  const failures = report.nodes.reduce((sum, n) => sum + (n.error ? 1 : 0) + n.checks.filter((c) => c.status === 'fail').length, 0);
  lines.push('', report.ok ? `preflight passed on ${report.nodes.length} node(s)` : `preflight failed: ${failures} failing check(s)`);
  return lines.join('\n');
}
