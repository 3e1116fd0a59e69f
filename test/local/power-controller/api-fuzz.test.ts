// Fuzzing the power manager's HTTP API (issue #17): random request lines, methods, targets,
// versions, headers and bodies, written as raw bytes over TCP to the real server on loopback. After
// every case the server still answers /healthz, whatever it answered came as an HTTP/1.1 status
// line (or nothing), and no handler threw except where the case made a dependency fail.
//
// The seed is fixed so CI runs the same cases every time; fast-check prints the seed and the
// failing case's path when a property fails. Longer local runs:
//   VMSTATION_FUZZ_SEED=$RANDOM VMSTATION_FUZZ_RUNS=5000 npx vitest run --project unit test/local/power-controller/api-fuzz.test.ts
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPowerApi } from '../../../src/power/api/server.js';
import { silentLogger } from '../../../src/power/controller/log.js';

const TOKEN = 'fuzz-token-0123456789abcdef0123';
const SEED = Number(process.env.VMSTATION_FUZZ_SEED ?? 17);
const RUNS = Number(process.env.VMSTATION_FUZZ_RUNS ?? 250);

/** Writes `bytes`, half-closes, and resolves with everything the server sent before closing. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    // A request the server is still reading (a Content-Length longer than the body) ends with our FIN.
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.end(bytes);
  });
}

const token = fc.constantFrom(
  'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PRI', 'get', 'M-SEARCH', 'PROPFIND',
);
const method = fc.oneof(token, fc.stringMatching(/^[A-Za-z!#$%&'*+.^_`|~-]{1,12}$/), fc.string({ maxLength: 8 }));

const knownTarget = fc.constantFrom(
  '/', '//', '///', '/healthz', '/metrics', '/status', '/wake/homelab', '/sleep/homelab', '/wake/', '/sleep/x/y', '/wake/Bad_Name',
  '/wake/%68omelab', '/../status', '/status?x=1#f', '//status', 'http://[', 'http://[::1', 'http://[::1]:8080/status', 'http://a/wake/homelab',
  'https://h/%zz', 'http:/x', 'http://', '*', 'localhost:8080', '%', '?', '#', '/\u00e9', '/\u0000',
);
const pathLike = fc.array(fc.oneof(fc.constantFrom('', '.', '..', 'wake', 'sleep', 'status', 'homelab', '%2F', '%00', '[', ']', '@', ':'), fc.string({ maxLength: 10 })), { maxLength: 5 }).map((segments) => `/${segments.join('/')}`);
const target = fc.oneof(knownTarget, pathLike, fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }));
const version = fc.oneof(fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 x', 'http/1.1', 'HTTP/9.9', ''), fc.string({ maxLength: 10 }));

const headerName = fc.oneof(
  fc.constantFrom('Host', 'Authorization', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Expect', 'Upgrade', 'Content-Type', 'Cookie', 'X-Forwarded-For'),
  fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
  fc.string({ maxLength: 12 }),
);
const headerValue = fc.oneof(
  fc.constantFrom(`Bearer ${TOKEN}`, 'Bearer', 'Bearer ', `Bearer ${TOKEN} extra`, `bearer ${TOKEN}`, 'Basic dXNlcjpwYXNz', '0', '-1', '99999999999999999999', 'chunked', 'gzip, chunked', 'close', 'keep-alive', '100-continue', 'h2c', 'websocket'),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.nat().map(String),
);
const header = fc.tuple(headerName, headerValue);
const body = fc.oneof(
  fc.constant(new Uint8Array()),
  fc.uint8Array({ maxLength: 2048 }),
  fc.constantFrom('0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n', 'ffffffffffffffff\r\n', '{"node":"homelab"}').map((s) => new TextEncoder().encode(s)),
);

// Two cases in three are well-formed HTTP/1.x (a Host header, printable header values, a body framed
// by its Content-Length) with a random target, headers and body, so they reach the handlers; the
// others are random in every part, for Node's parser and whatever it lets through.
const printable = fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/);
const wellFormed = fc
  .record({
    method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST'), weight: 4 }, token),
    target: fc.oneof(
      { arbitrary: fc.constantFrom('/status', '/wake/homelab', '/sleep/storagenodet3500', '/wake/nosuchnode', '/metrics'), weight: 3 },
      { arbitrary: knownTarget.filter((t) => /^[\x21-\x7e]+$/.test(t)), weight: 2 },
      fc.array(fc.oneof(fc.constantFrom('', '.', '..', 'wake', 'sleep', 'status', 'homelab', 'storagenodet3500'), fc.string({ maxLength: 10 }).map(encodeURIComponent)), { maxLength: 4 }).map((segments) => `/${segments.join('/')}`),
      fc.webUrl({ withQueryParameters: true }),
    ),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
    headers: fc.array(fc.tuple(fc.constantFrom('Authorization', 'Connection', 'Expect', 'Content-Type', 'Cookie', 'Accept', 'X-Forwarded-For', 'Upgrade'), fc.oneof(headerValue.filter((v) => /^[\x20-\x7e]*$/.test(v)), printable)), { maxLength: 5 }),
    authorized: fc.boolean(),
    body: fc.uint8Array({ maxLength: 512 }),
    failDependencies: fc.boolean(),
  })
  .map((r) => ({
    ...r,
    // Node answers 400 to an HTTP/1.1 request without Host (requireHostHeader).
    headers: [['Host', 'vmstation'], ...(r.authorized ? [['Authorization', `Bearer ${TOKEN}`]] : []), ...r.headers, ...(r.body.length ? [['Content-Length', String(r.body.length)]] : [])] as Array<[string, string]>,
    hugeHeader: false,
    eol: '\r\n',
  }));
const anything = fc.record({
  method,
  target,
  version,
  headers: fc.array(header, { maxLength: 8 }),
  hugeHeader: fc.boolean(),
  eol: fc.constantFrom('\r\n', '\n', '\r'),
  body,
  failDependencies: fc.boolean(),
});
const request = fc.oneof({ arbitrary: wellFormed, weight: 2 }, { arbitrary: anything, weight: 1 });

type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

function rawBytes(r: FuzzRequest): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`, ...r.headers.map(([n, v]) => `${n}: ${v}`)];
  if (r.hugeHeader) lines.push(`X-Huge: ${'a'.repeat(20_000)}`); // past Node's 16 KiB header limit: 431
  return Buffer.concat([Buffer.from(`${lines.join(r.eol)}${r.eol}${r.eol}`, 'latin1'), Buffer.from(r.body)]);
}

describe('power API fuzzing', () => {
  let port: number;
  let server: ReturnType<typeof createPowerApi>;
  let failDependencies = false;
  const internalErrors: unknown[] = [];
  const dependency = <T>(value: T): T => {
    if (failDependencies) throw new Error('dependency failed');
    return value;
  };

  beforeAll(async () => {
    server = createPowerApi({
      token: TOKEN,
      status: () => dependency({ identity: 'fuzz', leader: true, synced: true, nodes: [] }),
      nodes: () => dependency(['homelab', 'storagenodet3500']),
      request: async () => void dependency(undefined),
      hold: async () => void dependency(undefined),
      release: async () => void dependency(undefined),
      metrics: async () => dependency('vmstation_power_leader 1\n'),
      healthy: () => true,
      log: silentLogger,
      // Generous budgets: the cases must reach the handlers, not stop at 429.
      rateLimit: { perSecond: 1000, burst: 1000 },
      authenticatedRateLimit: { perSecond: 1000, burst: 1000 },
      onInternalError: (err) => void internalErrors.push(err),
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it(`survives random requests over raw TCP (${RUNS} cases, seed ${SEED}) and keeps answering /healthz`, async () => {
    let answered = 0;
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        failDependencies = r.failDependencies;
        const errorsBefore = internalErrors.length;
        const reply = (await exchange(port, rawBytes(r))).toString('latin1');
        failDependencies = false;
        if (/^HTTP\/1\.1 (200|202|401|404|405|500) /.test(reply)) answered++;
        if (process.env.VMSTATION_FUZZ_STATS) statuses.set(reply.slice(9, 12) || 'none', (statuses.get(reply.slice(9, 12) || 'none') ?? 0) + 1);
        // Whatever came back is HTTP/1.1 (Node's own 400/431/505 for what its parser refuses).
        expect(reply === '' || /^HTTP\/1\.1 \d{3} /.test(reply)).toBe(true);
        // A handler fails only when the case made a dependency fail, and then answers 500.
        if (!r.failDependencies) expect(internalErrors.length).toBe(errorsBefore);
        if (internalErrors.length > errorsBefore) expect(reply).toMatch(/^HTTP\/1\.1 500 /);
        const health = (await exchange(port, Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).toString('latin1');
        expect(health.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    if (process.env.VMSTATION_FUZZ_STATS) console.log(Object.fromEntries([...statuses].sort()));
    // The generators reach the handlers, not only Node's parser.
    expect(answered).toBeGreaterThan(RUNS / 3);
  });
});
