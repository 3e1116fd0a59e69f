// The demand profile (profile.ts) as the data of a ConfigMap, and back. The controller keeps the
// profile there so a restart does not forget what it learned; the I/O is in
// src/power/controller/profile-store.ts, the format and every check on it are here, pure.
//
// One data key per node (`node.NAME`, a compact JSON object), plus `format` and `timezone`. What
// does not read back exactly as a bounded profile is left out with a sentence saying why: a
// corrupt node entry (that node starts over), an oversized ConfigMap or another format or time
// zone (every node starts over). Nothing here throws on any input.
import { HISTORY_DAYS, OUTCOMES_KEPT, SLOTS_PER_DAY, type DemandProfile, type ForecastBasis, type NodeDemandHistory, type PredictionOutcome } from './profile.js';

/** The ConfigMap (in the power manager's namespace) holding the learned demand profile. */
export const PROFILE_CONFIGMAP = 'vmstation-power-manager-profile';
export const PROFILE_FORMAT = 'vmstation.io/demand-profile v1';
/** A ConfigMap holds at most 1 MiB (https://kubernetes.io/docs/concepts/configuration/configmap/); this leaves room for its metadata. */
export const MAX_PROFILE_BYTES = 1_000_000;
/**
 * The largest entry a node's bounded history can serialize to (56 days of 24 hex digits, 16
 * outcomes with 13-digit times, a pending wake): 1,344 + 16 × 21 + about 90 bytes. A longer entry
 * was not written by us.
 */
export const MAX_NODE_ENTRY_BYTES = 2048;
const HEX_PER_DAY = SLOTS_PER_DAY / 4;
const NODE_PREFIX = 'node.';
/** Local day numbers we accept (1970 to about 2243): anything else is not a day we wrote. */
const MAX_DAY = 100_000;

/** The compact form of one node's history: days concatenated, outcomes as [at, used 0|1, basis w|t]. */
interface NodeEntry {
  lastDay: number;
  days: string;
  outcomes: Array<[number, 0 | 1, 'w' | 't']>;
  pending?: [number, 'w' | 't'];
}

const basisCode = (b: ForecastBasis): 'w' | 't' => (b === 'weekday' ? 'w' : 't');
const basisOf = (c: 'w' | 't'): ForecastBasis => (c === 'w' ? 'weekday' : 'time of day');

function entryOf(h: NodeDemandHistory): NodeEntry {
  return {
    lastDay: h.lastDay,
    days: h.days.join(''),
    outcomes: h.outcomes.map((o) => [o.at, o.used ? 1 : 0, basisCode(o.basis)]),
    ...(h.pendingSince !== undefined ? { pending: [h.pendingSince, basisCode(h.pendingBasis ?? 'weekday')] } : {}),
  };
}

export interface SerializedProfile {
  data: Record<string, string>;
  /** Nodes left out because the ConfigMap would pass MAX_PROFILE_BYTES (last in name order first). */
  omitted: string[];
}

/** The ConfigMap data for `profile`, keeping only `nodes` (the ones that may be predicted), in name order. */
export function serializeProfile(profile: DemandProfile, nodes: readonly string[]): SerializedProfile {
  const data: Record<string, string> = { format: PROFILE_FORMAT, timezone: profile.timezone };
  let bytes = PROFILE_FORMAT.length + profile.timezone.length + 'formattimezone'.length;
  const omitted: string[] = [];
  for (const name of [...nodes].sort()) {
    const h = profile.nodes[name];
    if (!h) continue;
    const key = `${NODE_PREFIX}${name}`;
    const value = JSON.stringify(entryOf(h));
    if (bytes + key.length + value.length > MAX_PROFILE_BYTES) {
      omitted.push(name);
      continue;
    }
    bytes += key.length + value.length;
    data[key] = value;
  }
  return { data, omitted };
}

export interface ParsedProfile {
  profile: DemandProfile;
  /** What was left out and why, one sentence each (the caller warns). */
  problems: string[];
}

const isInt = (x: unknown, min: number, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
const isBasis = (x: unknown): x is 'w' | 't' => x === 'w' || x === 't';
const MAX_TIME = 8.64e15;

function outcomeOf(x: unknown): PredictionOutcome | undefined {
  if (!Array.isArray(x) || x.length !== 3) return undefined;
  const [at, used, basis] = x as unknown[];
  if (!isInt(at, 0, MAX_TIME) || (used !== 0 && used !== 1) || !isBasis(basis)) return undefined;
  return { at, used: used === 1, basis: basisOf(basis) };
}

/** One node's entry, or why it cannot be used. */
function historyOf(value: string): NodeDemandHistory | string {
  if (value.length > MAX_NODE_ENTRY_BYTES) return `entry of ${value.length} bytes is longer than a bounded history (${MAX_NODE_ENTRY_BYTES})`;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return 'entry is not JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'entry is not an object';
  const e = raw as Record<string, unknown>;
  if (!isInt(e['lastDay'], 0, MAX_DAY)) return 'lastDay is not a day number';
  const days = e['days'];
  if (typeof days !== 'string' || !/^[0-9a-f]*$/.test(days) || days.length === 0 || days.length % HEX_PER_DAY !== 0 || days.length > HISTORY_DAYS * HEX_PER_DAY)
    return `days is not 1 to ${HISTORY_DAYS} days of ${HEX_PER_DAY} lowercase hex digits`;
  const outcomes = e['outcomes'];
  if (!Array.isArray(outcomes) || outcomes.length > OUTCOMES_KEPT) return `outcomes is not a list of at most ${OUTCOMES_KEPT}`;
  const parsed = outcomes.map(outcomeOf);
  if (parsed.some((o) => o === undefined)) return 'an outcome is not [time, 0|1, "w"|"t"]';
  const pending = e['pending'];
  if (pending !== undefined && !(Array.isArray(pending) && pending.length === 2 && isInt(pending[0], 0, MAX_TIME) && isBasis(pending[1]))) return 'pending is not [time, "w"|"t"]';
  const unknown = Object.keys(e).filter((k) => !['lastDay', 'days', 'outcomes', 'pending'].includes(k));
  if (unknown.length > 0) return `unknown field ${unknown.join(', ')}`;
  const split = Array.from({ length: days.length / HEX_PER_DAY }, (_, i) => days.slice(i * HEX_PER_DAY, (i + 1) * HEX_PER_DAY));
  return {
    lastDay: e['lastDay'] as number,
    days: split,
    outcomes: parsed as PredictionOutcome[],
    ...(pending !== undefined ? { pendingSince: (pending as [number, 'w' | 't'])[0], pendingBasis: basisOf((pending as [number, 'w' | 't'])[1]) } : {}),
  };
}

/**
 * The profile a ConfigMap's data holds for `nodes` in `timezone`, or an empty one. Entries of
 * other nodes are dropped (a node left the cluster file or stopped sleeping); each problem is a
 * sentence for the warning.
 */
export function parseProfile(data: Readonly<Record<string, unknown>> | undefined, timezone: string, nodes: readonly string[]): ParsedProfile {
  const profile: DemandProfile = { version: 1, timezone, nodes: {} };
  if (data === undefined || Object.keys(data).length === 0) return { profile, problems: [] };
  const values = Object.values(data);
  const bytes = Object.keys(data).reduce((n, k) => n + k.length, 0) + values.reduce<number>((n, v) => n + (typeof v === 'string' ? v.length : 0), 0);
  if (bytes > MAX_PROFILE_BYTES) return { profile, problems: [`${bytes} bytes is more than a profile can take (${MAX_PROFILE_BYTES}); ignored, learning starts over`] };
  if (data['format'] !== PROFILE_FORMAT) return { profile, problems: [`format is ${JSON.stringify(data['format'] ?? null)}, not "${PROFILE_FORMAT}"; ignored, learning starts over`] };
  if (data['timezone'] !== timezone) return { profile, problems: [`learned in time zone ${JSON.stringify(data['timezone'] ?? null)}, spec.power.timezone is now "${timezone}"; ignored, learning starts over`] };
  const wanted = new Set(nodes);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (key === 'format' || key === 'timezone') continue;
    const node = key.startsWith(NODE_PREFIX) ? key.slice(NODE_PREFIX.length) : undefined;
    if (node === undefined) {
      problems.push(`key ${JSON.stringify(key)} is not node.NAME; ignored`);
      continue;
    }
    if (!wanted.has(node)) continue;
    const h = typeof value === 'string' ? historyOf(value) : 'entry is not a string';
    if (typeof h === 'string') problems.push(`node ${node}: ${h}; its learning starts over`);
    else profile.nodes[node] = h;
  }
  return { profile, problems };
}
