// The few HTTP calls a controller makes to the API server (JSON requests and line-delimited watch
// streams) on node:https with one keep-alive agent. Non-2xx answers become a KubeApiError that
// keeps the status code and the `message` of the Kubernetes Status body.
import http from 'node:http';
import https from 'node:https';
import type { KubeConnection } from './kubeconfig.js';

export type Query = Record<string, string | number | boolean | undefined>;

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string | undefined,
    readonly method: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default 30 s. */
  timeoutMs?: number;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

function withQuery(path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}${path.includes('?') ? '&' : '?'}${qs}` : path;
}

function statusError(status: number, text: string, method: string, path: string): KubeApiError {
  let message = `HTTP ${status}`;
  let reason: string | undefined;
  try {
    const body = JSON.parse(text) as { message?: unknown; reason?: unknown };
    if (typeof body.message === 'string' && body.message) message = body.message;
    if (typeof body.reason === 'string') reason = body.reason;
  } catch {
    if (text.trim()) message = `HTTP ${status}: ${text.trim().slice(0, 200)}`;
  }
  return new KubeApiError(status, message, reason, method, path);
}

export class KubeRest {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(readonly connection: KubeConnection) {
    this.base = new URL(connection.server);
    const tls = this.base.protocol === 'https:';
    this.agent = tls
      ? new https.Agent({ keepAlive: true, ca: connection.ca, cert: connection.cert, key: connection.key, rejectUnauthorized: !connection.insecureSkipTlsVerify })
      : new http.Agent({ keepAlive: true });
  }

  private async open(method: string, path: string, opts: { query?: Query | undefined; body?: string | undefined; contentType?: string | undefined; accept?: string }): Promise<http.ClientRequest> {
    const url = new URL(withQuery(`${this.base.pathname.replace(/\/$/, '')}${path}`, opts.query), this.base);
    const headers: http.OutgoingHttpHeaders = { accept: opts.accept ?? 'application/json', 'user-agent': 'vmstation-power-manager' };
    const auth = await this.connection.authorization();
    if (auth) headers['authorization'] = auth;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(opts.body);
    }
    const mod = url.protocol === 'https:' ? https : http;
    return mod.request(url, { method, headers, agent: this.agent });
  }

  /** One JSON request; resolves to the parsed body (undefined for an empty one). */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = await this.open(method, path, { query: opts.query, body, contentType: opts.contentType });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer within ${opts.timeoutMs ?? 30_000} ms`)), opts.timeoutMs ?? 30_000);
      const onAbort = () => req.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      // Aborted while the request was being prepared (credentials are async).
      if (opts.signal?.aborted) onAbort();
      const finish = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      req.on('error', (err) => {
        finish();
        reject(err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => {
          finish();
          reject(err);
        });
        res.on('end', () => {
          finish();
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return reject(statusError(status, text, method, path));
          try {
            resolve((text ? JSON.parse(text) : undefined) as T);
          } catch (err) {
            reject(new Error(`${method} ${path}: the answer is not JSON: ${(err as Error).message}`));
          }
        });
      });
      req.end(body);
    });
  }

  /**
   * Streams a watch: calls onEvent for each line, resolves when the server ends the stream (its
   * timeoutSeconds, a restart), rejects on a non-200 answer or a broken connection. Aborting the
   * signal ends it quietly.
   */
  async watch<T>(path: string, query: Query, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal, idleTimeoutMs = 330_000): Promise<void> {
    const req = await this.open('GET', path, { query: { ...query, watch: true } });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const onAbort = () => settle();
      req.on('error', (err) => settle(err));
      if (signal.aborted) return settle();
      signal.addEventListener('abort', onAbort, { once: true });
      // A watch that says nothing for longer than its own timeout is a dead connection.
      req.setTimeout(idleTimeoutMs, () => settle(new Error(`watch ${path}: no data for ${idleTimeoutMs} ms`)));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (status !== 200) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => settle(statusError(status, text, 'GET', path)));
          return;
        }
        let pending = '';
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line || settled) continue;
            let event: WatchEvent<T>;
            try {
              event = JSON.parse(line) as WatchEvent<T>;
            } catch {
              settle(new Error(`watch ${path}: a line is not JSON`));
              return;
            }
            onEvent(event);
          }
        });
        res.on('end', () => settle());
        res.on('error', (err) => settle(err));
        res.on('close', () => settle());
      });
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
