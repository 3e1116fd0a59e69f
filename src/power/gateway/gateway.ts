// The wake-on-request gateway: for each app with `wakeOnRequest: true` the power manager listens on
// the app's gateway port on the control plane (always on) and forwards every TCP connection to the
// app's NodePort on its node. When that node sleeps, the connection is held open, a wake is
// requested (source "gateway"), and the bytes flow as soon as the app answers, so a user who opens
// the media server on a sleeping node waits for the boot instead of getting "connection refused".
// TCP, not HTTP: it works for browsers, TV apps and anything else the app speaks.
import net from 'node:net';
import type { Cluster } from '../../config/model.js';
import { gatewayPortOf } from '../../config/model.js';
import type { Logger } from '../controller/log.js';
import { tcpConnect } from '../drivers/probe.js';
import { errorMessage } from '../../errors.js';

export interface GatewayRoute {
  app: string;
  node: string;
  listenPort: number;
  target: { host: string; port: number };
}

/** One route per wake-on-request app, from the validated cluster file. */
export function gatewayRoutes(cluster: Cluster): GatewayRoute[] {
  const routes: GatewayRoute[] = [];
  for (const app of cluster.spec.apps) {
    const listenPort = gatewayPortOf(app);
    const node = cluster.spec.nodes.find((n) => n.name === app.node);
    if (listenPort === undefined || !node || app.nodePort === undefined) continue;
    routes.push({ app: app.name, node: node.name, listenPort, target: { host: node.address, port: app.nodePort } });
  }
  return routes;
}

export type GatewayOutcome = 'direct' | 'woken' | 'timeout' | 'client-gone';

export interface GatewayDeps {
  /** Whether the controller sees the node awake and Ready (a connection is tried either way). */
  nodeAwake(node: string): boolean;
  /** Asks the leading controller for a wake (a request annotation on the Node). */
  requestWake(node: string, reason: string): Promise<void>;
  log: Logger;
  onConnection?: (app: string, outcome: GatewayOutcome, waitedSeconds: number) => void;
  /** How long a connection may wait for its node and app (default 5 min). */
  waitMs?: (route: GatewayRoute) => number;
  /** Between connection attempts while waiting (default 1 s). */
  retryMs?: number;
  /** Per attempt (default 2 s: a sleeping host does not answer at all). */
  connectTimeoutMs?: number;
  /** A wake is asked for at most this often per node (default 30 s). */
  requestEveryMs?: number;
  now?: () => number;
}

export class WakeGateway {
  private readonly servers = new Map<string, net.Server>();
  private readonly sockets = new Set<net.Socket>();
  private readonly lastRequest = new Map<string, number>();
  private closed = false;
  private readonly now: () => number;

  constructor(
    readonly routes: readonly GatewayRoute[],
    private readonly deps: GatewayDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Listens on every route's port (on `host`); a port in use is logged and retried every 15 s. */
  async start(host: string): Promise<void> {
    await Promise.all(this.routes.map((r) => this.listen(r, host)));
  }

  private listen(route: GatewayRoute, host: string): Promise<void> {
    const server = net.createServer((socket) => void this.handle(route, socket));
    return new Promise((resolve) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.deps.log.error('wake gateway cannot listen; retrying in 15 s', { app: route.app, port: route.listenPort, error: err.message });
        const retry = setTimeout(() => {
          if (!this.closed) void this.listen(route, host);
        }, 15_000);
        retry.unref();
        resolve();
      });
      server.listen(route.listenPort, host, () => {
        if (this.closed) {
          server.close();
          return resolve();
        }
        this.servers.set(route.app, server);
        this.deps.log.info('wake gateway listening', { app: route.app, node: route.node, listen: `${host}:${this.port(route.app) ?? route.listenPort}`, target: `${route.target.host}:${route.target.port}` });
        resolve();
      });
    });
  }

  /** The port actually bound for an app (differs from the configured one only when that is 0). */
  port(app: string): number | undefined {
    const a = this.servers.get(app)?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  private maybeRequestWake(route: GatewayRoute): void {
    const last = this.lastRequest.get(route.node) ?? -Infinity;
    if (this.now() - last < (this.deps.requestEveryMs ?? 30_000)) return;
    this.lastRequest.set(route.node, this.now());
    this.deps.log.info('wake gateway: request for a sleeping node', { app: route.app, node: route.node });
    this.deps.requestWake(route.node, `a user of ${route.app} connected to the wake gateway`).catch((err: unknown) => {
      this.lastRequest.delete(route.node);
      this.deps.log.warn('wake gateway: wake request failed', { app: route.app, node: route.node, error: errorMessage(err) });
    });
  }

  private async handle(route: GatewayRoute, client: net.Socket): Promise<void> {
    this.sockets.add(client);
    // Read (and keep) what the client sends while it waits, so a client that gives up is noticed;
    // past 1 MiB stop reading and let TCP push back.
    const buffered: Buffer[] = [];
    let bufferedBytes = 0;
    const onData = (d: Buffer) => {
      buffered.push(d);
      bufferedBytes += d.length;
      if (bufferedBytes > 1 << 20) client.pause();
    };
    client.on('data', onData);
    let gone = false;
    client.on('error', () => undefined);
    client.once('close', () => {
      gone = true;
      this.sockets.delete(client);
    });
    const started = this.now();
    const deadline = started + (this.deps.waitMs?.(route) ?? 300_000);
    let waited = false;
    let upstream: net.Socket | undefined;
    for (;;) {
      if (!this.deps.nodeAwake(route.node)) this.maybeRequestWake(route);
      upstream = await tcpConnect(route.target.host, route.target.port, this.deps.connectTimeoutMs ?? 2_000);
      if (upstream || gone || this.closed) break;
      waited = true;
      if (this.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, this.deps.retryMs ?? 1_000));
      if (gone || this.closed) break;
    }
    const seconds = (this.now() - started) / 1000;
    if (!upstream || gone || this.closed) {
      upstream?.destroy();
      client.destroy();
      const outcome: GatewayOutcome = gone ? 'client-gone' : 'timeout';
      if (outcome === 'timeout') this.deps.log.warn('wake gateway: the app did not answer in time; connection closed', { app: route.app, node: route.node, waitedSeconds: seconds });
      this.deps.onConnection?.(route.app, outcome, seconds);
      return;
    }
    const up = upstream;
    this.sockets.add(up);
    up.once('close', () => {
      this.sockets.delete(up);
      client.destroy();
    });
    up.on('error', () => client.destroy());
    client.once('close', () => up.destroy());
    client.off('data', onData);
    for (const chunk of buffered) up.write(chunk);
    client.pipe(up);
    up.pipe(client);
    client.resume();
    if (waited) this.deps.log.info('wake gateway: connection forwarded after waiting', { app: route.app, node: route.node, waitedSeconds: seconds });
    this.deps.onConnection?.(route.app, waited ? 'woken' : 'direct', seconds);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
  }
}
