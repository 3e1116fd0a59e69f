// policyFromCluster and the cron windows behind quiet hours and keep-awake.
import { describe, expect, it } from 'vitest';
import { policyFromCluster } from '../../../src/power/core/policy.js';
import { checkWindow, formatSeconds, nextOpeningWithin, openWindowAt, WindowError } from '../../../src/power/core/windows.js';
import { clusterFromText, exampleCluster, root } from './fixtures.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const exampleText = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8');

describe('policyFromCluster', () => {
  it('resolves the example: durations in seconds, always-on reasons, usable drivers, apps', () => {
    const p = policyFromCluster(exampleCluster());
    expect(p).toMatchObject({
      enabled: true,
      idleAfterSeconds: 1800,
      minAwakeSeconds: 900,
      maxConcurrentTransitions: 1,
      wakeTimeoutSeconds: 300,
      wakeAttempts: 3,
      retryFailedAfterSeconds: 1800,
      timezone: 'UTC',
      quietHours: [],
      keepAwake: [],
      apps: [{ name: 'jellyfin', namespace: 'default', node: 'storagenodet3500', wakeOnRequest: true }],
    });
    expect(p.ignoreNamespaces).toContain('monitoring');
    expect(p.nodes.masternode).toMatchObject({ autoSleep: false, alwaysOnReasons: ['control-plane node', 'monitoring node', 'NTP server', 'syslog server'] });
    expect(p.nodes.storagenodet3500).toEqual({
      name: 'storagenodet3500',
      autoSleep: true,
      alwaysOnReasons: [],
      wake: ['wol'],
      usableDrivers: ['wol'],
      unusableDrivers: [],
      idleAfterSeconds: 1800,
      bootSeconds: 60,
      watts: { awake: 110, asleep: 5 },
    });
  });

  it('a per-node idleAfter overrides, windows become seconds, a driver without its address is unusable', () => {
    const text = exampleText
      .replace('        watts: { awake: 90, asleep: 4 }\n', '        watts: { awake: 90, asleep: 4 }\n        idleAfter: 2h\n        bootSeconds: 120\n')
      .replace('    minAwake: 15m\n', '    minAwake: 15m\n    timezone: Europe/Berlin\n    quietHours:\n      - { start: "0 1 * * *", duration: 5h30m }\n');
    const p = policyFromCluster(clusterFromText(text));
    expect(p.nodes.homelab).toMatchObject({ idleAfterSeconds: 7200, bootSeconds: 120 });
    expect(p.quietHours).toEqual([{ start: '0 1 * * *', durationSeconds: 19800 }]);
    expect(p.timezone).toBe('Europe/Berlin');
    // Validation allows a node that never sleeps to lack a MAC; the policy knows wol cannot wake it.
    const noMac = policyFromCluster(clusterFromText(exampleText.replace('      mac: "02:00:c0:a8:04:3f"\n', '')));
    expect(noMac.nodes.masternode).toMatchObject({ wake: ['wol'], usableDrivers: [], unusableDrivers: ['wol: no mac'] });
  });
});

describe('windows', () => {
  const at = (iso: string) => Date.parse(iso);
  it('is open from each cron occurrence for its duration, in the time zone', () => {
    const w = { start: '0 22 * * *', durationSeconds: 8 * 3600 };
    // 22:00 Europe/Berlin is 21:00 UTC in winter.
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-01-10T20:59:59Z'))).toBeUndefined();
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-01-10T21:00:00Z'))).toEqual({ window: w, openedAt: at('2026-01-10T21:00:00Z'), closesAt: at('2026-01-11T05:00:00Z') });
    // Spans midnight: still open the next morning, closed at 05:00 UTC.
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-01-11T04:59:59Z'))?.openedAt).toBe(at('2026-01-10T21:00:00Z'));
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-01-11T05:00:00Z'))).toBeUndefined();
  });

  it('follows daylight saving time', () => {
    const w = { start: '0 19 * * *', durationSeconds: 3600 };
    // Summer time in Berlin started 2026-03-29: 19:00 local is 18:00 UTC before, 17:00 UTC after.
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-03-28T18:30:00Z'))).toBeDefined();
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-03-30T17:30:00Z'))).toBeDefined();
    expect(openWindowAt(w, 'Europe/Berlin', at('2026-03-30T18:30:00Z'))).toBeUndefined();
  });

  it('weekday ranges', () => {
    const w = { start: '0 9 * * 1-5', durationSeconds: 3600 };
    expect(openWindowAt(w, 'UTC', at('2026-03-06T09:30:00Z'))).toBeDefined(); // Friday
    expect(openWindowAt(w, 'UTC', at('2026-03-07T09:30:00Z'))).toBeUndefined(); // Saturday
    expect(nextOpeningWithin(w, 'UTC', at('2026-03-07T09:30:00Z'), 3 * 86400_000)).toBe(at('2026-03-09T09:00:00Z'));
    expect(nextOpeningWithin(w, 'UTC', at('2026-03-07T09:30:00Z'), 86400_000)).toBeUndefined();
  });

  it('gives the same answers whatever order it is asked in (the cache is invisible)', () => {
    const w = { start: '*/20 * * * *', durationSeconds: 300 };
    const times = Array.from({ length: 50 }, (_, i) => at('2026-03-02T00:00:00Z') + i * 997_000 * 37);
    const forward = times.map((t) => openWindowAt(w, 'UTC', t)?.openedAt ?? null);
    const backward = [...times].reverse().map((t) => openWindowAt(w, 'UTC', t)?.openedAt ?? null).reverse();
    expect(backward).toEqual(forward);
    for (const [i, t] of times.entries()) {
      const minute = new Date(t).getUTCMinutes() % 20;
      expect(forward[i] !== null).toBe(minute < 5);
    }
  });

  it.each([
    [{ start: 'every evening', durationSeconds: 60 }, 'UTC', /not a 5-field cron expression/],
    [{ start: '0 19 * * * *', durationSeconds: 60 }, 'UTC', /not a 5-field cron expression/],
    [{ start: '0 25 * * *', durationSeconds: 60 }, 'UTC', /cron "0 25 \* \* \*"/],
    [{ start: '0 19 * * *', durationSeconds: 60 }, 'Mars/Olympus', /Mars\/Olympus/],
  ])('rejects %j in %s', (w, tz, message) => {
    expect(() => checkWindow(w, tz)).toThrow(WindowError);
    expect(() => checkWindow(w, tz)).toThrow(message);
  });

  it.each([
    [0, '0s'],
    [45, '45s'],
    [60, '1m'],
    [2040, '34m'],
    [5400, '1h30m'],
    [86400 + 3600, '1d1h'],
  ])('formatSeconds(%i) = %s', (s, text) => expect(formatSeconds(s)).toBe(text));
});
