// The power manager as a separate, compiled `vmstation power controller` process, for the
// benchmarks that measure it from outside (latency, RSS): started, waited for, measured, stopped.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..');
export const TOKEN = 'bench-token-0123456789abcdef0123';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(everyMs);
  }
}

/**
 * The CLI as the image runs it: `npm run build` (tsc, one file per module, verbs loaded lazily)
 * and bin/vmstation.js. A single-file bundle would hoist every package import (client-node for
 * the deploy verbs) to the top and measure memory the controller never loads.
 */
let built = false;
export async function compiledCli(): Promise<string> {
  if (!built) {
    await new Promise<void>((resolve, reject) => {
      const b = spawn('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
      b.on('error', reject);
      b.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))));
    });
    built = true;
  }
  return path.join(root, 'bin', 'vmstation.js');
}

export interface ControllerProcess {
  pid: number;
  url: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** `vmstation power controller` as a separate process; resolves once it leads with synced informers. */
export async function startControllerProcess(tmp: string, clusterFile: string, kubeconfig: string, identity: string): Promise<ControllerProcess> {
  const tokenFile = path.join(tmp, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const child = spawn(process.execPath, [await compiledCli(), 'power', 'controller', '-f', clusterFile, '--kubeconfig', kubeconfig, '--token-file', tokenFile, '--listen', '127.0.0.1:0', '--namespace', 'default', '--identity', identity], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  await until('synced and leading', () => log.includes('"became leader"') && log.includes('"informers synced"'), 180_000, 50);
  const url = /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(log)?.[1] ?? '';
  return {
    pid: child.pid!,
    url,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Resident and peak resident memory (bytes) of a process, from /proc. */
export function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Restarts a process's peak RSS (VmHWM) from its current RSS (Linux >= 4.0, clear_refs 5). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

export function mib(b: number): string {
  return `${(b / 1024 / 1024).toFixed(0)} MiB`;
}
