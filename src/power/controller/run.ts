// Wires a running power manager: Kubernetes client, drivers, controller, HTTP API. The CLI verb
// `vmstation power controller` and the integration tests both start it through here.
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import type { Writable } from 'node:stream';
import type { Cluster } from '../../config/model.js';
import { KubeClient, type KubeConnectOptions } from '../../adapters/kube/client.js';
import { createPowerApi } from '../api/server.js';
import { releaseHold, requestPower, takeHold } from '../api/requests.js';
import type { RateLimit } from '../api/auth.js';
import { durationSeconds } from '../../config/duration.js';
import { createDrivers, type DriverOptions, type PowerDrivers } from '../drivers/index.js';
import { gatewayRoutes, WakeGateway, type GatewayDeps } from '../gateway/gateway.js';
import { systemClock, type Clock } from './clock.js';
import { PowerController, type ActivitySource, type ControllerTuning } from './controller.js';
import { jsonLogger, type LogLevel, type Logger } from './log.js';
import { PowerMetrics } from './metrics.js';
import { prometheusActivity } from './prometheus-activity.js';
import { errorMessage } from '../../errors.js';

export interface RunControllerOptions {
  cluster: Cluster;
  kube: KubeConnectOptions;
  token: string;
  /** host:port for the HTTP API; port 0 picks a free one. Default 0.0.0.0:8080. */
  listen?: string;
  drivers?: PowerDrivers;
  driverOptions?: DriverOptions;
  prometheusUrl?: string | undefined;
  activity?: ActivitySource;
  identity?: string;
  namespace?: string;
  clock?: Clock;
  log?: Logger;
  logStream?: Writable;
  logLevel?: LogLevel;
  tuning?: Partial<ControllerTuning>;
  rateLimit?: RateLimit;
  defaultMetrics?: boolean;
  /** Wake gateway timings (tests); it listens on the API's host. */
  gateway?: Pick<GatewayDeps, 'retryMs' | 'connectTimeoutMs' | 'requestEveryMs' | 'waitMs' | 'limits'>;
}

export interface RunningController {
  controller: PowerController;
  kube: KubeClient;
  url: string;
  gateway: WakeGateway;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT or PORT, got "${listen}"`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

export async function runController(opts: RunControllerOptions): Promise<RunningController> {
  const clock = opts.clock ?? systemClock;
  const identity = opts.identity ?? `${os.hostname()}-${process.pid}`;
  const log = opts.log ?? jsonLogger(opts.logStream ?? process.stderr, { now: () => clock.now(), level: opts.logLevel ?? 'info', base: { component: 'vmstation-power-manager', identity } });
  const metrics = new PowerMetrics({ defaultMetrics: opts.defaultMetrics ?? false });
  // A failure inside an informer callback, a request handler or a gateway connection is contained
  // where it happens; here it is logged and counted, and the process goes on.
  const kube = new KubeClient(opts.kube, {
    onInformerCallbackError: (err, where) => {
      log.error('informer callback failed', { informer: where.path, event: where.verb, error: errorMessage(err) });
      metrics.internalError('informer');
    },
  });
  if (!opts.drivers && !opts.driverOptions) throw new Error('runController needs drivers or driverOptions');
  const drivers = opts.drivers ?? createDrivers(opts.cluster, opts.driverOptions as DriverOptions);
  const activity = opts.activity ?? (opts.prometheusUrl ? prometheusActivity(opts.cluster, opts.prometheusUrl) : undefined);
  const controller = new PowerController({
    cluster: opts.cluster,
    kube,
    drivers,
    clock,
    log,
    metrics,
    identity,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(activity ? { activity } : {}),
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
  });
  const nodeNames = opts.cluster.spec.nodes.map((n) => n.name);
  const server = createPowerApi({
    token: opts.token,
    status: () => controller.status(),
    nodes: () => nodeNames,
    request: (node, action, source, reason) => requestPower(kube, node, action, source, reason, clock.now()),
    hold: (hold) => takeHold(kube, nodeNames, hold, clock.now()),
    release: (id) => releaseHold(kube, nodeNames, id, clock.now()),
    metrics: () => metrics.text(),
    healthy: () => controller.isSynced(),
    log,
    now: () => clock.now(),
    onInternalError: () => metrics.internalError('api'),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ui: { cluster: opts.cluster.metadata.name, apps: gatewayRoutes(opts.cluster).map((r) => ({ name: r.app, node: r.node, gatewayPort: r.listenPort })) },
  });
  const { host, port } = parseListen(opts.listen ?? '0.0.0.0:8080');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  log.info('listening', { url, prometheus: opts.prometheusUrl ?? null });
  await controller.start();
  // A connection may wait for one wake attempt plus a minute for the app to start.
  const waitMs = durationSeconds(opts.cluster.spec.power.wakeTimeout) * 1000 + 60_000;
  const routes = gatewayRoutes(opts.cluster);
  const gateway = new WakeGateway(routes, {
    nodeAwake: (node) => controller.nodeAwake(node),
    nodeInfo: (node) => controller.nodeInfo(node),
    requestWake: (node, reason) => requestPower(kube, node, 'wake', 'gateway', reason, clock.now()),
    log,
    onConnection: (app, outcome, seconds) => {
      metrics.gatewayConnections.inc({ app, outcome });
      if (outcome === 'woken') metrics.gatewayWait.observe({ app }, seconds);
    },
    onInternalError: () => metrics.internalError('gateway'),
    onDemand: (_app, node) => controller.gatewayDemand(node),
    waitMs: () => waitMs,
    ...opts.gateway,
  });
  await gateway.start(host);
  controller.sessionSource = () => {
    const sessions = gateway.sessions();
    return routes.map((r) => ({ app: r.app, node: r.node, ...(sessions[r.app] ?? { open: 0 }) }));
  };
  return {
    controller,
    kube,
    url,
    gateway,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await controller.close();
      kube.close();
    },
  };
}
