// Per-node cgroups in the hybrid layout: each node's nspawn starts from its own folder in the
// name=systemd and unified hierarchies (else every container shares one `payload` cgroup and
// systemd inside misbehaves), plus the memory controller, which measures the node.
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CGROUP_PARENT, CGROUP_ROOTS, nodeCgroups } from './paths.js';

export async function ensureNodeCgroups(node: string): Promise<string[]> {
  const dirs = nodeCgroups(node).filter((d) => existsSync(join(d, '..', '..')));
  for (const d of dirs) await mkdir(d, { recursive: true });
  return dirs;
}

/** Every folder under `dir` (itself included), deepest first. */
export function cgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupTree(join(dir, e.name)));
  out.push(dir);
  return out;
}

export function cgroupPids(dir: string): number[] {
  const pids = new Set<number>();
  for (const d of cgroupTree(dir)) {
    try {
      for (const line of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line.trim()) pids.add(Number(line));
    } catch {
      // the folder went away meanwhile
    }
  }
  return [...pids].sort((a, b) => a - b);
}

/** Removes the empty sub-folders a stopped container leaves (payload/, init.scope/, ...), deepest first. */
export function removeCgroupTree(dir: string, keepRoot: boolean): string[] {
  const failed: string[] = [];
  for (const d of cgroupTree(dir)) {
    if (keepRoot && d === dir) continue;
    try {
      rmdirSync(d);
    } catch {
      failed.push(d);
    }
  }
  return failed;
}

export function labCgroupParents(): string[] {
  return CGROUP_ROOTS.map((r) => join(r, CGROUP_PARENT));
}

export function memoryBytes(node: string): number | undefined {
  try {
    return Number(readFileSync(join('/sys/fs/cgroup/memory', CGROUP_PARENT, node, 'memory.usage_in_bytes'), 'utf8').trim());
  } catch {
    return undefined;
  }
}
