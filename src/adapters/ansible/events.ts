// The events our callback plugin writes (one JSON object per line), parsed and typed.

export type HostStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface HostStats {
  ok: number;
  changed: number;
  failed: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export type AnsibleEvent =
  | { event: 'playbook_start'; playbook: string }
  | { event: 'play_start'; play: string; hosts: string[] | string }
  | { event: 'task_start'; task: string; role: string | null; handler: boolean; path: string | null }
  | HostResultEvent
  | { event: 'stats'; hosts: Record<string, HostStats> };

export interface HostResultEvent {
  event: 'host_result';
  host: string;
  task: string;
  role: string | null;
  status: HostStatus;
  changed: boolean;
  msg: string | null;
  rc: number | null;
  stdout: string | null;
  stderr: string | null;
  module_stderr: string | null;
  censored: boolean;
  ignored?: boolean;
}

const KNOWN = new Set(['playbook_start', 'play_start', 'task_start', 'host_result', 'stats']);

/** Parses one line; undefined for anything that is not one of our events. */
export function parseEventLine(line: string): AnsibleEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(text) as { event?: unknown };
    return typeof value.event === 'string' && KNOWN.has(value.event) ? (value as AnsibleEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits a stream of chunks into lines, keeping the unfinished tail for the next chunk. */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    return parts;
  }
  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return last ? [last] : [];
  }
}

/** One line for a person: `changed  storagenodet3500  chrony: Install chrony.conf`. */
export function formatHostResult(e: HostResultEvent): string {
  const where = e.role ? `${e.role}: ${e.task.replace(new RegExp(`^${e.role} : `), '')}` : e.task;
  const why = e.status === 'failed' || e.status === 'unreachable' ? ` - ${firstLine(e.msg ?? e.stderr ?? '')}` : '';
  return `${e.status.padEnd(11)} ${e.host}  ${where}${e.ignored ? ' (ignored)' : ''}${why}`;
}

export function firstLine(s: string): string {
  return s.split('\n').find((l) => l.trim())?.trim() ?? '';
}
