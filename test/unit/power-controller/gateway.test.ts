// The wake gateway with real TCP sockets on loopback: forwarding to an awake app, holding
// connections while the node sleeps (one wake request for many clients) and forwarding once the
// app answers, giving up after the wait, noticing clients that leave, routes from the cluster file.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { validateText } from '../../../src/config/validate.js';
import { gatewayRoutes, WakeGateway, type GatewayDeps, type GatewayOutcome, type GatewayRoute } from '../../../src/power/gateway/gateway.js';
import { silentLogger } from '../../../src/power/controller/log.js';
import { freePort } from '../../helpers/net.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The "app": answers every line with "echo: <line>". */
async function startApp(port: number): Promise<net.Server> {
  const server = net.createServer((s) => s.on('data', (d) => s.write(`echo: ${d.toString()}`)));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return server;
}

async function startGateway(route: GatewayRoute, deps: Partial<GatewayDeps>) {
  const outcomes: Array<{ app: string; outcome: GatewayOutcome; seconds: number }> = [];
  const requests: string[] = [];
  const gw = new WakeGateway([route], {
    nodeAwake: () => false,
    requestWake: (node) => {
      requests.push(node);
      return Promise.resolve();
    },
    log: silentLogger,
    onConnection: (app, outcome, seconds) => outcomes.push({ app, outcome, seconds }),
    retryMs: 50,
    connectTimeoutMs: 500,
    ...deps,
  });
  await gw.start('127.0.0.1');
  cleanup.push(() => gw.close());
  return { gw, outcomes, requests, port: gw.port(route.app) as number };
}

/** Connects, sends a line, resolves with what came back before the server closed or `ms` passed. */
function exchange(port: number, line: string, ms = 3000): { reply: Promise<string>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  const reply = new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(text), ms);
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', () => undefined);
  });
  socket.write(`${line}\n`);
  return { reply, socket };
}

const waitUntil = async (what: string, f: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('wake gateway', () => {
  it('forwards at once to an awake app, without asking for a wake', async () => {
    const appPort = await freePort();
    await startApp(appPort);
    const { port, outcomes, requests } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { nodeAwake: () => true });
    expect(await exchange(port, 'hello').reply).toBe('echo: hello\n');
    expect(requests).toEqual([]);
    await waitUntil('the outcome', () => outcomes.length === 1);
    expect(outcomes[0]).toMatchObject({ app: 'media', outcome: 'direct' });
  });

  it('holds connections while the node sleeps, asks for one wake, and forwards when the app answers', async () => {
    const appPort = await freePort();
    const { port, outcomes, requests } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, {});
    const clients = ['a', 'b', 'c'].map((x) => exchange(port, `from ${x}`, 5000));
    await waitUntil('a wake request', () => requests.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(requests).toEqual(['w1']); // three clients, one request
    await startApp(appPort); // the node woke and the app started
    expect(await Promise.all(clients.map((c) => c.reply))).toEqual(['echo: from a\n', 'echo: from b\n', 'echo: from c\n']);
    await waitUntil('three outcomes', () => outcomes.length === 3);
    expect(outcomes.map((o) => o.outcome)).toEqual(['woken', 'woken', 'woken']);
    expect(outcomes.every((o) => o.seconds >= 0.2)).toBe(true);
  });

  it('closes a connection the app never answers, after the wait', async () => {
    const appPort = await freePort();
    const { port, outcomes, requests } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { waitMs: () => 300 });
    const started = Date.now();
    expect(await exchange(port, 'anyone?', 5000).reply).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(requests).toEqual(['w1']);
    await waitUntil('the outcome', () => outcomes.length === 1);
    expect(outcomes[0]?.outcome).toBe('timeout');
  });

  it('stops waiting for a client that left, and asks again for a wake only after requestEveryMs', async () => {
    const appPort = await freePort();
    const { port, outcomes, requests } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { requestEveryMs: 60_000 });
    const first = exchange(port, 'x', 5000);
    await waitUntil('a wake request', () => requests.length === 1);
    first.socket.destroy();
    await waitUntil('the outcome', () => outcomes.length === 1);
    expect(outcomes[0]?.outcome).toBe('client-gone');
    const second = exchange(port, 'y', 5000);
    await new Promise((r) => setTimeout(r, 200));
    expect(requests).toEqual(['w1']);
    second.socket.destroy();
  });

  it('keeps running when its port is taken, and logs why', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const taken = (blocker.address() as net.AddressInfo).port;
    const lines: string[] = [];
    const log = { ...silentLogger, error: (msg: string, fields?: Record<string, unknown>) => void lines.push(`${msg} ${JSON.stringify(fields)}`) };
    const { gw } = await startGateway({ app: 'media', node: 'w1', listenPort: taken, target: { host: '127.0.0.1', port: 1 } }, { log });
    expect(gw.port('media')).toBeUndefined();
    expect(lines[0]).toContain('wake gateway cannot listen');
    expect(lines[0]).toContain('EADDRINUSE');
  });

  it('routes each wakeOnRequest app of the cluster file from nodePort + 10000 to its node', () => {
    const file = 'examples/vmstation.yaml';
    const r = validateText({ file, text: readFileSync(file, 'utf8') });
    expect(gatewayRoutes(r.cluster!)).toEqual([{ app: 'jellyfin', node: 'storagenodet3500', listenPort: 40096, target: { host: '192.168.4.61', port: 30096 } }]);
  });
});
