// The wake gateway and browsers (issue 14 section 2), real sockets on loopback: a browser's page
// request while the node sleeps gets the waiting page at once (and a wake is asked for); its poll
// gets the wait's status, "timeout" with what to check after the wait; an ignored User-Agent gets
// a 503 and wakes nothing; an API client or a non-HTTP client is held as before; junk is held or
// dropped without a crash or a log line; once the app answers, connections are forwarded and
// counted as sessions (open, last byte).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validateText } from '../../../src/config/validate.js';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayRoutes, WakeGateway, type GatewayDeps, type GatewayOutcome, type GatewayRoute } from '../../../src/power/gateway/gateway.js';
import { sniffHttp, wantsHtml } from '../../../src/power/gateway/http-sniff.js';
import { STATUS_PATH } from '../../../src/power/gateway/waiting-page.js';
import type { Logger } from '../../../src/power/controller/log.js';
import { freePort } from '../../helpers/net.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const logged: string[] = [];
const recordingLogger: Logger = {
  debug: (m) => void logged.push(m),
  info: (m) => void logged.push(m),
  warn: (m) => void logged.push(m),
  error: (m) => void logged.push(m),
};

async function startGateway(over: Partial<GatewayRoute>, deps: Partial<GatewayDeps> = {}) {
  const appPort = await freePort('127.0.0.1');
  const route: GatewayRoute = { app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort }, waitingPage: true, ignoreUserAgents: ['UptimeRobot'], ...over };
  const outcomes: GatewayOutcome[] = [];
  const requests: string[] = [];
  const gw = new WakeGateway([route], {
    nodeAwake: () => false,
    nodeInfo: () => ({ state: 'asleep', lastWakeLatencySeconds: 42 }),
    requestWake: (node) => {
      requests.push(node);
      return Promise.resolve();
    },
    log: recordingLogger,
    onConnection: (_app, outcome) => outcomes.push(outcome),
    retryMs: 50,
    connectTimeoutMs: 300,
    limits: { wakeAfterSilentMs: 300 },
    ...deps,
  });
  await gw.start('127.0.0.1');
  cleanup.push(() => gw.close());
  return { gw, outcomes, requests, appPort, port: gw.port('media') as number };
}

/** Sends `bytes`, resolves with everything received until the server closes or `ms` pass. */
function talk(port: number, bytes: string | Buffer, ms = 3000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.on('error', () => undefined);
    s.on('data', (d) => (text += d.toString('latin1')));
    const timer = setTimeout(() => (s.destroy(), resolve({ text, closed: false })), ms);
    s.once('close', () => (clearTimeout(timer), resolve({ text, closed: true })));
    s.write(bytes);
  });
}

const BROWSER = 'GET / HTTP/1.1\r\nHost: media.lan\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\r\n';

describe('request heads', () => {
  it('reads a browser request, waits for an incomplete head, and calls anything else not HTTP', () => {
    const s = sniffHttp(Buffer.from(BROWSER));
    expect(s.kind === 'http' && wantsHtml(s.head)).toBe(true);
    expect(sniffHttp(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n')).kind).toBe('incomplete');
    expect(sniffHttp(Buffer.from('GE')).kind).toBe('incomplete');
    expect(sniffHttp(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])).kind).toBe('other'); // a TLS ClientHello
    expect(sniffHttp(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')).kind).toBe('other');
    const api = sniffHttp(Buffer.from('GET /Items HTTP/1.1\r\nAccept: application/json\r\n\r\n'));
    expect(api.kind === 'http' && wantsHtml(api.head)).toBe(false);
    for (let i = 0; i < 2000; i++) expect(['http', 'other', 'incomplete']).toContain(sniffHttp(randomBytes(i % 300)).kind);
  });
});

describe('wake gateway and browsers', () => {
  it('answers a browser at once with the waiting page naming app, node and boot time, and asks for a wake', async () => {
    const { outcomes, requests, port } = await startGateway({});
    const t0 = Date.now();
    const { text, closed } = await talk(port, BROWSER);
    expect(closed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2500); // not held for the boot (the hold is minutes)
    expect(text).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(text).toMatch(/\r\ncontent-security-policy: default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'; connect-src 'self'/);
    expect(text).toContain('<title>media is waking up</title>');
    expect(text).toContain('<strong>w1</strong>');
    expect(text).toContain('about 42 s (its last wake)');
    expect(text).not.toMatch(/(src|href)="https?:/); // nothing external
    expect(requests).toEqual(['w1']);
    expect(outcomes).toEqual(['waiting-page']);
  });

  it("answers the page's poll with the stage, and 'timeout' with what to check once the wait is over", async () => {
    let now = 1_000_000;
    const { port } = await startGateway({}, { now: () => now, waitMs: () => 60_000 });
    await talk(port, BROWSER);
    const poll = `GET ${STATUS_PATH} HTTP/1.1\r\nHost: media.lan\r\nAccept: */*\r\n\r\n`;
    const first = await talk(port, poll);
    const body = (r: { text: string }) => JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { stage: string; advice: string; text: string };
    expect(first.text).toContain('x-vmstation-gateway: waiting');
    expect(body(first)).toMatchObject({ stage: 'waking', app: 'media', node: 'w1' });
    now += 30_000;
    expect(body(await talk(port, poll)).stage).toBe('waking');
    now += 31_000;
    const late = body(await talk(port, poll));
    expect(late.stage).toBe('timeout');
    expect(late.text).toBe('The app never answered.');
    expect(late.advice).toContain('vmstation power status');
  });

  it('gives an ignored User-Agent a quick 503 and never asks for a wake', async () => {
    const { outcomes, requests, port } = await startGateway({});
    const { text } = await talk(port, 'GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0+(compatible; UptimeRobot/2.0)\r\nAccept: text/html\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    await new Promise((r) => setTimeout(r, 500));
    expect(requests).toEqual([]);
    expect(outcomes).toEqual(['ignored']);
  });

  it('holds API clients and non-HTTP clients as before (a wake, then the bytes reach the app)', async () => {
    const { requests, port, appPort, outcomes } = await startGateway({});
    const api = talk(port, 'GET /Items HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n', 5000);
    const tls = talk(port, Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]), 5000);
    await new Promise((r) => setTimeout(r, 600));
    expect(requests).toEqual(['w1']);
    const app = net.createServer((s) => s.once('data', (d) => s.end(`app got ${d.length} bytes\n`)));
    await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => app.close(() => r())));
    expect((await api).text).toMatch(/^app got \d+ bytes\n$/);
    expect((await tls).text).toBe('app got 10 bytes\n');
    expect(outcomes.sort()).toEqual(['woken', 'woken']);
  });

  it('junk is held or dropped without a crash, and nothing from the traffic is logged', async () => {
    logged.length = 0;
    const { port, gw } = await startGateway({}, { waitMs: () => 300 });
    const junk = ['GET / HTTP/1.1\r\n\0\0\r\n\r\n', 'GET\r\n\r\n', `GET /${'a'.repeat(9000)} HTTP/1.1\r\n\r\n`, randomBytes(5000), 'POST / HTTP/1.1\r\nAccept: text/html\r\n\r\nbody'];
    await Promise.all(junk.map((j) => talk(port, j, 2000)));
    // Still serving browsers.
    expect((await talk(port, BROWSER)).text).toMatch(/^HTTP\/1\.1 503/);
    for (let i = 0; i < 40 && gw.openConnections() > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(gw.openConnections()).toBe(0);
    expect(logged.filter((m) => !/wake gateway listening|request for a sleeping node|did not answer in time/.test(m))).toEqual([]);
    expect(logged.join('\n')).not.toMatch(/\0|aaaa|body/);
  });

  it('forwards at once when the node is awake and counts open sessions and their last byte', async () => {
    const { port, appPort, gw } = await startGateway({}, { nodeAwake: () => true });
    const app = net.createServer((s) => s.on('data', () => s.write('x')));
    await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => app.close(() => r())));
    const a = net.connect(port, '127.0.0.1');
    const b = net.connect(port, '127.0.0.1');
    cleanup.push(() => void a.destroy(), () => void b.destroy());
    a.write(BROWSER);
    await new Promise((r) => a.once('data', r)); // the app, not the waiting page
    await new Promise((r) => setTimeout(r, 200));
    expect(gw.sessions()['media']).toMatchObject({ open: 2 });
    const before = gw.sessions()['media']?.lastByteAt ?? 0;
    await new Promise((r) => setTimeout(r, 50));
    b.write('ping');
    await new Promise((r) => b.once('data', r));
    expect(gw.sessions()['media']?.lastByteAt ?? 0).toBeGreaterThan(before);
    a.destroy();
    b.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(gw.sessions()['media']?.open).toBe(0);
  });
});

describe('the per-app settings in the cluster file', () => {
  const example = readFileSync('examples/vmstation.yaml', 'utf8');
  const withLines = (lines: string) => example.replace('      wakeOnRequest: true\n', `      wakeOnRequest: true\n${lines}`);

  it('defaults: waiting page on, nothing ignored; routes carry the settings', () => {
    const r = validateText({ file: 'x.yaml', text: withLines('      ignoreUserAgents: ["UptimeRobot", "^Pingdom"]\n      sessionIdleAfter: 10m\n') });
    expect(r.cluster?.spec.apps[0]).toMatchObject({ waitingPage: true, ignoreUserAgents: ['UptimeRobot', '^Pingdom'], sessionIdleAfter: '10m' });
    expect(gatewayRoutes(r.cluster!)[0]).toMatchObject({ waitingPage: true, ignoreUserAgents: ['UptimeRobot', '^Pingdom'] });
  });

  it('an ignoreUserAgents entry that is not a regular expression is refused with its place and how to fix it', () => {
    const r = validateText({ file: 'x.yaml', text: withLines('      ignoreUserAgents: ["UptimeRobot("]\n') });
    expect(r.cluster).toBeUndefined();
    expect(r.problems.map((p) => p.message)).toContain('spec.apps[0].ignoreUserAgents[0]: not a valid regular expression (JavaScript syntax, e.g. "UptimeRobot|Pingdom")');
  });
});
