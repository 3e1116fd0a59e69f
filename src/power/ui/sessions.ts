// Browser sessions of the status page: a person logs in once with the API token and gets a random
// session id (in an HttpOnly, SameSite=Strict cookie) and a CSRF token the page sends with every
// POST. In memory: a restarted controller asks for the token again. Bounded: the oldest sessions
// go first when there are too many.
import { randomBytes } from 'node:crypto';
import { tokenMatches } from '../api/auth.js';

export const SESSION_COOKIE = 'vmstation_session';
export const LOGIN_COOKIE = 'vmstation_login';
/** A session not used for this long is over. */
export const SESSION_IDLE_MS = 12 * 3600_000;
const MAX_SESSIONS = 1000;

export interface UiSession {
  id: string;
  csrf: string;
  usedAt: number;
}

export class UiSessions {
  private readonly sessions = new Map<string, UiSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(): UiSession {
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    const s = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), usedAt: this.now() };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session for this id (its idle time restarts), else undefined. */
  get(id: string | undefined): UiSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (this.now() - s.usedAt > SESSION_IDLE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    s.usedAt = this.now();
    return s;
  }

  end(id: string): void {
    this.sessions.delete(id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: UiSession, presented: string | undefined): boolean {
  return tokenMatches(session.csrf, presented);
}

/** Cookies of a request (RFC 6265 section 5.4), first value of each name; never throws. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!(name in out)) out[name] = part.slice(eq + 1).trim();
  }
  return out;
}

/** A cookie only this origin's pages send, that no script can read (RFC 6265bis SameSite=Strict). */
export function sessionCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}
