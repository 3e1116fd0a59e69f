// What the wake gateway answers itself, while the app does not, to a connection whose first bytes
// are an HTTP request: an ignored User-Agent gets a quick 503 (and wakes nothing), the waiting
// page's poll gets the wait's status, a browser asking for a page gets the waiting page. Anything
// else (an API client, a TV app, a POST) gets nothing here and is held as before. The choice is
// pure (answerFromGateway); sendAndHangUp writes it.
import type net from 'node:net';
import type { PowerState } from '../core/types.js';
import { wantsHtml, type HttpHead } from './http-sniff.js';
import { httpResponse, STATUS_PATH, WAITING_PAGE_CSP, waitingPageHtml, waitStatusJson, type WaitStage, type WaitStatus } from './waiting-page.js';
import type { GatewayOutcome, GatewayRoute } from './gateway.js';

export interface NodeInfo {
  state: PowerState;
  lastWakeLatencySeconds?: number | undefined;
}

/** One wait of an app's users, from the first waiting page to the app answering. */
export interface WaitTracker {
  startedAt: number;
  /** The last page or poll served: a wait nobody watched for a while starts afresh. */
  seenAt: number;
}

/** A wait not polled for this long is over (the people left); the next visitor starts a new one. */
export const WAIT_FORGOTTEN_AFTER_MS = 60_000;

export interface GatewayView {
  now: number;
  /** The controller sees the node awake and Ready. */
  awake: boolean;
  info: NodeInfo | undefined;
  /** How long a connection may wait (wakeTimeout + a minute). */
  waitMs: number;
}

export function waitStage(view: GatewayView, waitedMs: number): WaitStage {
  if (view.info?.state === 'failed') return 'failed';
  if (waitedMs > view.waitMs) return 'timeout';
  if (view.awake) return 'starting';
  return view.info?.state === 'waking' ? 'booting' : 'waking';
}

export function waitStatus(route: GatewayRoute, tracker: WaitTracker, view: GatewayView): WaitStatus {
  if (view.now - tracker.seenAt > WAIT_FORGOTTEN_AFTER_MS) tracker.startedAt = view.now;
  tracker.seenAt = view.now;
  const waitedMs = view.now - tracker.startedAt;
  return {
    app: route.app,
    node: route.node,
    stage: waitStage(view, waitedMs),
    waitedSeconds: Math.round(waitedMs / 1000),
    expectedBootSeconds: view.info?.lastWakeLatencySeconds,
    timeoutSeconds: Math.round(view.waitMs / 1000),
  };
}

const HTML = 'text/html; charset=utf-8';

export function answerFromGateway(
  route: GatewayRoute,
  head: HttpHead,
  tracker: () => WaitTracker,
  view: GatewayView,
  ignoredAgent: ((ua: string | undefined) => boolean) | undefined,
): { outcome: GatewayOutcome; response: Buffer } | undefined {
  const headOnly = head.method === 'HEAD';
  if (ignoredAgent?.(head.headers['user-agent'])) {
    return { outcome: 'ignored', response: httpResponse(503, 'Service Unavailable', 'text/plain; charset=utf-8', `${route.app} is asleep; this client is not allowed to wake it.\n`, { 'retry-after': '300' }, headOnly) };
  }
  if (!route.waitingPage) return undefined;
  const path = head.target.split('?')[0];
  if (head.method === 'GET' && path === STATUS_PATH) {
    return { outcome: 'wait-status', response: httpResponse(503, 'Service Unavailable', 'application/json', waitStatusJson(waitStatus(route, tracker(), view)), { 'retry-after': '1' }) };
  }
  if (!wantsHtml(head)) return undefined;
  const html = waitingPageHtml(waitStatus(route, tracker(), view));
  return {
    outcome: 'waiting-page',
    response: httpResponse(503, 'Service Unavailable', HTML, html, { 'retry-after': '5', 'content-security-policy': WAITING_PAGE_CSP, 'x-frame-options': 'DENY' }, headOnly),
  };
}

/** Writes the answer and hangs up; what the client still sends is read and dropped, and a client that does not close is cut after 5 s. */
export function sendAndHangUp(client: net.Socket, response: Buffer): void {
  client.end(response);
  client.resume();
  const cut = setTimeout(() => client.destroy(), 5_000);
  cut.unref();
  client.once('close', () => clearTimeout(cut));
}
