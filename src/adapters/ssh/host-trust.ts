// The known_hosts file VMStation manages, used by Ansible (UserKnownHostsFile in the rendered
// ansible.cfg) and by our own SSH: a host seen for the first time has its keys recorded (and
// shown to the user, with fingerprints); a host whose key changed is an error with a hint.
// Host-key checking itself is never turned off. Matching reuses known-hosts.ts.
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { VmstationError } from '../../errors.js';
import { expandHome } from '../../util/home.js';
import { entryMatches, hostKeyName, parseKnownHosts, type KnownHostEntry } from './known-hosts.js';
import { runProcess } from '../process/index.js';

export interface TrustTarget {
  /** Node name, for messages. */
  name: string;
  address: string;
  port: number;
}

export interface ScannedKey {
  keyType: string;
  /** base64 public key blob, as in known_hosts. */
  key: string;
}

/** Fetches a host's public keys (ssh-keyscan); empty when the host does not answer. */
export type KeyScanner = (address: string, port: number) => Promise<ScannedKey[]>;

export type TrustOutcome =
  | { target: TrustTarget; status: 'known'; fingerprints: string[] }
  | { target: TrustTarget; status: 'recorded'; fingerprints: string[]; lines: string[] }
  | { target: TrustTarget; status: 'unreachable' }
  | { target: TrustTarget; status: 'mismatch'; keyType: string; presented: string; knownLines: number[] };

/** OpenSSH's SHA256 fingerprint of a base64 key blob. */
export function fingerprint(keyB64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(keyB64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** Parses ssh-keyscan output lines (`host keytype base64`; comments ignored). */
export function parseKeyscan(text: string): ScannedKey[] {
  const out: ScannedKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [, keyType, key] = line.split(/\s+/);
    if (keyType && key) out.push({ keyType, key });
  }
  return out.sort((a, b) => a.keyType.localeCompare(b.keyType));
}

/**
 * Decides, for one host, what its scanned keys mean against the known entries. Pure.
 * Keys are compared per type, as OpenSSH does: an entry of the same type with another key is a mismatch.
 */
export function judgeHost(entries: readonly KnownHostEntry[], target: TrustTarget, scanned: readonly ScannedKey[]): TrustOutcome {
  if (scanned.length === 0) return { target, status: 'unreachable' };
  const name = hostKeyName(target.address, target.port);
  const forHost = entries.filter((e) => !e.marker && entryMatches(e, name));
  if (forHost.length === 0) {
    return { target, status: 'recorded', fingerprints: scanned.map((k) => `${k.keyType} ${fingerprint(k.key)}`), lines: scanned.map((k) => `${name} ${k.keyType} ${k.key}`) };
  }
  let matched = false;
  for (const k of scanned) {
    const sameType = forHost.filter((e) => e.keyType === k.keyType);
    if (sameType.length === 0) continue;
    if (sameType.some((e) => e.key.equals(Buffer.from(k.key, 'base64')))) matched = true;
    else return { target, status: 'mismatch', keyType: k.keyType, presented: fingerprint(k.key), knownLines: sameType.map((e) => e.line) };
  }
  if (!matched) {
    const k = scanned[0]!;
    return { target, status: 'mismatch', keyType: k.keyType, presented: fingerprint(k.key), knownLines: forHost.map((e) => e.line) };
  }
  return { target, status: 'known', fingerprints: scanned.map((k) => `${k.keyType} ${fingerprint(k.key)}`) };
}

/** Where the docs explain how VMStation records and checks host keys. */
const HOST_KEYS_DOCS = 'docs/host-layer.md#ssh-host-keys';

export const sshKeyscan: KeyScanner = async (address, port) => {
  // A host that cannot be reached gives no keys; the playbook then names it.
  const r = await runProcess('ssh-keyscan', ['-T', '5', '-p', String(port), '-t', 'ed25519,ecdsa,rsa', address]);
  return parseKeyscan(r.stdout);
};

export interface EnsureKnownHostsResult {
  file: string;
  outcomes: TrustOutcome[];
}

/**
 * Records first-contact keys and checks the others. Throws `ssh-host-key-mismatch` when a host
 * presents a key that differs from the recorded one; unreachable hosts are reported, not fatal
 * (the playbook names them).
 */
export async function ensureKnownHosts(knownHostsPath: string, targets: readonly TrustTarget[], scan: KeyScanner = sshKeyscan): Promise<EnsureKnownHostsResult> {
  const file = expandHome(knownHostsPath);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw new VmstationError({ code: 'known-hosts-unreadable', message: `cannot read ${file}: ${err.code}`, hint: 'check the path in spec.ssh.knownHosts and its permissions', docs: HOST_KEYS_DOCS });
  });
  const entries = parseKnownHosts(text);
  const outcomes = await Promise.all(targets.map(async (t) => judgeHost(entries, t, await scan(t.address, t.port))));
  const mismatch = outcomes.filter((o): o is Extract<TrustOutcome, { status: 'mismatch' }> => o.status === 'mismatch');
  if (mismatch.length > 0) {
    const m = mismatch[0]!;
    throw new VmstationError({
      code: 'ssh-host-key-mismatch',
      message: `${m.target.name} (${hostKeyName(m.target.address, m.target.port)}) presents a ${m.keyType} host key that differs from the one recorded in ${file}`,
      hint: `if ${m.target.name} was reinstalled, remove the old key with \`ssh-keygen -R ${hostKeyName(m.target.address, m.target.port)} -f ${file}\` and run again; otherwise do not connect: someone may be intercepting the connection`,
      docs: HOST_KEYS_DOCS,
      details: mismatch.map((x) => `${x.target.name}: presented ${x.keyType} ${x.presented}, known_hosts line(s) ${x.knownLines.join(', ')}`),
    });
  }
  const newLines = outcomes.flatMap((o) => (o.status === 'recorded' ? o.lines : []));
  if (newLines.length > 0) {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const sep = text && !text.endsWith('\n') ? '\n' : '';
    await appendFile(file, `${sep}${newLines.join('\n')}\n`, { mode: 0o600 });
    await chmod(file, 0o600);
  }
  return { file, outcomes };
}

/** Lines to show the user about first contacts (what was recorded, with fingerprints). */
export function describeTrust(result: EnsureKnownHostsResult): string[] {
  const lines: string[] = [];
  for (const o of result.outcomes) {
    if (o.status === 'recorded')
      lines.push(`first contact with ${o.target.name} (${hostKeyName(o.target.address, o.target.port)}): recorded ${o.fingerprints.join(', ')} in ${result.file}; check these fingerprints against the host's console if unsure`);
    if (o.status === 'unreachable') lines.push(`${o.target.name} (${o.target.address}:${o.target.port}) did not answer ssh-keyscan; its host key could not be checked`);
  }
  return lines;
}
