// Issue 13 section 4 at the edges: the hold in Node annotations (parse/format, take/release keep
// other holds), POST /hold and /release on the real HTTP server over loopback, and the seam deploy
// and etcd restore use (released also when the run fails; wake-first when no power manager answers).
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { powerManagerHolds, withHold, type HoldProvider } from '../../../src/deploy/hold.js';
import { releaseHold, takeHold } from '../../../src/power/api/requests.js';
import { createPowerApi } from '../../../src/power/api/server.js';
import { formatHolds, parseHolds, POWER_ANNOTATIONS, powerAnnotationProblems } from '../../../src/power/controller/annotations.js';
import { jsonLogger } from '../../../src/power/controller/log.js';
import { holdsOf, nodeStatus } from '../../../src/power/controller/status.js';
import { parsePowerAnnotations } from '../../../src/power/controller/annotations.js';

const T0 = Date.parse('2026-12-03T20:00:00Z');
const TOKEN = 'hold-test-token-0123456789abcdef';

function fakeKube(names: string[]) {
  const annotations = new Map(names.map((n) => [n, {} as Record<string, string>]));
  return {
    annotations,
    getNode: async (n: string) => (annotations.has(n) ? { metadata: { name: n, annotations: { ...annotations.get(n) } } } : undefined),
    patchNode: async (n: string, patch: { metadata: { annotations: Record<string, string | null> } }) => {
      const a = annotations.get(n)!;
      for (const [k, v] of Object.entries(patch.metadata.annotations)) if (v === null) delete a[k];
      else a[k] = v;
      return {};
    },
  };
}

describe('holds in Node annotations', () => {
  it('take adds beside the other holds, release removes only its own (or all), expired ones are dropped', async () => {
    const kube = fakeKube(['homelab', 'storagenodet3500']);
    await takeHold(kube as never, ['homelab', 'storagenodet3500'], { id: 'manual', reason: 'disk swap', until: T0 + 3600_000 }, T0);
    await takeHold(kube as never, ['homelab', 'storagenodet3500'], { id: 'deploy-1', reason: 'deploy', until: T0 + 60_000 }, T0);
    expect(parseHolds(kube.annotations.get('homelab')).map((h) => h.id)).toEqual(['manual', 'deploy-1']);
    await releaseHold(kube as never, ['homelab', 'storagenodet3500'], 'deploy-1', T0);
    expect(parseHolds(kube.annotations.get('storagenodet3500'))).toEqual([{ id: 'manual', reason: 'disk swap', until: T0 + 3600_000 }]);
    await releaseHold(kube as never, ['homelab'], undefined, T0);
    expect(kube.annotations.get('homelab')).toEqual({});
    const status = nodeStatus({ metadata: { name: 'storagenodet3500', annotations: kube.annotations.get('storagenodet3500')! } }, parsePowerAnnotations({}, T0), T0);
    expect(holdsOf({ nodes: [status] })).toEqual([{ id: 'manual', reason: 'disk swap', until: '2026-12-03T21:00:00.000Z', nodes: ['storagenodet3500'] }]);
    expect(nodeStatus({ metadata: { name: 'x', annotations: kube.annotations.get('storagenodet3500')! } }, parsePowerAnnotations({}, T0), T0 + 3600_000).holds).toBeUndefined();
  });

  it('reads a hand-edited value conservatively and reports it', () => {
    const a = { [POWER_ANNOTATIONS.holds]: '[{"id":"x","reason":"r","until":"not a time"},{"id":"y","reason":"r","until":"2026-12-03T21:00:00Z"}]' };
    expect(parseHolds(a).map((h) => h.id)).toEqual(['y']);
    expect(powerAnnotationProblems(a)).toEqual([expect.stringContaining('vmstation.io/power-holds holds entries that are not holds')]);
    expect(parseHolds({ [POWER_ANNOTATIONS.holds]: '{' })).toEqual([]);
    expect(formatHolds([])).toBeNull();
  });
});

describe('POST /hold and /release (the real server on loopback)', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it('takes a hold from a JSON body, refuses bad bodies with what is wrong, needs the token, and releases', async () => {
    const calls: string[] = [];
    const server = createPowerApi({
      token: TOKEN,
      status: () => ({ identity: 't', leader: true, synced: true, nodes: [] }),
      nodes: () => ['homelab'],
      request: async () => undefined,
      hold: async (h) => void calls.push(`hold ${h.id} ${h.reason} ${new Date(h.until).toISOString()}`),
      release: async (id) => void calls.push(`release ${id ?? 'all'}`),
      metrics: async () => '',
      healthy: () => true,
      log: jsonLogger(new PassThrough(), { level: 'error' }),
      now: () => T0,
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = (path: string, body: string, token = TOKEN) => fetch(`${base}${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } }).then(async (r) => [r.status, await r.json()]);
    expect(await post('/hold', '{"until":"2026-12-03T22:00:00Z","reason":"ups test"}')).toEqual([202, { held: true, id: 'manual', until: '2026-12-03T22:00:00.000Z' }]);
    expect(calls).toEqual(['hold manual ups test (from 127.0.0.1) 2026-12-03T22:00:00.000Z']);
    expect(await post('/hold', '{"until":"2026-12-03T19:00:00Z"}')).toEqual([400, { error: '"until" is not in the future' }]);
    expect(await post('/hold', '{"until":"soon"}')).toEqual([400, { error: '"until" must be an ISO 8601 time' }]);
    expect(await post('/hold', 'not json')).toEqual([400, { error: 'the body is not JSON' }]);
    expect(await post('/hold', JSON.stringify({ until: '2026-12-03T22:00:00Z', reason: 'x'.repeat(5000) }))).toEqual([400, { error: 'the body is larger than 4096 bytes' }]);
    expect(await post('/hold', '{"until":"2026-12-03T22:00:00Z","id":"../etc"}')).toEqual([400, { error: '"id" must be a name of letters, digits, "-", "_" and "." (at most 63)' }]);
    expect((await post('/hold', '{"until":"2026-12-03T22:00:00Z"}', 'wrong'))[0]).toBe(401);
    expect(await post('/release', '{"id":"manual"}')).toEqual([200, { released: 'manual' }]);
    expect(await post('/release', '')).toEqual([200, { released: 'all' }]);
    expect(calls.slice(1)).toEqual(['release manual', 'release all']);
    // The server outlived every bad request.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});

describe('the hold deploy and etcd restore take (src/deploy/hold.ts)', () => {
  const wakeFirst: HoldProvider = { take: async () => ({ notes: ['homelab: woken'], release: async () => undefined }) };

  it('takes the power manager hold with its expiry and releases it when the run fails', async () => {
    const calls: string[] = [];
    const holds = { hold: async (h: { id: string; reason: string; until: number }) => void calls.push(`hold ${h.id} ${h.reason} ${h.until - T0}`), release: async (id: string | undefined) => void calls.push(`release ${id}`) };
    const provider = powerManagerHolds(holds, wakeFirst, { id: 'deploy-7', now: () => T0 });
    const failed = await withHold(provider, { reason: 'vmstation deploy of homelab', nodes: ['homelab'], maxMs: 4 * 3600_000 }, async (h) => {
      expect(h?.notes).toEqual([expect.stringContaining('maintenance hold deploy-7 taken'), 'homelab: woken']);
      throw new Error('upgrade failed');
    }).catch((e: unknown) => e);
    expect((failed as Error).message).toBe('upgrade failed');
    expect(calls).toEqual(['hold deploy-7 vmstation deploy of homelab 14400000', 'release deploy-7']);
  });

  it('falls back to waking first when no power manager answers (and without one at all)', async () => {
    const down = { hold: async () => Promise.reject(new Error('connect ECONNREFUSED')), release: async () => Promise.reject(new Error('not called')) };
    const notes = await withHold(powerManagerHolds(down, wakeFirst, { id: 'd', now: () => T0 }), { reason: 'r', nodes: ['homelab'], maxMs: 1000 }, async (h) => h?.notes);
    expect(notes).toEqual([expect.stringContaining('no maintenance hold (the power manager\'s Nodes did not answer: connect ECONNREFUSED)'), 'homelab: woken']);
    expect(await withHold(powerManagerHolds(undefined, wakeFirst, { id: 'd', now: () => T0 }), { reason: 'r', nodes: [], maxMs: 1000 }, async (h) => h?.notes)).toEqual(['homelab: woken']);
  });
});
