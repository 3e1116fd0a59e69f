// The wake-on-request gateway: for each app with `wakeOnRequest: true` the power manager listens on
// the app's gateway port on the control plane (always on) and forwards every TCP connection to the
// app's NodePort on its node. When that node sleeps, the connection is held open, a wake is
// requested (source "gateway"), and the bytes flow as soon as the app answers, so a user who opens
// the media server on a sleeping node waits for the boot instead of getting "connection refused".
// TCP, not HTTP: it works for browsers, TV apps and anything else the app speaks. While the app
// does not answer, a connection whose first bytes are a browser's request for a page gets the
// waiting page at once (waiting-page.ts), and a User-Agent the app ignores gets a quick 503 and wakes
// nothing. A forwarded connection is a session: open sessions and their last byte keep the node
// awake (sessions(), fed to decide()).
//
// Its memory is bounded whatever clients do: a held connection keeps at most the wait buffer (see
// held-client.ts), and connections beyond the caps per app and in all are refused with a TCP reset.
// A failure in one connection or listener is logged and counted (onInternalError), never thrown.
import net from 'node:net';
import type { Cluster } from '../../config/model.js';
import { gatewayPortOf } from '../../config/model.js';
import type { Logger } from '../controller/log.js';
import { tcpConnect } from '../drivers/probe.js';
import { errorMessage } from '../../errors.js';
import { HeldClient, type HoldLimits } from './held-client.js';
import { HeadReader, MAX_HEAD_BYTES, userAgentMatcher, type Sniffed } from './http-sniff.js';
import { SessionCounter, type AppSessions } from './sessions.js';
import { answerFromGateway, sendAndHangUp, type NodeInfo, type WaitTracker } from './browser.js';

export interface GatewayRoute {
  app: string;
  node: string;
  listenPort: number;
  target: { host: string; port: number };
  /** Browsers get the waiting page while the app does not answer (default false). */
  waitingPage?: boolean | undefined;
  /** User-Agents (regular expressions) that get a quick 503 and never wake the node. */
  ignoreUserAgents?: readonly string[] | undefined;
}

export type { AppSessions } from './sessions.js';

/** One route per wake-on-request app, from the validated cluster file. */
export function gatewayRoutes(cluster: Cluster): GatewayRoute[] {
  const routes: GatewayRoute[] = [];
  for (const app of cluster.spec.apps) {
    const listenPort = gatewayPortOf(app);
    const node = cluster.spec.nodes.find((n) => n.name === app.node);
    if (listenPort === undefined || !node || app.nodePort === undefined) continue;
    routes.push({ app: app.name, node: node.name, listenPort, target: { host: node.address, port: app.nodePort }, waitingPage: app.waitingPage, ignoreUserAgents: app.ignoreUserAgents });
  }
  return routes;
}

/**
 * direct: the app answered at once; woken: it answered after a wait; timeout: it never did;
 * client-gone: the client left while waiting; waiting-page: a browser got the waiting page;
 * wait-status: the waiting page polled; ignored: an ignored User-Agent got a 503; overflow: the client sent more than the wait buffer
 * and was still there after the grace period (cut); refused: over a connection cap (reset).
 */
export type GatewayOutcome = 'direct' | 'woken' | 'timeout' | 'client-gone' | 'overflow' | 'refused' | 'waiting-page' | 'wait-status' | 'ignored';

export interface GatewayLimits extends HoldLimits {
  maxConnectionsPerApp: number;
  maxConnections: number;
  /** A connection that has sent nothing asks for a wake only after this long (see WAKE_AFTER_SILENT_MS). */
  wakeAfterSilentMs: number;
}

/**
 * A port scanner that completes the handshake (nmap -sT, masscan with banners) closes within
 * milliseconds without sending anything, and must not wake a node. A real client either sends at
 * once (HTTP, TLS: a wake is asked for on the first byte) or, in protocols where the server
 * speaks first (SSH, SMTP, VNC), waits for the greeting: it is still there after 2 s, a delay
 * small next to any boot (suspend-to-RAM resumes in about 5 s).
 */
export const WAKE_AFTER_SILENT_MS = 2_000;

/**
 * The defaults (docs/power.md, "Wake gateway"). With them the gateway holds at most
 * maxConnections x (64 KiB kept + the read that crossed it + a paused socket's read-ahead), about
 * 96 MiB, plus the read buffers it drops while reading overflowed clients to their end until V8
 * collects them (about 64 MiB): under 160 MiB next to a 512Mi pod limit. A browser's request (a
 * few KiB) and uploads to a node that answers within the 10 s grace (suspend-to-RAM resumes in about
 * 5 s) are forwarded intact.
 */
export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  waitBufferBytes: 64 * 1024,
  pausedGraceMs: 10_000,
  drainIdleMs: 5_000,
  drainMaxMs: 60_000,
  maxConnectionsPerApp: 256,
  maxConnections: 512,
  wakeAfterSilentMs: WAKE_AFTER_SILENT_MS,
};

export interface GatewayDeps {
  /** Whether the controller sees the node awake and Ready (a connection is tried either way). */
  nodeAwake(node: string): boolean;
  /** Asks the leading controller for a wake (a request annotation on the Node). */
  requestWake(node: string, reason: string): Promise<void>;
  /** The node's power state and last wake latency, for the waiting page (default: unknown). */
  nodeInfo?: (node: string) => NodeInfo | undefined;
  log: Logger;
  onConnection?: (app: string, outcome: GatewayOutcome, waitedSeconds: number) => void;
  /** A user of the app (it sent something or stayed; not a port scan nor an ignored User-Agent): demand for its node. */
  onDemand?: (app: string, node: string) => void;
  /** A connection or a listener failed unexpectedly (logged already): the internal-errors metric. */
  onInternalError?: (err: unknown) => void;
  /** How long a connection may wait for its node and app (default 5 min). */
  waitMs?: (route: GatewayRoute) => number;
  /** Between connection attempts while waiting (default 1 s). */
  retryMs?: number;
  /** Per attempt (default 2 s: a sleeping host does not answer at all). */
  connectTimeoutMs?: number;
  /** A wake is asked for at most this often per node (default 30 s). */
  requestEveryMs?: number;
  limits?: Partial<GatewayLimits>;
  now?: () => number;
}

/** The gateway reads the request head of this app's connections while the app does not answer. */
function knowsBrowsers(route: GatewayRoute): boolean {
  return route.waitingPage === true || (route.ignoreUserAgents?.length ?? 0) > 0;
}

/** Refusals are logged at most this often per app (each one is counted in the metric). */
const REFUSAL_LOG_EVERY_MS = 60_000;

export class WakeGateway {
  private readonly servers = new Map<string, net.Server>();
  private readonly sockets = new Set<net.Socket>();
  private readonly held = new Set<HeldClient>();
  private readonly lastRequest = new Map<string, number>();
  private readonly openPerApp = new Map<string, number>();
  private openTotal = 0;
  private readonly refusals = new Map<string, { loggedAt: number; since: number }>();
  private closed = false;
  private readonly sessionCounter: SessionCounter;
  private readonly waits = new Map<string, WaitTracker>();
  private readonly ignoredAgent = new Map<string, (ua: string | undefined) => boolean>();
  private readonly now: () => number;
  readonly limits: GatewayLimits;

  constructor(
    readonly routes: readonly GatewayRoute[],
    private readonly deps: GatewayDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.limits = { ...DEFAULT_GATEWAY_LIMITS, ...deps.limits };
    this.sessionCounter = new SessionCounter(this.now);
    for (const r of routes) this.ignoredAgent.set(r.app, userAgentMatcher(r.ignoreUserAgents ?? []));
  }

  /** Per app: sessions open now and the last byte through them (the controller feeds decide() with it). */
  sessions(): Record<string, AppSessions> {
    return this.sessionCounter.snapshot(this.routes.map((r) => r.app));
  }

  /** Listens on every route's port (on `host`); a port in use is logged and retried every 15 s. */
  async start(host: string): Promise<void> {
    await Promise.all(this.routes.map((r) => this.listen(r, host)));
  }

  private listen(route: GatewayRoute, host: string): Promise<void> {
    const server = net.createServer((socket) => this.accept(route, socket));
    return new Promise((resolve) => {
      const onListenError = (err: NodeJS.ErrnoException) => {
        this.deps.log.error('wake gateway cannot listen; retrying in 15 s', { app: route.app, port: route.listenPort, error: err.message });
        const retry = setTimeout(() => {
          if (!this.closed) void this.listen(route, host);
        }, 15_000);
        retry.unref();
        resolve();
      };
      server.once('error', onListenError);
      server.listen(route.listenPort, host, () => {
        server.off('error', onListenError);
        // Once listening, an error (EMFILE on accept, ...) concerns one connection: log and count it.
        server.on('error', (err) => this.internalError(route, err));
        if (this.closed) {
          server.close();
          return resolve();
        }
        this.servers.set(route.app, server);
        this.deps.log.info('wake gateway listening', { app: route.app, node: route.node, listen: `${host}:${this.port(route.app) ?? route.listenPort}`, target: `${route.target.host}:${route.target.port}`, maxConnections: this.limits.maxConnectionsPerApp });
        resolve();
      });
    });
  }

  /** The port actually bound for an app (differs from the configured one only when that is 0). */
  port(app: string): number | undefined {
    const a = this.servers.get(app)?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Connections open now, per app and in all (tests, and the caps). */
  openConnections(app?: string): number {
    return app === undefined ? this.openTotal : (this.openPerApp.get(app) ?? 0);
  }

  /** Bytes held now for connections waiting for their app (tests: the wait buffer's cap). */
  heldBytes(): number {
    let total = 0;
    for (const h of this.held) total += h.heldBytes;
    return total;
  }

  private internalError(route: GatewayRoute, err: unknown): void {
    try {
      this.deps.log.error('wake gateway: connection failed', { app: route.app, error: errorMessage(err) });
      this.deps.onInternalError?.(err);
    } catch {
      // Best effort: the gateway must outlive its own reporting.
    }
  }

  /** Reports an outcome; a failing reporter (metrics) is an internal error, not the connection's. */
  private report(route: GatewayRoute, outcome: GatewayOutcome, seconds: number): void {
    this.tell(route, () => this.deps.onConnection?.(route.app, outcome, seconds));
  }

  private tell(route: GatewayRoute, f: () => void): void {
    try {
      f();
    } catch (err) {
      this.internalError(route, err);
    }
  }

  private accept(route: GatewayRoute, socket: net.Socket): void {
    try {
      socket.on('error', () => undefined);
      const open = this.openPerApp.get(route.app) ?? 0;
      if (this.closed || open >= this.limits.maxConnectionsPerApp || this.openTotal >= this.limits.maxConnections) return this.refuse(route, socket);
      this.openPerApp.set(route.app, open + 1);
      this.openTotal += 1;
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.openPerApp.set(route.app, (this.openPerApp.get(route.app) ?? 1) - 1);
        this.openTotal -= 1;
      });
      this.handle(route, socket).catch((err: unknown) => {
        socket.destroy();
        this.internalError(route, err);
      });
    } catch (err) {
      socket.destroy();
      this.internalError(route, err);
    }
  }

  /** Over a cap: the client gets a TCP reset at once ("connection reset by peer"), not a hang. */
  private refuse(route: GatewayRoute, socket: net.Socket): void {
    socket.resetAndDestroy();
    this.report(route, 'refused', 0);
    const r = this.refusals.get(route.app) ?? { loggedAt: -Infinity, since: 0 };
    r.since += 1;
    if (this.now() - r.loggedAt >= REFUSAL_LOG_EVERY_MS) {
      this.deps.log.warn('wake gateway: connection refused (reset), too many open', {
        app: route.app,
        refusedSinceLastLog: r.since,
        openForApp: this.openPerApp.get(route.app) ?? 0,
        open: this.openTotal,
        maxConnectionsPerApp: this.limits.maxConnectionsPerApp,
        maxConnections: this.limits.maxConnections,
      });
      r.loggedAt = this.now();
      r.since = 0;
    }
    this.refusals.set(route.app, r);
  }

  private maybeRequestWake(route: GatewayRoute): void {
    if (this.deps.nodeAwake(route.node)) return;
    const last = this.lastRequest.get(route.node) ?? -Infinity;
    if (this.now() - last < (this.deps.requestEveryMs ?? 30_000)) return;
    this.lastRequest.set(route.node, this.now());
    this.deps.log.info('wake gateway: request for a sleeping node', { app: route.app, node: route.node });
    this.deps.requestWake(route.node, `a user of ${route.app} connected to the wake gateway`).catch((err: unknown) => {
      this.lastRequest.delete(route.node);
      this.deps.log.warn('wake gateway: wake request failed', { app: route.app, node: route.node, error: errorMessage(err) });
    });
  }

  /** A request from an ignored User-Agent: it never wakes the node. */
  private ignored(route: GatewayRoute, s: Sniffed): boolean {
    return s.kind === 'http' && this.ignoredAgent.get(route.app)?.(s.head.headers['user-agent']) === true;
  }

  private waitMs(route: GatewayRoute): number {
    return this.deps.waitMs?.(route) ?? 300_000;
  }

  private async handle(route: GatewayRoute, client: net.Socket): Promise<void> {
    // A wake is asked for once the client sends something or stays (a port scan does neither),
    // unless its request head shows an ignored User-Agent.
    let wants = false;
    const wantWake = () => {
      if (wants) return;
      wants = true;
      this.tell(route, () => this.deps.onDemand?.(route.app, route.node));
      this.maybeRequestWake(route);
    };
    const browserAware = knowsBrowsers(route);
    const reader = new HeadReader((s) => (this.ignored(route, s) ? undefined : wantWake()));
    const held: HeldClient = new HeldClient(client, this.limits, () => (browserAware ? reader.update(held.peek(MAX_HEAD_BYTES)) : wantWake()));
    this.held.add(held);
    const silent = setTimeout(wantWake, this.limits.wakeAfterSilentMs);
    const started = this.now();
    const deadline = started + this.waitMs(route);
    let waited = false;
    let upstream: net.Socket | undefined;
    try {
      if (browserAware) {
        const first = await this.answerOrConnect(route, client, held, reader);
        if (first === 'answered') return;
        upstream = first;
      }
      for (;;) {
        if (upstream) break;
        if (wants) this.maybeRequestWake(route);
        upstream = await tcpConnect(route.target.host, route.target.port, this.deps.connectTimeoutMs ?? 2_000);
        if (upstream || held.done || this.closed) break;
        waited = true;
        if (this.now() >= deadline) break;
        await held.waitOrEnd(this.deps.retryMs ?? 1_000);
        if (held.done || this.closed) break;
      }
    } finally {
      clearTimeout(silent);
      this.held.delete(held);
    }
    const seconds = (this.now() - started) / 1000;
    if (upstream && held.forwardable && !this.closed) return this.forward(route, client, upstream, held.release(), waited, seconds);
    upstream?.destroy();
    if (!held.done) {
      if (upstream && !this.closed) held.cut(); // the app answered, but what the client sent was dropped
      else client.destroy();
    }
    const outcome: GatewayOutcome = held.done ? await held.ended : 'timeout';
    if (outcome === 'timeout') this.deps.log.warn('wake gateway: the app did not answer in time; connection closed', { app: route.app, node: route.node, waitedSeconds: seconds });
    this.report(route, outcome, seconds);
  }

  /**
   * Apps that know browsers: the app is tried at once when its node is awake (forwarded without
   * reading anything first); otherwise the request head is read and, when it is one the gateway
   * answers itself (waiting page, its poll, an ignored User-Agent), answered and the client let go.
   */
  private async answerOrConnect(route: GatewayRoute, client: net.Socket, held: HeldClient, reader: HeadReader): Promise<net.Socket | 'answered' | undefined> {
    if (this.deps.nodeAwake(route.node)) {
      const up = await tcpConnect(route.target.host, route.target.port, this.deps.connectTimeoutMs ?? 2_000);
      if (up) return up;
    }
    if (held.done) return undefined;
    const s = await reader.wait(this.limits.wakeAfterSilentMs, held.ended);
    if (s?.kind !== 'http' || !held.forwardable || this.closed) return undefined;
    const answer = answerFromGateway(route, s.head, () => this.waitTracker(route), this.gatewayView(route), this.ignoredAgent.get(route.app));
    if (!answer) return undefined;
    held.release();
    sendAndHangUp(client, answer.response);
    this.report(route, answer.outcome, 0);
    return 'answered';
  }

  private waitTracker(route: GatewayRoute): WaitTracker {
    let w = this.waits.get(route.app);
    if (!w) this.waits.set(route.app, (w = { startedAt: this.now(), seenAt: this.now() }));
    return w;
  }

  private gatewayView(route: GatewayRoute) {
    return { now: this.now(), awake: this.deps.nodeAwake(route.node), info: this.deps.nodeInfo?.(route.node), waitMs: this.waitMs(route) };
  }

  private forward(route: GatewayRoute, client: net.Socket, up: net.Socket, first: Buffer[], waited: boolean, seconds: number): void {
    this.sessionCounter.track(route.app, client, up);
    this.waits.delete(route.app); // the app answered: the next wait starts afresh
    this.sockets.add(up);
    up.once('close', () => {
      this.sockets.delete(up);
      client.destroy();
    });
    up.on('error', () => client.destroy());
    client.once('close', () => up.destroy());
    for (const chunk of first) up.write(chunk);
    client.pipe(up);
    up.pipe(client);
    client.resume();
    if (waited) this.deps.log.info('wake gateway: connection forwarded after waiting', { app: route.app, node: route.node, waitedSeconds: seconds });
    this.report(route, waited ? 'woken' : 'direct', seconds);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
  }
}
