// The lab's record of what it made, so `down` can undo all of it, also after a crash.
// state.json is written by `lab up` (the CLI); runtime.json by the supervisor (PIDs it started).
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { LabSpec } from './lab-config.js';
import type { LabPaths } from './paths.js';

export interface BmcCredentials {
  node: string;
  address: string;
  port: number;
  username: string;
  password: string;
}

export interface LabState {
  version: 1;
  clusterFile: string;
  createdAt: string;
  spec: LabSpec;
  rootfs: string;
  bridge: string;
  /** A veth pair whose one end sits on the bridge, so the bridge keeps its carrier while every node sleeps. */
  keepalive: { bridgeEnd: string; peer: string };
  /** Addresses `up` added to the bridge (the gateway and the BMCs), as CIDRs. */
  bridgeAddresses: string[];
  /** Set when `up` mounted the tmpfs on /run/systemd/nspawn (so `down` unmounts only its own). */
  mountedNspawnTmpfs: boolean;
  bootDelayMs: number;
  bmcs: BmcCredentials[];
  /** 'cli': brought up by a person, stays up; 'tests': the last test run out takes it down. */
  owner: 'cli' | 'tests';
  supervisorPid?: number;
  standinPid?: number;
}

export interface RuntimeProcess {
  pid: number;
  /** argv[0] basename, checked before killing so a recycled PID is never hit. */
  comm: string;
  role: string;
}

export interface LabRuntime {
  supervisorPid: number;
  controlPort: number;
  processes: Record<string, RuntimeProcess>;
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export const readState = (paths: LabPaths): LabState | undefined => readJson<LabState>(paths.stateFile);
export const writeState = (paths: LabPaths, state: LabState): Promise<void> => writeJsonAtomic(paths.stateFile, state);
export const readRuntime = (paths: LabPaths): LabRuntime | undefined => readJson<LabRuntime>(paths.runtimeFile);
export const writeRuntime = (paths: LabPaths, runtime: LabRuntime): Promise<void> => writeJsonAtomic(paths.runtimeFile, runtime);
