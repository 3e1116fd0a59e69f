// Sessions through the wake gateway as activity (issue 14 section 3). A connection the gateway
// forwards to an app keeps the app's node awake while it is open, even with no byte for hours (a
// paused film); after the last one closes the node stays awake `sessionIdleAfter` from the last
// byte, and its idle time (idleAfter) counts from that byte. Gateway sessions are not reported as
// `active` (which would restart idle time at every round): they are a gate of their own, and a
// start of the idle period.
import type { AppPolicy, GatewaySessions, Millis, Policy } from './types.js';
import { formatSeconds } from './windows.js';

export const DEFAULT_SESSION_IDLE_AFTER_SECONDS = 300;

export function sessionsOnNode(sessions: readonly GatewaySessions[] | undefined, node: string): GatewaySessions[] {
  return (sessions ?? []).filter((s) => s.node === node);
}

function appPolicy(policy: Policy, app: string): AppPolicy | undefined {
  return policy.apps.find((a) => a.name === app);
}

function lastByte(now: Millis, s: GatewaySessions): string {
  return s.lastByteAt === undefined ? 'no byte yet' : `last byte ${formatSeconds(Math.max(0, now - s.lastByteAt) / 1000)} ago`;
}

/** Why the node's gateway sessions keep it awake now, or undefined when they do not. */
export function sessionsKeepAwake(sessions: readonly GatewaySessions[], policy: Policy, now: Millis): string | undefined {
  for (const s of sessions) {
    if (s.open > 0) return `${s.open} open session${s.open === 1 ? '' : 's'} through ${s.app}'s gateway, ${lastByte(now, s)}`;
  }
  for (const s of sessions) {
    if (s.lastByteAt === undefined) continue;
    const idleAfter = appPolicy(policy, s.app)?.sessionIdleAfterSeconds ?? DEFAULT_SESSION_IDLE_AFTER_SECONDS;
    if (now - s.lastByteAt < idleAfter * 1000) return `session through ${s.app}'s gateway closed, ${lastByte(now, s)} < sessionIdleAfter ${formatSeconds(idleAfter)}`;
  }
  return undefined;
}

/** The latest byte through the node's gateway sessions, as a start of its idle period. */
export function lastSessionByte(sessions: readonly GatewaySessions[]): { at: Millis; because: string } | undefined {
  let best: { at: Millis; because: string } | undefined;
  for (const s of sessions) if (s.lastByteAt !== undefined && (!best || s.lastByteAt > best.at)) best = { at: s.lastByteAt, because: `last byte through ${s.app}'s gateway` };
  return best;
}

/** Apps whose users' traffic the gateway reports: their pods alone do not keep the node awake. */
export function appsWithSessionData(sessions: readonly GatewaySessions[]): ReadonlySet<string> {
  return new Set(sessions.map((s) => s.app));
}
