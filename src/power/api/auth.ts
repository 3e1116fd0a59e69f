// Bearer-token check in constant time, and a per-client token-bucket rate limiter.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export const TOKEN_ENV = 'VMSTATION_POWER_TOKEN';
export const TOKEN_FILE_ENV = 'VMSTATION_POWER_TOKEN_FILE';

/** Compares digests, so neither the content nor the length of the token leaks through timing. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** The API token: --token-file, else $VMSTATION_POWER_TOKEN_FILE, else $VMSTATION_POWER_TOKEN. */
export async function loadToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const file = tokenFile ?? env[TOKEN_FILE_ENV];
  const token = file ? (await readFile(file, 'utf8')).trim() : env[TOKEN_ENV]?.trim();
  if (!token) throw new Error(`no API token: pass --token-file FILE or set ${TOKEN_FILE_ENV} or ${TOKEN_ENV}`);
  if (/\s/.test(token)) throw new Error('the API token must be one line without spaces');
  if (token.length < 16) throw new Error('the API token is shorter than 16 characters; generate one with `openssl rand -hex 32`');
  return token;
}

export interface RateLimit {
  /** Tokens added per second. */
  perSecond: number;
  burst: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `client`; returns 0 when allowed, else the seconds to wait. */
  take(client: string): number {
    const now = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.limit.burst, at: now };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
    b.at = now;
    this.buckets.set(client, b);
    if (this.buckets.size > 10_000) this.buckets.clear(); // bound memory under a flood of source addresses
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / this.limit.perSecond);
  }
}
