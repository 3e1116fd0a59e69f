// Request bodies that take or release a maintenance hold, shared by the API (POST /hold, /release,
// bearer token) and the status page (POST /ui/hold, /ui/release, session and CSRF): one reading of
// the JSON, one check of each field. Never throws: a problem comes back as a sentence.
import type http from 'node:http';
import { durationSeconds } from '../../config/duration.js';
import type { HoldRequestBody } from './requests.js';

/** Largest hold or release body read (a reason and a time fit many times over). */
export const MAX_HOLD_BODY_BYTES = 4096;
export const HOLD_ID = /^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/;

/** The JSON object of a request body, or a string saying what is wrong with it. Never throws. */
export async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown> | string> {
  let size = 0;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_HOLD_BODY_BYTES) return `the body is larger than ${MAX_HOLD_BODY_BYTES} bytes`;
      chunks.push(chunk);
    }
  } catch {
    return 'the body was cut off';
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'the body must be a JSON object';
  } catch {
    return 'the body is not JSON';
  }
}

/** A hold from a request body: {"until": ISO time in the future, "reason"?: text, "id"?: name}. */
export function holdFromBody(body: Record<string, unknown>, now: number): HoldRequestBody | string {
  const until = typeof body['until'] === 'string' ? Date.parse(body['until']) : NaN;
  if (Number.isNaN(until)) return '"until" must be an ISO 8601 time';
  if (until <= now) return '"until" is not in the future';
  const reason = body['reason'] === undefined ? 'maintenance' : body['reason'];
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 200) return '"reason" must be text of 1 to 200 characters';
  const id = body['id'] === undefined ? 'manual' : body['id'];
  if (typeof id !== 'string' || !HOLD_ID.test(id)) return '"id" must be a name of letters, digits, "-", "_" and "." (at most 63)';
  return { id, reason, until };
}

/** The longest hold the status page takes: a week (the CLI's --until can go further). */
export const MAX_PAGE_HOLD_SECONDS = 7 * 86_400;

/**
 * The status page's hold: {"for": a duration such as "2h", "reason": text}, measured from the
 * controller's clock (a phone's clock may be off), always the id `manual` (the one `vmstation
 * power hold` takes, so either can release the other's).
 */
export function pageHoldFromBody(body: Record<string, unknown>, now: number): HoldRequestBody | string {
  const text = body['for'];
  let seconds: number | undefined;
  try {
    seconds = typeof text === 'string' ? durationSeconds(text) : undefined;
  } catch {
    seconds = undefined;
  }
  if (seconds === undefined || !(seconds > 0) || seconds > MAX_PAGE_HOLD_SECONDS) return '"for" must be a duration from 1s to 7d, such as "2h"';
  const reason = body['reason'];
  if (typeof reason !== 'string' || reason.trim().length === 0) return '"reason" must say why (1 to 200 characters)';
  return holdFromBody({ id: 'manual', reason: reason.trim(), until: new Date(now + seconds * 1000).toISOString() }, now);
}

/** The hold to release from {"id"?: name}: the id, undefined for every hold, or a sentence. */
export function releaseFromBody(body: Record<string, unknown>): { id: string | undefined } | string {
  const id = body['id'];
  if (id !== undefined && (typeof id !== 'string' || !HOLD_ID.test(id))) return '"id" must be a hold name';
  return { id };
}
