// The wake gateway with real TCP sockets on loopback: forwarding to an awake app, holding
// connections while the node sleeps (one wake request for many clients) and forwarding once the
// app answers, giving up after the wait, noticing clients that leave, routes from the cluster file;
// and against hostile clients (issue #17): port scans, connection floods, clients that send more
// than the wait buffer and hang up, a failing metrics callback.
import { createHash, randomBytes } from 'node:crypto';
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

/** Resolves with how the connection ended: 'reset' (ECONNRESET), 'closed', or an other error code. */
function endOf(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNRESET' ? 'reset' : (e.code ?? e.message)));
    socket.once('close', () => resolve('closed'));
  });
}

function connected(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

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

  it('does not ask for a wake for a port scan (connect, then close without a byte), but does for a client that stays silent', async () => {
    const appPort = await freePort();
    const { port, outcomes, requests } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { limits: { wakeAfterSilentMs: 300 } });
    for (let i = 0; i < 5; i++) (await connected(port)).destroy();
    await waitUntil('five outcomes', () => outcomes.length === 5);
    expect(outcomes.map((o) => o.outcome)).toEqual(Array(5).fill('client-gone'));
    await new Promise((r) => setTimeout(r, 600)); // past wakeAfterSilentMs
    expect(requests).toEqual([]);
    // A client of a protocol where the server speaks first (SSH, SMTP) waits without sending.
    const started = Date.now();
    const quiet = await connected(port);
    cleanup.push(() => void quiet.destroy());
    await waitUntil('a wake request', () => requests.length === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('tells the learner of each user (awake node too), never of a port scan; a throwing learner is an internal error, not the connection\'s', async () => {
    const appPort = await freePort();
    await startApp(appPort);
    const demands: string[] = [];
    let internal = 0;
    const { port } = await startGateway(
      { app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } },
      {
        nodeAwake: () => true,
        limits: { wakeAfterSilentMs: 300 },
        onDemand: (app, node) => {
          demands.push(`${app}@${node}`);
          if (demands.length === 2) throw new Error('learner broke');
        },
        onInternalError: () => void internal++,
      },
    );
    for (let i = 0; i < 3; i++) (await connected(port)).destroy();
    await new Promise((r) => setTimeout(r, 600)); // past wakeAfterSilentMs: scans are not users
    expect(demands).toEqual([]);
    expect(await exchange(port, 'one').reply).toBe('echo: one\n');
    expect(await exchange(port, 'two').reply).toBe('echo: two\n');
    expect(demands).toEqual(['media@w1', 'media@w1']);
    expect(internal).toBe(1);
  });

  it('refuses connections over the per-app and the overall cap with a reset, and frees a slot when a client leaves', async () => {
    const appPort = await freePort();
    const routes: GatewayRoute[] = ['a', 'b'].map((app) => ({ app, node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }));
    const outcomes: Array<[string, GatewayOutcome]> = [];
    const gw = new WakeGateway(routes, {
      nodeAwake: () => false,
      requestWake: () => Promise.resolve(),
      log: silentLogger,
      onConnection: (app, outcome) => void outcomes.push([app, outcome]),
      retryMs: 50,
      connectTimeoutMs: 500,
      limits: { maxConnectionsPerApp: 3, maxConnections: 4 },
    });
    await gw.start('127.0.0.1');
    cleanup.push(() => gw.close());
    const [pa, pb] = [gw.port('a') as number, gw.port('b') as number];
    const held = [await connected(pa), await connected(pa), await connected(pa)];
    for (const h of held) cleanup.push(() => void h.destroy());
    await waitUntil('three held for a', () => gw.openConnections('a') === 3);
    expect(await endOf(net.connect(pa, '127.0.0.1'))).toBe('reset'); // over the per-app cap
    const b1 = await connected(pb);
    cleanup.push(() => void b1.destroy());
    await waitUntil('four held', () => gw.openConnections() === 4);
    expect(await endOf(net.connect(pb, '127.0.0.1'))).toBe('reset'); // b has room, but the gateway has not
    expect(outcomes).toEqual([['a', 'refused'], ['b', 'refused']]);
    held[0]!.destroy();
    await waitUntil('a slot freed', () => gw.openConnections('a') === 2);
    const again = await connected(pa);
    cleanup.push(() => void again.destroy());
    await waitUntil('held again', () => gw.openConnections('a') === 3);
    expect(outcomes.filter(([, o]) => o === 'refused')).toHaveLength(2);
  });

  it('holds at most the wait buffer of a client that sends a lot, and still forwards every byte intact when the app answers in time', async () => {
    const appPort = await freePort();
    const { gw, port, outcomes } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, {});
    const payload = randomBytes(1024 * 1024);
    const received: Buffer[] = [];
    let receivedBytes = 0;
    const app = net.createServer((s) => s.on('data', (d: Buffer) => (received.push(d), (receivedBytes += d.length))));
    cleanup.push(() => new Promise<void>((r) => (app.listening ? app.close(() => r()) : r())));
    const client = await connected(port);
    cleanup.push(() => void client.destroy());
    client.write(payload);
    await waitUntil('the buffer full', () => gw.heldBytes() >= gw.limits.waitBufferBytes);
    await new Promise((r) => setTimeout(r, 300));
    // The gateway stopped reading at the cap (64 KiB, give or take one read); TCP holds the rest.
    expect(gw.limits.waitBufferBytes).toBe(64 * 1024);
    expect(gw.heldBytes()).toBeLessThan(2 * 64 * 1024);
    await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', () => r()));
    await waitUntil('the whole payload at the app', () => receivedBytes >= payload.length, 10_000);
    expect(createHash('sha256').update(Buffer.concat(received)).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(outcomes.map((o) => o.outcome)).toEqual(['woken']);
  });

  // Issue #17: a client that sent more than the buffer and hung up was never noticed (the gateway
  // had stopped reading, and TCP delivers the FIN after the bytes), so its buffer stayed.
  it('notices a client that hung up after filling its buffer, while its node still sleeps', async () => {
    const appPort = await freePort();
    const { port, outcomes } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { waitMs: () => 60_000, limits: { pausedGraceMs: 200 } });
    const client = await connected(port);
    client.on('error', () => undefined);
    client.write(randomBytes(1.1 * 1024 * 1024));
    await new Promise((r) => setTimeout(r, 100));
    client.destroy();
    await waitUntil('the outcome', () => outcomes.length === 1, 10_000);
    expect(outcomes[0]?.outcome).toBe('client-gone');
  });

  it('cuts, with a reset, a client that filled its buffer and is still there (sends nothing more) after the grace period', async () => {
    const appPort = await freePort();
    const { port, outcomes } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { waitMs: () => 60_000, limits: { pausedGraceMs: 200, drainIdleMs: 300 } });
    const client = await connected(port);
    cleanup.push(() => void client.destroy());
    const end = endOf(client);
    client.write(randomBytes(200 * 1024));
    expect(await end).toBe('reset');
    await waitUntil('the outcome', () => outcomes.length === 1);
    expect(outcomes[0]?.outcome).toBe('overflow');
  });

  it('keeps forwarding when reporting an outcome throws, and counts that as an internal error', async () => {
    const appPort = await freePort();
    await startApp(appPort);
    const internal: unknown[] = [];
    const { port } = await startGateway(
      { app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } },
      {
        nodeAwake: () => true,
        onConnection: () => {
          throw new Error('metrics broke');
        },
        onInternalError: (err) => void internal.push(err),
      },
    );
    expect(await exchange(port, 'one').reply).toBe('echo: one\n');
    expect(await exchange(port, 'two').reply).toBe('echo: two\n');
    expect(internal.map((e) => (e as Error).message)).toEqual(['metrics broke', 'metrics broke']);
  });

  it('logs and counts a listener error after it listens (an accept failing with EMFILE) and keeps serving', async () => {
    const appPort = await freePort();
    await startApp(appPort);
    const internal: unknown[] = [];
    const { gw, port } = await startGateway({ app: 'media', node: 'w1', listenPort: 0, target: { host: '127.0.0.1', port: appPort } }, { nodeAwake: () => true, onInternalError: (err) => void internal.push(err) });
    const server = (gw as unknown as { servers: Map<string, net.Server> }).servers.get('media');
    // What net.Server emits when accept() fails; without a listener the emit would throw.
    server?.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect(internal.map((e) => (e as Error).message)).toEqual(['accept EMFILE']);
    expect(await exchange(port, 'still there').reply).toBe('echo: still there\n');
  });

  it('routes each wakeOnRequest app of the cluster file from nodePort + 10000 to its node', () => {
    const file = 'examples/vmstation.yaml';
    const r = validateText({ file, text: readFileSync(file, 'utf8') });
    expect(gatewayRoutes(r.cluster!)).toEqual([{ app: 'jellyfin', node: 'storagenodet3500', listenPort: 40096, target: { host: '192.168.4.61', port: 30096 }, waitingPage: true, ignoreUserAgents: [] }]);
  });
});
