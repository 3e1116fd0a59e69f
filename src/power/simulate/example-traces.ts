// Generates the example traces in examples/traces/ (deterministic: a fixed-seed PRNG).
// test/unit/power/traces.test.ts checks the committed files equal this output; rewrite them with
//   UPDATE_TRACES=1 npx vitest run --project unit test/unit/power/traces.test.ts

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MIN = 60_000;
const DAY = 86_400_000;
const WEEK_START = Date.parse('2026-03-02T00:00:00Z'); // a Monday
const WEEK_END = WEEK_START + 7 * DAY;
const BOOT = { storagenodet3500: 45, homelab: 60 };

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const header = (weeks = 1) => JSON.stringify({ kind: 'header', start: iso(WEEK_START), end: iso(weeks === 1 ? WEEK_END : WEEK_START + weeks * 7 * DAY), bootSeconds: BOOT });

function between(rand: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rand() * (hi - lo + 1));
}

/**
 * A week of evening media streaming on storagenodet3500 (jellyfin requests): every evening one
 * to three viewing sessions from about 19:00, each a run of episodes or a film with short pauses,
 * weekend afternoons too, and now and then a two-minute look at the library at lunchtime.
 */
export function mediaWeek(): string {
  const events = mediaWeekRequests().map((r) => ({ t: r.t, line: JSON.stringify({ t: iso(r.t), kind: 'request', app: 'jellyfin', seconds: r.seconds }) }));
  return [header(), ...events.map((e) => e.line)].join('\n') + '\n';
}

/** The media week's requests, in time order. */
function mediaWeekRequests(): Array<{ t: number; seconds: number }> {
  const rand = prng(0x5eed_0001);
  const events: Array<{ t: number; seconds: number }> = [];
  const request = (t: number, seconds: number) => events.push({ t, seconds });
  for (let day = 0; day < 7; day++) {
    const midnight = WEEK_START + day * DAY;
    const weekend = day >= 5;
    if (rand() < 0.3) request(midnight + between(rand, 12 * 60, 13 * 60) * MIN, 120);
    if (weekend) {
      let t = midnight + between(rand, 14 * 60, 15 * 60) * MIN;
      for (let ep = between(rand, 2, 3); ep > 0; ep--) {
        const len = between(rand, 40, 50) * 60;
        request(t, len);
        t += len * 1000 + between(rand, 1, 6) * MIN;
      }
    }
    let t = midnight + between(rand, 18 * 60 + 30, 19 * 60 + 30) * MIN;
    for (let session = between(rand, 1, 3); session > 0; session--) {
      const film = rand() < 0.4;
      const parts = film ? 1 : between(rand, 2, 4);
      for (let p = 0; p < parts; p++) {
        const len = film ? between(rand, 95, 140) * 60 : between(rand, 22, 48) * 60;
        request(t, len);
        t += len * 1000 + between(rand, 1, 8) * MIN;
      }
      t += between(rand, 20, 90) * MIN; // dinner, chores: the node may sleep in between
      if (t > midnight + 23.5 * 60 * MIN) break;
    }
  }
  return events.sort((a, b) => a.t - b.t);
}

/**
 * Four weeks of the media week with a weekly rhythm plus jitter: week 1 is the shipped week, each
 * later week repeats it with every day's evening, afternoon and lunchtime blocks shifted by up to
 * 10 minutes either way (each block on its own). The trace the predictive wake is measured on.
 */
export function mediaMonth(): string {
  const rand = prng(0x5eed_0003);
  const week = mediaWeekRequests();
  const lines: string[] = [];
  for (let w = 0; w < 4; w++) {
    // One shift per (day, block): requests less than 2 h apart belong to the same block.
    let shift = 0;
    let last = -Infinity;
    let prevEnd = -Infinity;
    for (const r of week) {
      if (r.t - last > 2 * 60 * MIN) shift = w === 0 ? 0 : between(rand, -10, 10) * MIN;
      last = r.t;
      const t = Math.max(r.t + w * 7 * DAY + shift, prevEnd);
      prevEnd = t;
      lines.push(JSON.stringify({ t: iso(t), kind: 'request', app: 'jellyfin', seconds: r.seconds }));
    }
  }
  return [header(4), ...lines].join('\n') + '\n';
}

/**
 * Four weeks without a rhythm: on every day two to six short looks at the media library
 * (5-30 minutes) at uniformly random times between 08:00 and 22:00. Prediction can learn nothing
 * here; it must cost little.
 */
export function scatteredMonth(): string {
  const rand = prng(0x5eed_0004);
  const events: Array<{ t: number; line: string }> = [];
  for (let day = 0; day < 28; day++) {
    const midnight = WEEK_START + day * DAY;
    for (let n = between(rand, 2, 6); n > 0; n--) {
      const t = midnight + between(rand, 8 * 60, 22 * 60) * MIN;
      events.push({ t, line: JSON.stringify({ t: iso(t), kind: 'request', app: 'jellyfin', seconds: between(rand, 5, 30) * 60 }) });
    }
  }
  events.sort((a, b) => a.t - b.t || (a.line < b.line ? -1 : 1));
  return [header(4), ...events.map((e) => e.line)].join('\n') + '\n';
}

/**
 * A week of nightly batch jobs on homelab: a backup around 02:00, a report around 03:30, and a
 * long scrub on Sunday morning. Each job is a pod pinned to homelab.
 */
export function batchWeek(): string {
  const rand = prng(0x5eed_0002);
  const events: Array<{ t: number; line: string }> = [];
  const job = (name: string, start: number, minutes: number) => {
    const pod = `batch/${name}`;
    events.push({ t: start, line: JSON.stringify({ t: iso(start), kind: 'pod-start', pod, node: 'homelab' }) });
    const stop = start + minutes * MIN;
    events.push({ t: stop, line: JSON.stringify({ t: iso(stop), kind: 'pod-stop', pod }) });
  };
  for (let day = 0; day < 7; day++) {
    const midnight = WEEK_START + day * DAY;
    const date = iso(midnight).slice(0, 10).replaceAll('-', '');
    const backupAt = midnight + (2 * 60 + between(rand, -10, 10)) * MIN;
    const backupMin = between(rand, 35, 80);
    job(`backup-${date}`, backupAt, backupMin);
    const reportAt = Math.max(backupAt + (backupMin + 5) * MIN, midnight + (3 * 60 + 30 + between(rand, -15, 15)) * MIN);
    job(`report-${date}`, reportAt, between(rand, 10, 25));
    if (day === 6) job(`scrub-${date}`, midnight + (4 * 60 + 30) * MIN, between(rand, 110, 130));
  }
  events.sort((a, b) => a.t - b.t);
  return [header(), ...events.map((e) => e.line)].join('\n') + '\n';
}

export const TRACES = { 'media-week.jsonl': mediaWeek, 'batch-week.jsonl': batchWeek, 'media-month.jsonl': mediaMonth, 'scattered-month.jsonl': scatteredMonth } as const;
