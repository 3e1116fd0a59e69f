// Several test runs (and people) share one machine and so one lab: `up` and `down` take a lock,
// and test runs register as users so the last one out takes the lab down.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPaths } from './paths.js';
import { LabError, pidAlive, sleep } from './run.js';

const lockDir = (paths: LabPaths): string => `${paths.stateDir}.lock`;
const usersDir = (paths: LabPaths): string => `${paths.stateDir}.users`;

function tryLock(dir: string): boolean {
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'pid'), `${process.pid}\n`);
    return true;
  } catch {
    return false;
  }
}

function holder(dir: string): number | undefined {
  try {
    return Number(readFileSync(join(dir, 'pid'), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** Runs fn holding the lab lock (waits for another `up`/`down`, which may be building the rootfs). */
export async function withLabLock<T>(paths: LabPaths, fn: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const dir = lockDir(paths);
  const started = Date.now();
  let seenEmptySince: number | undefined;
  while (!tryLock(dir)) {
    const pid = holder(dir);
    if (pid === process.pid) break; // re-entrant (up calls down)
    if (pid !== undefined && !pidAlive(pid)) {
      rmSync(dir, { recursive: true, force: true }); // its holder died
      continue;
    }
    if (pid === undefined) {
      // Taken but no pid yet: give the holder a moment, then treat it as stale.
      seenEmptySince ??= Date.now();
      if (Date.now() - seenEmptySince > 2000) rmSync(dir, { recursive: true, force: true });
    }
    if (Date.now() - started > timeoutMs) throw new LabError(`another lab operation (pid ${pid ?? '?'}) holds ${dir}`, 'wait for it, or remove the folder if that process is gone');
    await sleep(200);
  }
  const mine = holder(dir) === process.pid && readdirSync(dir).length > 0;
  try {
    return await fn();
  } finally {
    if (mine && holder(dir) === process.pid) rmSync(dir, { recursive: true, force: true });
  }
}

/** Registers `pid` (a test run) as a user of the lab. */
export function addLabUser(paths: LabPaths, pid = process.pid): void {
  mkdirSync(usersDir(paths), { recursive: true });
  writeFileSync(join(usersDir(paths), String(pid)), `${new Date().toISOString()}\n`);
}

export function removeLabUser(paths: LabPaths, pid = process.pid): void {
  rmSync(join(usersDir(paths), String(pid)), { force: true });
}

/** Live users (dead ones are forgotten). */
export function labUsers(paths: LabPaths): number[] {
  let names: string[] = [];
  try {
    names = readdirSync(usersDir(paths));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const n of names) {
    const pid = Number(n);
    if (Number.isInteger(pid) && pidAlive(pid)) live.push(pid);
    else rmSync(join(usersDir(paths), n), { force: true });
  }
  return live.sort((a, b) => a - b);
}
