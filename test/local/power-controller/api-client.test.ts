// The power API client the CLI uses (src/power/api/client.ts), against the real HTTP API server:
// status and requests with the token, each failure a user error with its code, and the loop that
// follows a node until it is awake (or failed, or the time is up) on a clock the test moves.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient, waitForNode, type PowerClient } from '../../../src/power/api/client.js';
import { createPowerApi } from '../../../src/power/api/server.js';
import type { Clock } from '../../../src/power/controller/clock.js';
import { silentLogger } from '../../../src/power/controller/log.js';
import type { ControllerStatus, NodeStatus } from '../../../src/power/controller/status.js';
import type { PowerState } from '../../../src/power/core/types.js';
import { VmstationError } from '../../../src/errors.js';
import { freePort } from '../../helpers/net.js';

const TOKEN = 'a-test-token-0123456789abcdef';

const node = (state: PowerState, over: Partial<NodeStatus> = {}): NodeStatus => ({ node: 'homelab', state, since: '2026-03-02T12:00:00.000Z', reason: `${state} now`, attempts: 0, ready: state === 'awake', cordoned: state !== 'awake', energySavedKwh: 0, ...over });

/** Time that passes only when the code under test sleeps: every poll is counted, none is waited for. */
function steppingClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return { slept, now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)) };
}

describe('power API client', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function serve(states: PowerState[]) {
    const requests: string[] = [];
    let calls = 0;
    const server = createPowerApi({
      token: TOKEN,
      status: (): ControllerStatus => ({ identity: 'test', leader: true, synced: true, nodes: [node(states[Math.min(calls++, states.length - 1)]!)] }),
      nodes: () => ['homelab'],
      request: async (n, action, source) => void requests.push(`${action}:${n}:${source}`),
      hold: async (h) => void requests.push(`hold:${h.id}`),
      release: async (id) => void requests.push(`release:${id ?? 'all'}`),
      metrics: async () => '',
      healthy: () => true,
      log: silentLogger,
      rateLimit: { perSecond: 1000, burst: 1000 },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    close = () => new Promise<void>((r) => server.close(() => r()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
  }

  const codeOf = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VmstationError);
    return { code: (err as VmstationError).code, exit: (err as VmstationError).exitCode, hint: (err as VmstationError).hint };
  };

  it('reads the status and writes requests with the token', async () => {
    const { url, requests } = await serve(['asleep']);
    const client = apiClient({ url: `${url}/`, token: TOKEN });
    expect((await client.status()).nodes).toEqual([node('asleep')]);
    await client.request('homelab', 'wake', 'ignored by the API: it names the client');
    await client.request('homelab', 'sleep', 'x');
    expect(requests).toEqual(['wake:homelab:api', 'sleep:homelab:api']);
  });

  it('a wrong token, an unknown node and an unreachable API are user errors with a hint', async () => {
    const { url } = await serve(['awake']);
    expect(await codeOf(apiClient({ url, token: 'wrong-token-0123456789' }).status())).toMatchObject({ code: 'power-api-unauthorized', exit: 1, hint: expect.stringContaining('spec.power.apiToken') as string });
    expect(await codeOf(apiClient({ url, token: TOKEN }).request('nosuchnode', 'wake', 'x'))).toMatchObject({ code: 'power-api-error', exit: 1 });
    const closed = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    expect(await codeOf(apiClient({ url: closed, token: TOKEN }).status())).toMatchObject({ code: 'power-api-unreachable', exit: 1, hint: expect.stringContaining('--url') as string });
  });

  it('waitForNode follows the node through each state until it is awake, polling on the injected clock', async () => {
    const { url } = await serve(['asleep', 'asleep', 'waking', 'waking', 'awake']);
    const clock = steppingClock();
    const seen: string[] = [];
    const st = await waitForNode(apiClient({ url, token: TOKEN }), 'homelab', (n) => n.state === 'awake' && n.ready, { timeoutMs: 60_000, clock, onChange: (n) => seen.push(n.state) });
    expect(st).toMatchObject({ state: 'awake', ready: true });
    expect(seen).toEqual(['asleep', 'waking', 'awake']);
    expect(clock.slept).toEqual([1000, 1000, 1000, 1000]);
  });

  it('waitForNode returns a failed node at once, and undefined when the time is up', async () => {
    const failing: PowerClient = { status: async () => ({ identity: 'x', leader: true, synced: true, nodes: [node('failed')] }), request: async () => undefined, hold: async () => undefined, release: async () => undefined };
    expect(await waitForNode(failing, 'homelab', () => false, { timeoutMs: 60_000, clock: steppingClock() })).toMatchObject({ state: 'failed' });
    const { url } = await serve(['waking']);
    const clock = steppingClock();
    expect(await waitForNode(apiClient({ url, token: TOKEN }), 'homelab', (n) => n.state === 'awake', { timeoutMs: 5_000, everyMs: 2_000, clock })).toBeUndefined();
    expect(clock.slept).toEqual([2000, 2000, 2000]);
  });
});
