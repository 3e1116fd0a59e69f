// Simulator properties on random traces: nothing is missed when wakes work and jobs outlast a
// boot, energy lies between the oracle's (up to edge effects) and always-on, and the report is
// the same every time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulate } from '../../../src/power/simulate/simulate.js';
import { parseTrace } from '../../../src/power/simulate/trace.js';
import { exampleCluster } from './fixtures.js';

const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 86_400_000;
const MIN = 60_000;

const arbJobs = fc.array(
  fc.record({
    node: fc.constantFrom('homelab', 'storagenodet3500'),
    startMin: fc.integer({ min: 0, max: 2 * 24 * 60 - 60 }),
    minutes: fc.integer({ min: 5, max: 240 }),
    kind: fc.constantFrom('pod', 'request'),
  }),
  { maxLength: 25 },
);

function traceText(jobs: Array<{ node: string; startMin: number; minutes: number; kind: string }>): string {
  const events: Array<{ t: number; line: string }> = [];
  const iso = (t: number) => new Date(t).toISOString();
  jobs.forEach((j, i) => {
    const t = START + j.startMin * MIN;
    if (j.kind === 'request') {
      // jellyfin runs on storagenodet3500 and wakes it on request.
      events.push({ t, line: JSON.stringify({ t: iso(t), kind: 'request', app: 'jellyfin', seconds: j.minutes * 60 }) });
      return;
    }
    const pod = `batch/job-${i}`;
    events.push({ t, line: JSON.stringify({ t: iso(t), kind: 'pod-start', pod, node: j.node }) });
    const stop = t + j.minutes * MIN;
    // A job still running at the end of the trace has no pod-stop.
    if (stop <= START + 2 * DAY) events.push({ t: stop, line: JSON.stringify({ t: iso(stop), kind: 'pod-stop', pod }) });
  });
  events.sort((a, b) => a.t - b.t || (a.line < b.line ? -1 : 1));
  const header = { kind: 'header', start: iso(START), end: iso(START + 2 * DAY), bootSeconds: { homelab: 60, storagenodet3500: 45 } };
  return [JSON.stringify(header), ...events.map((e) => e.line)].join('\n');
}

describe('simulate() properties', () => {
  const cluster = exampleCluster();
  const ctx = { nodes: new Set(cluster.spec.nodes.map((n) => n.name)), apps: new Map(cluster.spec.apps.map((a) => [a.name, { node: a.node }])) };

  it('misses nothing, stays between oracle and always-on, waits at most a few boots, and is deterministic', () => {
    fc.assert(
      fc.property(arbJobs, (jobs) => {
        const trace = parseTrace(traceText(jobs), ctx);
        const r = simulate(cluster, trace);
        expect(r.missedDemands).toBe(0);
        expect(r.capturedShare).toBeGreaterThanOrEqual(0);
        expect(r.capturedShare).toBeLessThanOrEqual(1);
        expect(r.energyKwh).toBeLessThanOrEqual(r.alwaysOnKwh + 1e-9);
        // The oracle may only lose to the policy by demands cut off at the end of the trace.
        expect(r.energyKwh).toBeGreaterThanOrEqual(r.oracleKwh - 0.01);
        // Worst wait: the other node's drain + suspend (15 s) and boot, then its own boot, then a suspend to finish.
        expect(r.latencySeconds.max).toBeLessThanOrEqual(15 + 60 + 15 + 60);
        expect(simulate(cluster, trace)).toEqual(r);
      }),
      { numRuns: Number(process.env.POWER_PROPERTY_RUNS ?? 60) },
    );
  });
});
