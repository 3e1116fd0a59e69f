// The power manager's HTTP API: GET /status, POST /wake/{node}, POST /sleep/{node} (bearer token,
// rate-limited), GET /metrics and GET /healthz (open, for Prometheus and the kubelet).
// The token is never logged; requests are logged as method, path, status and client.
import http from 'node:http';
import type { ControllerStatus } from '../controller/status.js';
import type { Logger } from '../controller/log.js';
import type { WakeSource } from '../core/types.js';
import { bearerToken, RateLimiter, tokenMatches, type RateLimit } from './auth.js';
import { errorMessage } from '../../errors.js';

export interface PowerApiDeps {
  token: string;
  status(): ControllerStatus;
  /** Node names the API accepts. */
  nodes(): readonly string[];
  request(node: string, action: 'wake' | 'sleep', source: WakeSource, reason: string): Promise<void>;
  metrics(): Promise<string>;
  healthy(): boolean;
  log: Logger;
  now?: () => number;
  rateLimit?: RateLimit;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 2, burst: 10 };

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function createPowerApi(deps: PowerApiDeps): http.Server {
  const limiter = new RateLimiter(deps.rateLimit ?? DEFAULT_RATE_LIMIT, deps.now);
  const server = http.createServer((req, res) => {
    const client = req.socket.remoteAddress ?? 'unknown';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    res.on('finish', () => deps.log.info('http', { method: req.method, path, status: res.statusCode, client }));
    void handle().catch((err: unknown) => {
      deps.log.error('http handler failed', { path, error: errorMessage(err) });
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });

    async function handle(): Promise<void> {
      if (req.method === 'GET' && path === '/healthz') return send(res, deps.healthy() ? 200 : 503, deps.healthy() ? 'ok\n' : 'not synced\n');
      if (req.method === 'GET' && path === '/metrics') return send(res, 200, await deps.metrics(), { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      const action = /^\/(wake|sleep)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/.exec(path);
      const known = path === '/status' || action || /^\/(wake|sleep)\//.test(path);
      if (!known) return send(res, 404, { error: 'not found' });
      // Rate-limit before checking the token, so guessing is slow too.
      const wait = limiter.take(client);
      if (wait > 0) return send(res, 429, { error: 'too many requests' }, { 'retry-after': String(wait) });
      if (!tokenMatches(deps.token, bearerToken(req.headers.authorization))) return send(res, 401, { error: 'missing or wrong bearer token' }, { 'www-authenticate': 'Bearer realm="vmstation-power"' });
      if (path === '/status') {
        if (req.method !== 'GET') return send(res, 405, { error: 'use GET' }, { allow: 'GET' });
        return send(res, 200, deps.status());
      }
      if (req.method !== 'POST') return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      if (!action) return send(res, 400, { error: 'not a node name' });
      const [, verb, node] = action as unknown as [string, 'wake' | 'sleep', string];
      if (!deps.nodes().includes(node)) return send(res, 404, { error: `no node named ${node} in the cluster file` });
      await deps.request(node, verb, 'api', `${verb} requested through the HTTP API from ${client}`);
      return send(res, 202, { accepted: true, node, action: verb });
    }
  });
  return server;
}
