// The simulator: shipped traces (golden, and the 90 % target), the oracle's arithmetic, trace
// errors with line numbers, failed wakes, windows, missed demands, determinism.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Cluster } from '../../../src/config/model.js';
import { TRACES } from '../../../src/power/simulate/example-traces.js';
import { oracleEnergy } from '../../../src/power/simulate/oracle.js';
import { simulate } from '../../../src/power/simulate/simulate.js';
import { parseTrace, TraceError, type Trace } from '../../../src/power/simulate/trace.js';
import { clusterFromText, exampleCluster, root } from './fixtures.js';

const HOUR = 3_600_000;
const tracesDir = path.join(root, 'examples/traces');

function contextOf(cluster: Cluster) {
  return { nodes: new Set(cluster.spec.nodes.map((n) => n.name)), apps: new Map(cluster.spec.apps.map((a) => [a.name, { node: a.node }])) };
}

function load(cluster: Cluster, text: string): Trace {
  return parseTrace(text, contextOf(cluster));
}

const lines = (...objs: unknown[]) => objs.map((o) => JSON.stringify(o)).join('\n') + '\n';
const header = (hours = 24, boot: Record<string, number> = { storagenodet3500: 45, homelab: 60 }) => ({
  kind: 'header',
  start: '2026-03-02T00:00:00Z',
  end: new Date(Date.parse('2026-03-02T00:00:00Z') + hours * HOUR).toISOString(),
  bootSeconds: boot,
});

describe('shipped traces', () => {
  it.each(Object.entries(TRACES))('%s equals its generator output', (file, make) => {
    const want = make();
    if (process.env.UPDATE_TRACES === '1') writeFileSync(path.join(tracesDir, file), want);
    expect(readFileSync(path.join(tracesDir, file), 'utf8')).toBe(want);
  });

  it.each([
    ['media-week.jsonl', 'storagenodet3500', 45],
    ['batch-week.jsonl', 'homelab', 60],
  ])('%s: the example policy captures at least 90 percent of the oracle saving on %s, no missed demand', (file, busyNode, boot) => {
    const cluster = exampleCluster();
    const report = simulate(cluster, load(cluster, readFileSync(path.join(tracesDir, file), 'utf8')));
    expect(report.hours).toBe(168);
    expect(report.missedDemands).toBe(0);
    expect(report.capturedShare).toBeGreaterThanOrEqual(0.9);
    const node = report.nodes.find((n) => n.name === busyNode)!;
    // The node carrying the demand, not only the total (the idle node flatters the total).
    expect(node.capturedShare).toBeGreaterThanOrEqual(0.9);
    expect(node.demands).toBeGreaterThan(10);
    expect(node.wakes).toBeGreaterThan(5);
    expect(report.latencySeconds).toEqual({ p50: boot, p95: boot, max: boot });
    expect(report.energyKwh).toBeLessThan(report.alwaysOnKwh);
    expect(report.oracleKwh).toBeLessThanOrEqual(report.energyKwh);
    expect(report.nodes.find((n) => n.name === 'masternode')).toMatchObject({ maySleep: false, sleeps: 0 });
  });

  it('is deterministic', () => {
    const cluster = exampleCluster();
    const trace = load(cluster, TRACES['media-week.jsonl']());
    expect(simulate(cluster, trace, { keepTransitions: true })).toEqual(simulate(cluster, trace, { keepTransitions: true }));
  });
});

describe('the oracle', () => {
  const base = { start: 0, end: 10 * HOUR, bootSeconds: 60, goDownSeconds: 15, watts: { awake: 100, asleep: 0 }, maySleep: true };
  it('sleeps every gap long enough, waking bootSeconds before the next demand', () => {
    // Demand 2h-3h and 5h-6h: gaps 0-2h (wake after), 3-5h (wake after), 6-10h (no wake).
    const r = oracleEnergy({ ...base, demand: [{ from: 2 * HOUR, to: 3 * HOUR }, { from: 5 * HOUR, to: 6 * HOUR }] });
    const asleep = 2 * 3600 - 75 + (2 * 3600 - 75) + (4 * 3600 - 15);
    expect(r.asleepSeconds).toBe(asleep);
    expect(r.sleeps).toBe(3);
    expect(r.kwh).toBeCloseTo((100 * (36000 - asleep)) / 3600 / 1000, 9);
  });
  it('does not sleep a gap shorter than boot + go-down', () => {
    const r = oracleEnergy({ ...base, demand: [{ from: 0, to: 5 * HOUR }, { from: 5 * HOUR + 70_000, to: 10 * HOUR }] });
    expect(r.sleeps).toBe(0);
    expect(r.kwh).toBeCloseTo(1, 9);
  });
  it('merges overlapping demands and never sleeps a node that may not', () => {
    expect(oracleEnergy({ ...base, demand: [{ from: 0, to: 6 * HOUR }, { from: 5 * HOUR, to: 10 * HOUR }] }).sleeps).toBe(0);
    expect(oracleEnergy({ ...base, demand: [], maySleep: false }).kwh).toBeCloseTo(1, 9);
  });
});

describe('trace errors name the line', () => {
  const cluster = exampleCluster();
  it.each([
    ['', 1, /empty trace/],
    [lines({ t: '2026-03-02T01:00:00Z', kind: 'request', app: 'jellyfin', seconds: 60 }), 1, /first line must be the header/],
    [lines(header()) + 'not json\n', 2, /not valid JSON/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'nap' }), 2, /unknown kind "nap"/],
    [lines(header(), { t: '2026-03-02 01:00', kind: 'request', app: 'jellyfin', seconds: 60 }), 2, /not an ISO time with a zone/],
    [lines(header(), { t: '2026-03-05T01:00:00Z', kind: 'request', app: 'jellyfin', seconds: 60 }), 2, /outside the trace/],
    [lines(header(), { t: '2026-03-02T02:00:00Z', kind: 'request', app: 'jellyfin', seconds: 60 }, { t: '2026-03-02T01:00:00Z', kind: 'request', app: 'jellyfin', seconds: 60 }), 3, /time order/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'request', app: 'plex', seconds: 60 }), 2, /app "plex" is not in spec.apps \(apps: jellyfin\)/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'request', app: 'jellyfin', seconds: -5 }), 2, /"seconds" must be a positive number/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'pod-start', pod: 'batch/x', node: 'nas' }), 2, /node "nas" is not in the cluster file/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'pod-start', pod: 'no-namespace', node: 'homelab' }), 2, /"<namespace>\/<name>"/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'pod-stop', pod: 'batch/x' }), 2, /stops but never started/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'pod-start', pod: 'batch/x', node: 'homelab' }, { t: '2026-03-02T01:00:00Z', kind: 'pod-start', pod: 'batch/x', node: 'homelab' }), 3, /already started on line 2/],
    [lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'request', app: 'jellyfin', seconds: 60, extra: 1 }), 2, /unknown field "extra"/],
    [lines({ ...header(), bootSeconds: { nas: 30 } }), 1, /bootSeconds names node "nas"/],
    [lines({ ...header(), end: '2026-03-01T00:00:00Z' }), 1, /"end" must be after "start"/],
    [lines(header(), header()), 2, /only the first line may be a header/],
  ])('case %#', (text, line, message) => {
    let caught: unknown;
    try {
      load(cluster, text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TraceError);
    expect((caught as TraceError).line).toBe(line);
    expect((caught as TraceError).message).toMatch(message);
  });

  it('skips blank lines and # comments (line numbers still count them)', () => {
    const t = load(cluster, `# a comment\n\n${lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'request', app: 'jellyfin', seconds: 60 })}`);
    expect(t.events).toEqual([{ line: 4, t: Date.parse('2026-03-02T01:00:00Z'), kind: 'request', app: 'jellyfin', seconds: 60 }]);
  });
});

describe('simulated behaviour', () => {
  const cluster = exampleCluster();
  const job = (at: string, stop: string) => [
    { t: at, kind: 'pod-start', pod: 'batch/job', node: 'homelab' },
    { t: stop, kind: 'pod-stop', pod: 'batch/job' },
  ];

  it('a pod for a sleeping node waits exactly its boot time', () => {
    const r = simulate(cluster, load(cluster, lines(header(), ...job('2026-03-02T05:00:00Z', '2026-03-02T06:00:00Z'))), { keepTransitions: true });
    expect(r.latencySeconds).toEqual({ p50: 60, p95: 60, max: 60 });
    expect(r.missedDemands).toBe(0);
    const homelab = r.transitions!.filter((x) => x.node === 'homelab').map((x) => `${x.t} ${x.action}`);
    // Sleeps 30 min after the controller starts, wakes for the job, sleeps 30 min after it ends.
    expect(homelab).toEqual(['2026-03-02T00:30:00.000Z sleep', '2026-03-02T05:00:00.000Z wake', '2026-03-02T06:30:00.000Z sleep']);
  });

  it('lost magic packets: retried after wakeTimeout, the demand waits, nothing is missed', () => {
    const text = lines(header(), { t: '2026-03-02T04:00:00Z', kind: 'wake-fails', node: 'homelab', count: 2 }, ...job('2026-03-02T05:00:00Z', '2026-03-02T07:00:00Z'));
    const r = simulate(cluster, load(cluster, text));
    // Two lost attempts of wakeTimeout 5m each, then a 60 s boot.
    expect(r.latencySeconds.max).toBe(660);
    expect(r.missedDemands).toBe(0);
    expect(r.failedWakes).toBe(0);
  });

  it('a node that never wakes is marked failed, retried at retryFailedAfter, and the demand is missed', () => {
    const text = lines(header(), { t: '2026-03-02T04:00:00Z', kind: 'wake-fails', node: 'homelab', count: 100 }, ...job('2026-03-02T05:00:00Z', '2026-03-02T07:00:00Z'));
    const r = simulate(cluster, load(cluster, text), { keepTransitions: true });
    expect(r.missedDemands).toBe(1);
    expect(r.failedWakes).toBeGreaterThanOrEqual(2);
    const retries = r.transitions!.filter((x) => x.node === 'homelab' && x.action === 'retry-wake');
    expect(retries[0]).toMatchObject({ t: '2026-03-02T05:45:00.000Z' });
  });

  it('requests for an app without wakeOnRequest are missed while its node sleeps (nothing wakes it)', () => {
    const text = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8').replace('wakeOnRequest: true', 'wakeOnRequest: false');
    const noGateway = clusterFromText(text);
    const r = simulate(noGateway, load(noGateway, lines(header(), { t: '2026-03-02T05:00:00Z', kind: 'request', app: 'jellyfin', seconds: 600 })));
    expect(r.missedDemands).toBe(1);
  });

  it('a keep-awake window wakes the node ahead, so a demand at its start waits for nothing', () => {
    const text = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8').replace('    minAwake: 15m\n', '    minAwake: 15m\n    keepAwake:\n      - { start: "0 19 * * *", duration: 4h }\n');
    const scheduled = clusterFromText(text);
    const r = simulate(scheduled, load(scheduled, lines(header(), { t: '2026-03-02T19:00:00Z', kind: 'request', app: 'jellyfin', seconds: 600 })), { keepTransitions: true });
    expect(r.delayedDemands).toBe(0);
    expect(r.latencySeconds.max).toBe(0);
    // Both workers boot in 60 s by policy; one transition at a time: homelab (by name) first.
    expect(r.transitions!.filter((x) => x.action === 'wake').map((x) => `${x.t} ${x.node}`)).toEqual(['2026-03-02T18:57:00.000Z homelab', '2026-03-02T18:58:00.000Z storagenodet3500']);
  });

  it('quiet hours: nodes sleep only inside them', () => {
    const text = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8').replace('    minAwake: 15m\n', '    minAwake: 15m\n    quietHours:\n      - { start: "0 1 * * *", duration: 6h }\n');
    const quiet = clusterFromText(text);
    const r = simulate(quiet, load(quiet, lines(header())), { keepTransitions: true });
    expect(r.transitions!.filter((x) => x.action === 'sleep').map((x) => `${x.t} ${x.node}`)).toEqual(['2026-03-02T01:00:00.000Z homelab', '2026-03-02T01:00:15.000Z storagenodet3500']);
  });
});

describe('wake requests end when the node is awake', () => {
  it('a request that arrives while the node drains rolls the sleep back and does not wake it again later', () => {
    const cluster = exampleCluster();
    // homelab sleeps at 00:30 (drain 10 s, suspend 5 s); storagenodet3500 waits for the slot and
    // starts draining at 00:30:15. A jellyfin request at 00:30:20 finds it draining.
    const text = lines(header(), { t: '2026-03-02T00:30:20Z', kind: 'request', app: 'jellyfin', seconds: 60 });
    const r = simulate(cluster, load(cluster, text), { keepTransitions: true });
    const s = r.transitions!.filter((x) => x.node === 'storagenodet3500').map((x) => `${x.t} ${x.action}`);
    expect(s).toEqual(['2026-03-02T00:30:15.000Z sleep', '2026-03-02T00:30:20.000Z cancel-sleep', '2026-03-02T01:01:20.000Z sleep']);
    // Served the moment the drain is rolled back: nobody waited.
    expect(r.delayedDemands).toBe(0);
    expect(r.latencySeconds.max).toBe(0);
    expect(r.wakes).toBe(0);
    expect(r.missedDemands).toBe(0);
  });
});

describe('requests from people in a trace (decided by decide(), as in the controller)', () => {
  const cluster = exampleCluster();

  it('a sleep request puts a busy node to sleep at once; a wake request wakes it; a request for the control plane is refused', () => {
    const text = lines(
      header(),
      { t: '2026-03-02T00:05:00Z', kind: 'pod-start', pod: 'batch/job', node: 'homelab' },
      { t: '2026-03-02T00:10:00Z', kind: 'pod-stop', pod: 'batch/job' },
      // minAwake and idleAfter would keep homelab awake until 00:40: a person asks at 00:12.
      { t: '2026-03-02T00:12:00Z', kind: 'sleep-request', node: 'homelab' },
      { t: '2026-03-02T02:00:00Z', kind: 'wake-request', node: 'homelab' },
      { t: '2026-03-02T03:00:00Z', kind: 'sleep-request', node: 'masternode' },
    );
    const r = simulate(cluster, load(cluster, text), { keepTransitions: true });
    const homelab = r.transitions!.filter((x) => x.node === 'homelab').map((x) => `${x.t} ${x.action} ${x.reason}`);
    expect(homelab.slice(0, 3)).toEqual([
      '2026-03-02T00:12:00.000Z sleep manual request: sleep requested in the trace',
      '2026-03-02T02:00:00.000Z wake manual wake request: wake requested in the trace',
      // Back to the policy: idle again 30 min after the wake made it awake (boot 60 s).
      '2026-03-02T02:31:00.000Z sleep idle 30m (since node became awake) >= idleAfter 30m, no pods outside ignored namespaces, cpu 2%, network 200 B/s',
    ]);
    // The control plane is refused (a skip, so no transition), and never sleeps.
    expect(r.transitions!.filter((x) => x.node === 'masternode')).toEqual([]);
    expect(r.nodes.find((n) => n.name === 'masternode')).toMatchObject({ sleeps: 0 });
    expect(r.nodes.find((n) => n.name === 'homelab')).toMatchObject({ sleeps: 2, wakes: 1 });
  });

  it('a sleep request evicts the running job; the job, Pending again, wakes the node once it is asleep', () => {
    // The simulator's pods are Jobs pinned to their node: they may be evicted, and then wait for it.
    const text = lines(
      header(),
      { t: '2026-03-02T00:05:00Z', kind: 'pod-start', pod: 'batch/job', node: 'homelab' },
      { t: '2026-03-02T00:20:00Z', kind: 'sleep-request', node: 'homelab' },
      { t: '2026-03-02T01:00:00Z', kind: 'pod-stop', pod: 'batch/job' },
    );
    const r = simulate(cluster, load(cluster, text), { keepTransitions: true });
    const homelab = r.transitions!.filter((x) => x.node === 'homelab').map((x) => `${x.t} ${x.action}`);
    expect(homelab.slice(0, 2)).toEqual(['2026-03-02T00:20:00.000Z sleep', '2026-03-02T00:20:15.000Z wake']);
    expect(r.missedDemands).toBe(0);
  });

  it('trace lines for requests name a node of the cluster', () => {
    expect(() => load(cluster, lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'sleep-request', node: 'nas' }))).toThrow(/node "nas" is not in the cluster file/);
    expect(() => load(cluster, lines(header(), { t: '2026-03-02T01:00:00Z', kind: 'wake-request', node: 'homelab', source: 'api' }))).toThrow(/unknown field "source"/);
  });
});
