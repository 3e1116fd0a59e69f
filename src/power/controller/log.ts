// Structured JSON logs, one object per line. Keys that could carry a secret are redacted.
import type { Writable } from 'node:stream';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const SECRET_KEY = /token|password|authorization|secret|privatekey/i;

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : v instanceof Error ? v.message : v;
  return out;
}

export function jsonLogger(stream: Writable, opts: { now?: () => number; level?: LogLevel; base?: Record<string, unknown> } = {}): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(opts.level ?? 'info');
  const now = opts.now ?? Date.now;
  const write = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}) => {
    if (order.indexOf(level) < min) return;
    stream.write(`${JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...opts.base, ...redact(fields) })}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
