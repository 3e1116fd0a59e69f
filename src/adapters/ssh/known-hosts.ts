// known_hosts parsing and matching, as OpenSSH does it: plain and hashed (`|1|salt|hash`) host
// patterns, `[host]:port` for non-default ports, wildcards, negation, `@revoked` markers.
// Pure: text in, verdicts out. The SSH client refuses any host whose key is not listed here.
import { createHmac } from 'node:crypto';

export interface KnownHostEntry {
  marker?: 'cert-authority' | 'revoked';
  /** Comma-separated patterns, or one hashed entry. */
  patterns: string[];
  keyType: string;
  /** The public key blob (base64-decoded). */
  key: Buffer;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@cert-authority' || fields[0] === '@revoked') {
      marker = fields[0].slice(1) as KnownHostEntry['marker'];
      fields.shift();
    }
    const [hosts, keyType, keyB64] = fields;
    if (!hosts || !keyType || !keyB64) return;
    const key = Buffer.from(keyB64, 'base64');
    if (key.length === 0) return;
    out.push({ ...(marker ? { marker } : {}), patterns: hosts.split(','), keyType, key, line: i + 1 });
  });
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, kind, salt, hash] = pattern.split('|');
  if (kind !== '1' || !salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}

/** Whether an entry's host patterns match `name` (a negated match wins over any positive one). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let matched = false;
  for (const p of entry.patterns) {
    if (p.startsWith('|')) {
      if (hashedMatch(p, name)) matched = true;
    } else if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) matched = true;
  }
  return matched;
}

export type HostKeyVerdict =
  | { ok: true; line: number }
  | { ok: false; reason: 'unknown-host' | 'key-mismatch' | 'revoked'; message: string };

/** Checks a presented host key blob against the entries for host:port. */
export function verifyHostKey(entries: readonly KnownHostEntry[], host: string, port: number, presented: Buffer): HostKeyVerdict {
  const name = hostKeyName(host, port);
  const forHost = entries.filter((e) => entryMatches(e, name));
  if (forHost.some((e) => e.marker === 'revoked' && e.key.equals(presented)))
    return { ok: false, reason: 'revoked', message: `the host key of ${name} is marked @revoked in known_hosts` };
  const plain = forHost.filter((e) => !e.marker);
  const hit = plain.find((e) => e.key.equals(presented));
  if (hit) return { ok: true, line: hit.line };
  if (plain.length === 0) return { ok: false, reason: 'unknown-host', message: `${name} is not in known_hosts` };
  return { ok: false, reason: 'key-mismatch', message: `the host key of ${name} does not match known_hosts (lines ${plain.map((e) => e.line).join(', ')}): possible man-in-the-middle, or the host was reinstalled` };
}
