// Sessions through the wake gateway in decide() (issue 14 section 3): an open connection keeps its
// node awake however long it is silent (a paused film), the reason names it; after it closes the
// node stays awake sessionIdleAfter from the last byte and its idle time counts from that byte;
// with the gateway's session data (no Prometheus), the app's own pod does not keep the node awake.
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/power/core/decide.js';
import type { GatewaySessions, Policy } from '../../../src/power/core/types.js';
import { examplePolicy, exampleNodes, MIN, observed, pod, T0 } from './fixtures.js';

const policy = (): Policy => {
  const p = examplePolicy();
  return { ...p, maxConcurrentTransitions: 3, apps: p.apps.map((a) => (a.name === 'jellyfin' ? { ...a, sessionIdleAfterSeconds: 300 } : a)) };
};
const jellyfin = (over: Partial<GatewaySessions>): GatewaySessions => ({ app: 'jellyfin', node: 'storagenodet3500', open: 0, ...over });
const actionFor = (d: ReturnType<typeof decide>, node: string) => d.actions.find((a) => a.node === node);
const skipFor = (d: ReturnType<typeof decide>, node: string) => d.skipped.find((s) => s.node === node)?.reason;

describe('gateway sessions keep the node awake', () => {
  it('without sessions data the long-idle storage node sleeps (the baseline)', () => {
    const d = decide(observed({ nodes: exampleNodes() }), policy(), T0);
    expect(actionFor(d, 'storagenodet3500')?.kind).toBe('sleep');
  });

  it('two open sessions, silent for hours, keep it awake and the reason names them', () => {
    const d = decide(observed({ nodes: exampleNodes(), sessions: [jellyfin({ open: 2, lastByteAt: T0 - 40_000 })] }), policy(), T0);
    expect(actionFor(d, 'storagenodet3500')).toBeUndefined();
    expect(skipFor(d, 'storagenodet3500')).toBe("2 open sessions through jellyfin's gateway, last byte 40s ago");
    // Not reported as activity: idle time is not restarted by a silent session.
    expect(d.active.find((a) => a.node === 'storagenodet3500')).toBeUndefined();
    const paused = decide(observed({ nodes: exampleNodes(), sessions: [jellyfin({ open: 1, lastByteAt: T0 - 3 * 3600_000 })] }), policy(), T0);
    expect(skipFor(paused, 'storagenodet3500')).toBe("1 open session through jellyfin's gateway, last byte 3h ago");
  });

  it('after the last session closes: awake for sessionIdleAfter, then idleAfter counts from the last byte', () => {
    const closedRecently = decide(observed({ nodes: exampleNodes(), sessions: [jellyfin({ lastByteAt: T0 - 2 * MIN })] }), policy(), T0);
    expect(skipFor(closedRecently, 'storagenodet3500')).toBe("session through jellyfin's gateway closed, last byte 2m ago < sessionIdleAfter 5m");
    // 10 minutes after the last byte: past sessionIdleAfter, not yet past idleAfter (30m) from that byte.
    const later = decide(observed({ nodes: exampleNodes(), sessions: [jellyfin({ lastByteAt: T0 - 10 * MIN })] }), policy(), T0);
    expect(skipFor(later, 'storagenodet3500')).toMatch(/^idle 10m \(since last byte through jellyfin's gateway\) < idleAfter 30m/);
    const past = decide(observed({ nodes: exampleNodes(), sessions: [jellyfin({ lastByteAt: T0 - 31 * MIN })] }), policy(), T0);
    expect(actionFor(past, 'storagenodet3500')?.kind).toBe('sleep');
    expect(actionFor(past, 'storagenodet3500')?.reason).toContain("since last byte through jellyfin's gateway");
  });

  it("with the gateway's session data the app's own pod does not keep the node awake (no Prometheus needed)", () => {
    const app = pod('media', 'jellyfin-0', { nodeName: 'storagenodet3500', labels: { 'app.kubernetes.io/name': 'jellyfin' } });
    const p = policy();
    const ns = p.apps.find((a) => a.name === 'jellyfin')?.namespace ?? 'default';
    const appPod = { ...app, namespace: ns };
    const without = decide(observed({ nodes: exampleNodes(), pods: [appPod] }), p, T0);
    expect(skipFor(without, 'storagenodet3500')).toContain('jellyfin-0 running');
    const withData = decide(observed({ nodes: exampleNodes(), pods: [appPod], sessions: [jellyfin({ lastByteAt: T0 - 31 * MIN })] }), p, T0);
    expect(actionFor(withData, 'storagenodet3500')?.kind).toBe('sleep');
  });

  it('a person may still put the node to sleep during a session (the gate is automatic policy only)', () => {
    const d = decide(
      observed({ nodes: exampleNodes(), sessions: [jellyfin({ open: 1, lastByteAt: T0 })], sleepRequests: [{ node: 'storagenodet3500', source: 'manual', at: T0, reason: 'test' }] }),
      policy(),
      T0,
    );
    expect(actionFor(d, 'storagenodet3500')?.kind).toBe('sleep');
  });
});
