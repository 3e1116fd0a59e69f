// vmstation power status | wake NODE [--wait] | sleep NODE [--yes] | controller
// Status and requests go through the controller's HTTP API (--url) or straight to the Node
// annotations with a kubeconfig. `power controller` runs the controller (the in-cluster Deployment
// runs `vmstation power controller --in-cluster`).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { errorMessage, userError } from '../../errors.js';
import type { Cluster } from '../../config/model.js';
import { KubeClient, type KubeConnectOptions } from '../../adapters/kube/client.js';
import { loadToken } from '../../power/api/auth.js';
import { apiClient, kubeClient, waitForNode, type PowerClient } from '../../power/api/client.js';
import { holdsOf, type ControllerStatus, type NodeStatus } from '../../power/controller/status.js';
import { durationSeconds } from '../../config/duration.js';
import { systemClock } from '../../power/controller/clock.js';
import { runController } from '../../power/controller/run.js';
import type { LogLevel } from '../../power/controller/log.js';
import { directorySecrets, vaultSecrets, type SecretSource } from '../../power/drivers/secrets.js';
import { readVaultPassword, SecretsFile } from '../../secrets/store.js';
import { loadCluster, secretsPath } from '../cluster-file.js';
import { formatTable, writeJson, writeLine, type CliIo } from '../io.js';
import { VERSION } from '../version.js';
import { withClusterFile, withOutput, type ClusterFlags, type OutputFlags } from '../options.js';
import type { RegisterVerb } from './index.js';

interface ConnectFlags extends ClusterFlags {
  kubeconfig?: string;
  context?: string;
  url?: string;
  tokenFile?: string;
}

function withConnect(cmd: Command): Command {
  return withClusterFile(cmd)
    .option('--kubeconfig <file>', 'kubeconfig to read Node annotations with (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--url <url>', 'the power manager HTTP API, e.g. http://192.168.4.63:30880 (instead of the kubeconfig)')
    .option('--token-file <file>', 'file holding the API token for --url (or set VMSTATION_POWER_TOKEN_FILE)');
}

function kubeOptions(io: CliIo, flags: ConnectFlags): KubeConnectOptions {
  return { kubeconfig: flags.kubeconfig, context: flags.context, env: io.env };
}

/** The power manager through --url and a token, or through the Node annotations with a kubeconfig. */
async function connect(io: CliIo, flags: ConnectFlags, cluster: Cluster): Promise<PowerClient> {
  if (!flags.url) return kubeClient(new KubeClient(kubeOptions(io, flags)), cluster, { now: () => Date.now() });
  const token = await loadToken(flags.tokenFile, io.env).catch((err: unknown) => {
    throw userError('power-token-missing', errorMessage(err), 'the token is the vault secret spec.power.apiToken (`vmstation secrets get power-api-token > token`)');
  });
  return apiClient({ url: flags.url, token });
}

function printStatus(io: CliIo, status: ControllerStatus): void {
  const rows = status.nodes.map((n) => [
    n.node,
    n.state + (n.inFlight ? '*' : ''),
    n.since.replace(/\.\d{3}Z$/, 'Z'),
    n.lastWakeLatencySeconds === undefined ? '-' : `${n.lastWakeLatencySeconds.toFixed(1)}s`,
    n.energySavedKwh.toFixed(3),
    n.reason || '-',
  ]);
  writeLine(io.stdout, formatTable(['NODE', 'STATE', 'SINCE', 'LAST-WAKE', 'KWH-SAVED', 'REASON'], rows));
  for (const h of holdsOf(status)) writeLine(io.stdout, `maintenance hold ${h.id}: ${h.reason}, until ${h.until} (${h.nodes.join(', ')}: woken, none put to sleep)`);
  for (const n of status.nodes) if (n.nextPredictedWake) writeLine(io.stdout, `next predicted wake of ${n.node}: ${n.nextPredictedWake.at.replace(/\.\d{3}Z$/, 'Z')} (${n.nextPredictedWake.reason})`);
}

/** The end of a hold from --for DURATION or --until TIME (default: 1 h). */
export function holdUntil(flags: { for?: string; until?: string }, now: number): number {
  if (flags.for !== undefined && flags.until !== undefined) throw userError('hold-for-and-until', 'give --for or --until, not both', 'e.g. --for 2h, or --until 2026-12-24T18:00:00Z', { exitCode: 2 });
  if (flags.until !== undefined) {
    const t = Date.parse(flags.until);
    if (Number.isNaN(t)) throw userError('hold-bad-until', `--until ${flags.until} is not a time`, 'write an ISO 8601 time with its zone, e.g. 2026-12-24T18:00:00Z', { exitCode: 2 });
    if (t <= now) throw userError('hold-bad-until', `--until ${flags.until} is not in the future`, 'give a later time, or --for DURATION', { exitCode: 2 });
    return t;
  }
  const text = flags.for ?? '1h';
  let seconds: number | undefined;
  try {
    seconds = durationSeconds(text);
  } catch {
    seconds = undefined;
  }
  if (seconds === undefined || !(seconds > 0)) throw userError('hold-bad-duration', `--for ${text} is not a duration`, 'e.g. --for 30m, --for 2h, --for 1d', { exitCode: 2 });
  return now + seconds * 1000;
}

function checkNode(cluster: Cluster, node: string): void {
  if (!cluster.spec.nodes.some((n) => n.name === node))
    throw userError('unknown-node', `no node named ${node} in the cluster file`, `nodes: ${cluster.spec.nodes.map((n) => n.name).join(', ')}`, { exitCode: 2 });
}

async function request(io: CliIo, client: PowerClient, node: string, action: 'wake' | 'sleep'): Promise<void> {
  await client.request(node, action, `${action} requested with the CLI by ${io.env['USER'] ?? 'a user'} on ${hostname()}`);
}

interface ControllerFlags extends ClusterFlags {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  listen: string;
  tokenFile?: string;
  knownHosts?: string;
  sshKey?: string;
  secretsDir?: string;
  prometheusUrl?: string;
  namespace?: string;
  identity?: string;
  logLevel: LogLevel;
}

async function secretSource(io: CliIo, flags: ControllerFlags, cluster: Cluster, dir: string): Promise<SecretSource> {
  if (flags.secretsDir) return directorySecrets(flags.secretsDir);
  const password = await readVaultPassword(flags.vaultPasswordFile, io.env);
  if (password === undefined) return { get: () => Promise.resolve(undefined) };
  return vaultSecrets(await SecretsFile.open(secretsPath(dir, cluster), password));
}

export function registerPower(program: Command, io: CliIo, registerSimulate?: (power: Command, io: CliIo) => void): void {
  const power = program.command('power').description('the power manager: node power states, wake and sleep, the controller');

  withOutput(withConnect(power.command('status').description('power state of each node: state, since, reason, last wake latency, kWh saved'))).action(async (flags: ConnectFlags & OutputFlags) => {
    const { cluster } = await loadCluster(io, flags);
    const status = await (await connect(io, flags, cluster)).status();
    if (flags.output === 'json') writeJson(io.stdout, status);
    else printStatus(io, status);
  });

  withConnect(power.command('wake <node>').description('wake a node (WoL, IPMI fallback) and uncordon it once Ready'))
    .option('--wait', 'wait until the node is awake and Ready')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds', '900')
    .action(async (node: string, flags: ConnectFlags & { wait?: boolean; timeout: string }) => {
      const { cluster } = await loadCluster(io, flags);
      checkNode(cluster, node);
      const client = await connect(io, flags, cluster);
      await request(io, client, node, 'wake');
      writeLine(io.stderr, `wake of ${node} requested`);
      if (!flags.wait) return;
      const onChange = (n: NodeStatus) => writeLine(io.stderr, `${node}: ${n.state}${n.reason ? ` (${n.reason})` : ''}`);
      const st = await waitForNode(client, node, (n) => n.state === 'awake' && n.ready && !n.cordoned, { timeoutMs: Number(flags.timeout) * 1000, clock: systemClock, onChange });
      if (!st) throw userError('wake-timeout', `${node} is not awake after ${flags.timeout} s`, 'see `vmstation power status` and the Events of the Node');
      if (st.state === 'failed') throw userError('wake-failed', `${node} failed to wake: ${st.reason}`, 'check the MAC, that Wake-on-LAN is enabled in the BIOS and the NIC, or the BMC');
      writeLine(io.stdout, `${node} is awake${st.lastWakeLatencySeconds === undefined ? '' : ` (${st.lastWakeLatencySeconds.toFixed(1)} s)`}`);
    });

  withConnect(power.command('sleep <node>').description('drain a node through the Eviction API and suspend it (safety rules apply)'))
    .option('--yes', 'do not ask for confirmation')
    .action(async (node: string, flags: ConnectFlags & { yes?: boolean }) => {
      const { cluster } = await loadCluster(io, flags);
      checkNode(cluster, node);
      if (!flags.yes)
        throw userError('confirmation-needed', `putting ${node} to sleep evicts its pods and suspends it`, `run again with --yes to go ahead`, { exitCode: 2 });
      await request(io, await connect(io, flags, cluster), node, 'sleep');
      writeLine(io.stderr, `sleep of ${node} requested; the controller checks the safety rules first (see \`vmstation power status\` and the Node's Events)`);
    });

  withConnect(power.command('hold').description('hold every managed node awake for maintenance: woken, none put to sleep, until the hold expires or is released'))
    .option('--for <duration>', 'how long (default 1h), e.g. 30m, 2h')
    .option('--until <time>', 'until this ISO 8601 time instead')
    .option('--reason <text>', 'shown in power status, the metric and the Events', 'maintenance')
    .action(async (flags: ConnectFlags & { for?: string; until?: string; reason: string }) => {
      const { cluster } = await loadCluster(io, flags);
      const until = holdUntil(flags, Date.now());
      const reason = `${flags.reason} (by ${io.env['USER'] ?? 'a user'} on ${hostname()})`;
      await (await connect(io, flags, cluster)).hold({ id: 'manual', reason, until });
      writeLine(io.stdout, `maintenance hold on every managed node until ${new Date(until).toISOString()}: ${reason}; \`vmstation power release\` ends it`);
    });

  withConnect(power.command('release').description('end the maintenance hold taken with `power hold` (or a run\'s, with --id; --all for every hold)'))
    .option('--id <id>', "the hold to release (default: `manual`, the one `power hold` takes)")
    .option('--all', 'release every hold, also the ones deploy or etcd restore took')
    .action(async (flags: ConnectFlags & { id?: string; all?: boolean }) => {
      const { cluster } = await loadCluster(io, flags);
      await (await connect(io, flags, cluster)).release(flags.all ? undefined : (flags.id ?? 'manual'));
      writeLine(io.stdout, flags.all ? 'every maintenance hold released' : `maintenance hold ${flags.id ?? 'manual'} released`);
    });

  withClusterFile(power.command('controller').description(`run the power manager controller (what the in-cluster Deployment runs; vmstation ${VERSION})`))
    .option('--kubeconfig <file>', 'kubeconfig (outside the cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--in-cluster', 'use the pod\'s service account')
    .option('--listen <host:port>', 'HTTP API and /metrics (the wake gateways listen on the same host)', '0.0.0.0:8080')
    .option('--token-file <file>', 'API bearer token file (or VMSTATION_POWER_TOKEN_FILE / VMSTATION_POWER_TOKEN)')
    .option('--known-hosts <file>', 'known_hosts the nodes\' SSH host keys are checked against (default spec.ssh.knownHosts)')
    .option('--ssh-key <file>', 'SSH private key for suspend and checks (default spec.ssh.privateKey)')
    .option('--secrets-dir <dir>', 'mounted Secret with BMC and SecureOn values, one file per vault secret name (default: the vault)')
    .option('--prometheus-url <url>', 'Prometheus to read CPU and network activity from (optional)')
    .option('--namespace <ns>', 'namespace of the leader Lease (default spec.power.controller.namespace)')
    .option('--identity <name>', 'this replica\'s name in the Lease (default $POD_NAME or host-pid)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (flags: ControllerFlags) => {
      const { cluster, dir } = await loadCluster(io, flags);
      const token = await loadToken(flags.tokenFile, io.env).catch((err: unknown) => {
        throw userError('power-token-missing', (err as Error).message, 'mount the API token Secret and pass --token-file');
      });
      const running = await runController({
        cluster,
        kube: { inCluster: flags.inCluster, kubeconfig: flags.kubeconfig, context: flags.context, env: io.env },
        token,
        listen: flags.listen,
        driverOptions: { secrets: await secretSource(io, flags, cluster, dir), knownHostsPath: flags.knownHosts, privateKeyPath: flags.sshKey },
        prometheusUrl: flags.prometheusUrl,
        ...(flags.namespace ? { namespace: flags.namespace } : {}),
        identity: flags.identity ?? io.env['POD_NAME'] ?? `${hostname()}-${process.pid}`,
        logStream: io.stderr,
        logLevel: flags.logLevel,
        defaultMetrics: true,
      });
      writeLine(io.stderr, JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'power manager running', url: running.url }));
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      await running.close();
    });

  registerSimulate?.(power, io);
}

/** The `power` verb, with `power simulate` when that module is present. */
export async function loadPowerVerb(): Promise<RegisterVerb> {
  const simulateModule: string = './power-simulate.js';
  const sim = (await import(simulateModule).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  })) as { registerPowerSimulate?: (power: Command, io: CliIo) => void } | undefined;
  return (program, io) => registerPower(program, io, sim?.registerPowerSimulate);
}
