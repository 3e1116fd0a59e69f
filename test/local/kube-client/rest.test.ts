// The REST layer against a plain HTTP server on loopback (every answer scripted) and the HTTPS
// stand-in: Status messages, non-JSON errors, timeouts, aborts, the bearer token, watch streams,
// and a server certificate the kubeconfig's CA did not sign.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeConnection } from '../../../src/adapters/kube/kubeconfig.js';
import { loadConnection } from '../../../src/adapters/kube/kubeconfig.js';
import { KubeApiError, KubeRest, type WatchEvent } from '../../../src/adapters/kube/rest.js';
import { startTestStandin, type TestStandin } from '../kube-standin/helpers.js';

let server: http.Server;
let base: string;
const seen: Array<{ url: string; auth: string | undefined; type: string | undefined; body: string }> = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body });
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/status-404':
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', message: 'nodes "x" not found', reason: 'NotFound', code: 404 }));
          return;
        case '/plain-500':
          res.writeHead(500).end('boom');
          return;
        case '/slow':
          setTimeout(() => res.end('{}'), 2000);
          return;
        case '/echo':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body: body ? JSON.parse(body) : null, query: url.search }));
          return;
        case '/watch-ok':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '1' } } })}\n{"type":"MODIFIED",`);
          setTimeout(() => res.end(`"object":{"metadata":{"name":"a","resourceVersion":"2"}}}\n`), 50);
          return;
        case '/watch-garbage':
          res.writeHead(200).end('not json\n');
          return;
        case '/watch-410':
          res.writeHead(410, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', message: 'too old resource version', reason: 'Expired', code: 410 }));
          return;
        default:
          res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function connection(over: Partial<KubeConnection> = {}): KubeConnection {
  return { source: 'test', server: base, namespace: 'default', insecureSkipTlsVerify: false, authorization: () => Promise.resolve('Bearer t0ken'), ...over };
}

describe('KubeRest.request', () => {
  const rest = () => new KubeRest(connection());

  it('sends JSON with the bearer token and the content type asked for, and parses the answer', async () => {
    const r = await rest().request<{ method: string; body: unknown; query: string }>('PATCH', '/echo', { body: { a: 1 }, contentType: 'application/merge-patch+json', query: { limit: 5, skip: undefined } });
    expect(r).toEqual({ method: 'PATCH', body: { a: 1 }, query: '?limit=5' });
    expect(seen.at(-1)).toMatchObject({ auth: 'Bearer t0ken', type: 'application/merge-patch+json' });
  });

  it('keeps the message of a Status answer, and the text of any other error answer', async () => {
    const e = (await rest().request('GET', '/status-404').catch((x: unknown) => x)) as KubeApiError;
    expect(e).toBeInstanceOf(KubeApiError);
    expect([e.status, e.message, e.reason]).toEqual([404, 'nodes "x" not found', 'NotFound']);
    const p = (await rest().request('GET', '/plain-500').catch((x: unknown) => x)) as KubeApiError;
    expect([p.status, p.message]).toEqual([500, 'HTTP 500: boom']);
  });

  it('gives up after its timeout, and at once when aborted', async () => {
    await expect(rest().request('GET', '/slow', { timeoutMs: 100 })).rejects.toThrow('no answer within 100 ms');
    const abort = new AbortController();
    const p = rest().request('GET', '/slow', { signal: abort.signal });
    abort.abort(new Error('stop now'));
    await expect(p).rejects.toThrow('stop now');
    await expect(rest().request('GET', '/echo', { signal: abort.signal })).rejects.toThrow('stop now');
  });
});

describe('KubeRest.watch', () => {
  const rest = () => new KubeRest(connection());

  it('delivers each line (also one split across chunks) and resolves when the server ends the stream', async () => {
    const events: Array<WatchEvent<{ metadata: { resourceVersion: string } }>> = [];
    await rest().watch('/watch-ok', { resourceVersion: '0' }, (e) => events.push(e as never), new AbortController().signal);
    expect(events.map((e) => `${e.type}@${e.object.metadata.resourceVersion}`)).toEqual(['ADDED@1', 'MODIFIED@2']);
    expect(seen.at(-1)?.url).toBe('/watch-ok?resourceVersion=0&watch=true');
  });

  it('rejects on a non-200 answer with its status, and on a line that is not JSON', async () => {
    const e = (await rest().watch('/watch-410', {}, () => undefined, new AbortController().signal).catch((x: unknown) => x)) as KubeApiError;
    expect([e.status, e.message]).toEqual([410, 'too old resource version']);
    await expect(rest().watch('/watch-garbage', {}, () => undefined, new AbortController().signal)).rejects.toThrow('a line is not JSON');
  });
});

describe('TLS', () => {
  let t: TestStandin;
  let other: TestStandin;
  beforeAll(async () => {
    [t, other] = await Promise.all([startTestStandin(), startTestStandin()]);
  });
  afterAll(async () => Promise.all([t?.stop(), other?.stop()]));

  it("trusts the kubeconfig's CA and nothing else", async () => {
    const good = loadConnection({ kubeconfig: t.kubeconfig }, {});
    expect(await new KubeRest(good).request<{ gitVersion: string }>('GET', '/version')).toMatchObject({ gitVersion: expect.stringMatching(/^v1\./) });
    // The same server, but the CA of another stand-in: the certificate must be refused.
    const wrongCa = { ...good, ca: loadConnection({ kubeconfig: other.kubeconfig }, {}).ca };
    await expect(new KubeRest(wrongCa).request('GET', '/version')).rejects.toThrow(/self-signed|certificate/i);
  });
});
