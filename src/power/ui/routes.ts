// The status page's routes on the API port: GET / (login or status page), POST /login, POST
// /logout, GET /ui/status, POST /ui/wake|sleep/NODE, POST /ui/hold and /ui/release (the
// maintenance hold, JSON bodies read as the API's POST /hold and /release are). Every request draws from the API's rate limit
// (the same buckets: a logged-in browser from the authenticated one, anything else from the
// guessers'). Every POST needs the CSRF token (the login form's is a double-submit cookie, the
// session's is in the page) and is refused when the browser says it comes from another site.
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { tokenMatches } from '../api/auth.js';
import type { ControllerStatus } from '../controller/status.js';
import type { WakeSource } from '../core/types.js';
import { pageHoldFromBody, readJson, releaseFromBody } from '../api/hold-body.js';
import type { HoldRequestBody } from '../api/requests.js';
import { loginPageHtml, SECURITY_HEADERS, statusPageHtml } from './page.js';
import { csrfMatches, LOGIN_COOKIE, parseCookies, SESSION_COOKIE, SESSION_IDLE_MS, sessionCookie, type UiSession, type UiSessions } from './sessions.js';

export interface UiApp {
  name: string;
  node: string;
  gatewayPort: number;
}

export interface UiDeps {
  cluster: string;
  token: string;
  status(): ControllerStatus;
  nodes(): readonly string[];
  apps: readonly UiApp[];
  request(node: string, action: 'wake' | 'sleep', source: WakeSource, reason: string): Promise<void>;
  /** Takes a maintenance hold on every managed node, as POST /hold does. */
  hold(hold: HoldRequestBody): Promise<void>;
  /** Releases the hold `id` (every hold when undefined), as POST /release does. */
  release(id: string | undefined): Promise<void>;
  now(): number;
  sessions: UiSessions;
  /** Takes one request from the API's rate limit; returns the seconds to wait (0: go on). */
  take(client: string, authenticated: boolean): number;
}

const UI_ACTION = /^\/ui\/(wake|sleep)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;
const MAX_FORM_BYTES = 4096;

export function isUiPath(path: string): boolean {
  return path === '/' || path === '/login' || path === '/logout' || path === '/ui/status' || path.startsWith('/ui/');
}

function send(res: http.ServerResponse, status: number, body: string, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...headers });
  res.end(body);
}
const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => send(res, status, `${JSON.stringify(body)}\n`, 'application/json', headers);
const html = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => send(res, status, body, 'text/html; charset=utf-8', headers);

/** A POST the browser marks as coming from another site (Fetch Metadata, Origin) is refused whatever it carries. */
function crossSite(req: http.IncomingMessage): boolean {
  // Fetch Metadata decides when the browser sends it (every current one does); else the Origin.
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  return !URL.canParse(origin) || new URL(origin).host !== req.headers.host;
}

/** The urlencoded body of a small form; undefined when too big, not a form, or not complete within 10 s. */
function readForm(req: http.IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => finish(undefined), 10_000);
    function finish(v: URLSearchParams | undefined) {
      clearTimeout(timer);
      req.removeAllListeners('data');
      resolve(v);
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES) return finish(undefined);
      chunks.push(c);
    });
    req.once('end', () => finish(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.once('error', () => finish(undefined));
  });
}

function loginPage(res: http.ServerResponse, deps: UiDeps, status: number, error?: string): void {
  const csrf = randomBytes(24).toString('base64url');
  html(res, status, loginPageHtml(deps.cluster, csrf, error), { 'set-cookie': sessionCookie(LOGIN_COOKIE, csrf, 3600) });
}

async function login(req: http.IncomingMessage, res: http.ServerResponse, deps: UiDeps): Promise<void> {
  const form = await readForm(req);
  const cookieCsrf = parseCookies(req.headers.cookie)[LOGIN_COOKIE];
  if (!form || cookieCsrf === undefined || !tokenMatches(cookieCsrf, form.get('csrf') ?? undefined)) return loginPage(res, deps, 403, 'The login form expired; try again.');
  if (!tokenMatches(deps.token, form.get('token') ?? undefined)) return loginPage(res, deps, 401, 'Wrong token.');
  const s = deps.sessions.create();
  res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': [sessionCookie(SESSION_COOKIE, s.id, SESSION_IDLE_MS / 1000), sessionCookie(LOGIN_COOKIE, '', 0)] });
  res.end();
}

/** POST /ui/hold {"for", "reason"} or /ui/release {"id"?}: the CSRF token is checked before. */
async function holdAction(req: http.IncomingMessage, res: http.ServerResponse, path: string, client: string, deps: UiDeps, outcome: { changed: boolean }): Promise<void> {
  const body = await readJson(req);
  if (typeof body === 'string') return json(res, 400, { error: body });
  if (path === '/ui/release') {
    const release = releaseFromBody(body);
    if (typeof release === 'string') return json(res, 400, { error: release });
    await deps.release(release.id);
    outcome.changed = true;
    return json(res, 200, { released: release.id ?? 'all' });
  }
  const hold = pageHoldFromBody(body, deps.now());
  if (typeof hold === 'string') return json(res, 400, { error: hold });
  // The reason people read on the page and in `power status`, with where it came from (as POST /hold).
  await deps.hold({ ...hold, reason: `${hold.reason} (from the status page, ${client})` });
  outcome.changed = true;
  json(res, 202, { held: true, id: hold.id, until: new Date(hold.until).toISOString() });
}

async function action(session: UiSession, req: http.IncomingMessage, res: http.ServerResponse, path: string, client: string, deps: UiDeps, outcome: { changed: boolean }): Promise<void> {
  const holdPath = path === '/ui/hold' || path === '/ui/release';
  const m = UI_ACTION.exec(path);
  if (!m && !holdPath) return json(res, 404, { error: 'not found' });
  if (!csrfMatches(session, req.headers['x-csrf-token'] as string | undefined)) return json(res, 403, { error: 'missing or wrong CSRF token' });
  if (!m) return holdAction(req, res, path, client, deps, outcome);
  const verb = m[1] as 'wake' | 'sleep';
  const node = m[2] as string;
  if (!deps.nodes().includes(node)) return json(res, 404, { error: `no node named ${node} in the cluster file` });
  await deps.request(node, verb, 'api', `${verb} requested on the status page from ${client}`);
  outcome.changed = true;
  json(res, 202, { accepted: true, node, action: verb });
}

/** Answers a status-page request (isUiPath(path) is true). */
export async function handleUi(req: http.IncomingMessage, res: http.ServerResponse, path: string, client: string, deps: UiDeps, outcome: { changed: boolean }): Promise<void> {
  const sessionId = parseCookies(req.headers.cookie)[SESSION_COOKIE];
  const session = deps.sessions.get(sessionId);
  const wait = deps.take(client, session !== undefined);
  if (wait > 0) return json(res, 429, { error: 'too many requests' }, { 'retry-after': String(wait) });
  const post = req.method === 'POST';
  if (!post && req.method !== 'GET') return json(res, 405, { error: 'use GET or POST' }, { allow: 'GET, POST' });
  if (post && crossSite(req)) return json(res, 403, { error: 'cross-site request refused' });
  if (path === '/') return post ? json(res, 405, { error: 'use GET' }, { allow: 'GET' }) : session ? html(res, 200, statusPageHtml(deps.cluster, session.csrf)) : loginPage(res, deps, 200);
  if (path === '/login') return post ? login(req, res, deps) : json(res, 405, { error: 'use POST' }, { allow: 'POST' });
  if (!session) return json(res, 401, { error: 'log in first' });
  if (path === '/logout') {
    if (!post) return json(res, 405, { error: 'use POST' }, { allow: 'POST' });
    if (!csrfMatches(session, req.headers['x-csrf-token'] as string | undefined)) return json(res, 403, { error: 'missing or wrong CSRF token' });
    deps.sessions.end(session.id);
    return json(res, 200, { loggedOut: true }, { 'set-cookie': sessionCookie(SESSION_COOKIE, '', 0) });
  }
  if (path === '/ui/status') return post ? json(res, 405, { error: 'use GET' }, { allow: 'GET' }) : json(res, 200, { status: deps.status(), apps: deps.apps });
  if (!post) return json(res, 405, { error: 'use POST' }, { allow: 'POST' });
  return action(session, req, res, path, client, deps, outcome);
}
