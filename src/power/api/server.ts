// The power manager's HTTP API: GET /status, POST /wake/{node}, POST /sleep/{node} (bearer token,
// rate-limited), GET /metrics and GET /healthz (open, for Prometheus and the kubelet), and the
// status page (GET /, src/power/ui/) when `ui` is given, drawing from the same rate limits.
// The token is never logged. Requests are logged as method, path, status and client: at debug
// level, except accepted wake and sleep requests (they change something), which are logged at info.
// No request can stop the process: the request target is parsed without throwing, and whatever a
// handler throws is answered with a 500, logged and counted (onInternalError).
import http from 'node:http';
import type { ControllerStatus } from '../controller/status.js';
import type { Logger } from '../controller/log.js';
import type { WakeSource } from '../core/types.js';
import type { HoldRequestBody } from './requests.js';
import { holdFromBody, readJson, releaseFromBody } from './hold-body.js';
import { bearerToken, RateLimiter, tokenMatches, type RateLimit } from './auth.js';
import { errorMessage } from '../../errors.js';
import { handleUi, isUiPath, type UiApp } from '../ui/routes.js';
import { UiSessions } from '../ui/sessions.js';

export interface PowerApiDeps {
  token: string;
  status(): ControllerStatus;
  /** Node names the API accepts. */
  nodes(): readonly string[];
  request(node: string, action: 'wake' | 'sleep', source: WakeSource, reason: string): Promise<void>;
  /** Takes a maintenance hold on every managed node (issue 13 section 4). */
  hold(hold: HoldRequestBody): Promise<void>;
  /** Releases the hold `id`, or every hold when undefined. */
  release(id: string | undefined): Promise<void>;
  metrics(): Promise<string>;
  healthy(): boolean;
  log: Logger;
  now?: () => number;
  /** Budget per client address for requests without the right token (401s and guesses). */
  rateLimit?: RateLimit;
  /** Budget per client address for requests with the right token: its own, so guessers behind the same address cannot use it up. */
  authenticatedRateLimit?: RateLimit;
  /** Called once for every failure a handler threw (after it is logged): the internal-errors metric. */
  onInternalError?: (err: unknown) => void;
  /** Serve the status page: the cluster's name and the apps it links to through their gateways. */
  ui?: { cluster: string; apps: readonly UiApp[] } | undefined;
}

/** Requests without the right token, per client address: guessing stays slow. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 2, burst: 10 };
/** Requests with the right token, per client address (a script polling /status every second fits). */
export const DEFAULT_AUTHENTICATED_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 30 };

/**
 * The path of a request target (RFC 9112 section 3.2): origin-form `/p?q` gives `/p` as sent (no
 * decoding, no dot-segment removal, so `//status` is not `/status`), absolute-form
 * `http://host/p?q` gives `/p`; anything else (asterisk-form, authority-form, an unparsable URL)
 * gives undefined. Never throws.
 */
export function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined;
  if (target.startsWith('/')) {
    const end = target.search(/[?#]/);
    return end < 0 ? target : target.slice(0, end);
  }
  if (!/^https?:\/\//i.test(target) || !URL.canParse(target)) return undefined;
  return new URL(target).pathname;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

const ACTION = /^\/(wake|sleep)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;

export function createPowerApi(deps: PowerApiDeps): http.Server {
  const guesses = new RateLimiter(deps.rateLimit ?? DEFAULT_RATE_LIMIT, deps.now);
  const authenticated = new RateLimiter(deps.authenticatedRateLimit ?? DEFAULT_AUTHENTICATED_RATE_LIMIT, deps.now);
  const uiSessions = new UiSessions(deps.now);
  const ui = deps.ui && {
    ...deps.ui,
    token: deps.token,
    status: deps.status,
    nodes: deps.nodes,
    request: deps.request,
    hold: deps.hold,
    release: deps.release,
    now: deps.now ?? Date.now,
    sessions: uiSessions,
    take: (client: string, known: boolean) => (known ? authenticated : guesses).take(client),
  };

  /** A handler threw: answer 500 (or cut the connection if the answer had started), log, count. Never throws. */
  function failed(res: http.ServerResponse, path: string | undefined, err: unknown): void {
    try {
      if (res.headersSent) res.destroy();
      else send(res, 500, { error: 'internal error' });
    } catch {
      res.destroy();
    }
    try {
      deps.log.error('http handler failed', { path, error: errorMessage(err) });
      deps.onInternalError?.(err);
    } catch {
      // Logging and counting are best effort here: the process must outlive the request.
    }
  }

  /** Answers one request; sets `outcome.changed` when it changed something (an accepted wake or sleep). */
  async function handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, client: string, outcome: { changed: boolean }): Promise<void> {
    if (req.method === 'GET' && path === '/healthz') {
      const healthy = deps.healthy();
      return send(res, healthy ? 200 : 503, healthy ? 'ok\n' : 'not synced\n');
    }
    if (req.method === 'GET' && path === '/metrics') return send(res, 200, await deps.metrics(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    if (ui && isUiPath(path)) return handleUi(req, res, path, client, ui, outcome);
    const action = ACTION.exec(path);
    const holdPath = path === '/hold' || path === '/release';
    if (path !== '/status' && !holdPath && !action && !/^\/(wake|sleep)\//.test(path)) return send(res, 404, { error: 'not found' });
    // The token is compared first (in constant time) so that a client with the right token draws
    // from its own budget: guessers sharing its address (a NAT) use up only theirs.
    const authorized = tokenMatches(deps.token, bearerToken(req.headers.authorization));
    const wait = (authorized ? authenticated : guesses).take(client);
    if (wait > 0) return send(res, 429, { error: 'too many requests' }, { 'retry-after': String(wait) });
    if (!authorized) return send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="vmstation-power"' });
    if (path === '/status') return req.method === 'GET' ? send(res, 200, deps.status()) : send(res, 405, { error: 'use GET' }, { allow: 'GET' });
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
    if (holdPath) return handleHold(req, res, path, client, outcome);
    if (!action) return send(res, 400, { error: 'not a node name' });
    const verb = action[1] as 'wake' | 'sleep';
    const node = action[2] as string;
    if (!deps.nodes().includes(node)) return send(res, 404, { error: `no node named ${node} in the cluster file` });
    await deps.request(node, verb, 'api', `${verb} requested through the HTTP API from ${client}`);
    outcome.changed = true;
    send(res, 202, { accepted: true, node, action: verb });
  }

  async function handleHold(req: http.IncomingMessage, res: http.ServerResponse, path: string, client: string, outcome: { changed: boolean }): Promise<void> {
    const body = await readJson(req);
    if (typeof body === 'string') return send(res, 400, { error: body });
    if (path === '/release') {
      const release = releaseFromBody(body);
      if (typeof release === 'string') return send(res, 400, { error: release });
      await deps.release(release.id);
      outcome.changed = true;
      return send(res, 200, { released: release.id ?? 'all' });
    }
    const hold = holdFromBody(body, (deps.now ?? Date.now)());
    if (typeof hold === 'string') return send(res, 400, { error: hold });
    await deps.hold({ ...hold, reason: `${hold.reason} (from ${client})` });
    outcome.changed = true;
    send(res, 202, { held: true, id: hold.id, until: new Date(hold.until).toISOString() });
  }

  const server = http.createServer((req, res) => {
    let path: string | undefined;
    try {
      const client = req.socket.remoteAddress ?? 'unknown';
      path = requestPath(req.url);
      const outcome = { changed: false };
      res.on('finish', () => (outcome.changed ? deps.log.info : deps.log.debug)('http', { method: req.method, path: path ?? req.url, status: res.statusCode, client }));
      if (path === undefined) return send(res, 400, { error: 'the request target must be a path (/status) or an http URL' });
      const known = path;
      handle(req, res, known, client, outcome).catch((err: unknown) => failed(res, known, err));
    } catch (err) {
      failed(res, path, err);
    }
  });
  // Once listening, an 'error' (EMFILE on accept, ...) concerns one connection: log and count it
  // rather than let an unhandled 'error' event stop the process. Listen errors stay the caller's.
  server.once('listening', () =>
    server.on('error', (err) => {
      deps.log.error('http server error', { error: errorMessage(err) });
      deps.onInternalError?.(err);
    }),
  );
  return server;
}
