// A layer from a folder, reproducibly: every entry listed in byte order, every mtime set to
// SOURCE_DATE_EPOCH, owner root, no atime/ctime/xattrs (GNU tar), then `gzip -n` (no name, no
// time). Same folder and epoch, same bytes, on any machine with the same tar and gzip.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Runner } from '../power/drivers/runner.js';
import { sortPaths } from './base-files.js';
import { requireOk } from './tools.js';

/** Every entry under `root` (relative, no leading `./`), sockets and FIFOs skipped, sorted. */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isSocket() || e.isFIFO()) continue;
      out.push(child);
      if (e.isDirectory()) await walk(child);
    }
  };
  await walk('');
  return sortPaths(out);
}

/** GNU tar's options for a reproducible archive (https://reproducible-builds.org/docs/archives/). */
export function reproducibleTarArgs(root: string, listFile: string, outFile: string, epochSeconds: number): string[] {
  return [
    '--create',
    `--file=${outFile}`,
    `--directory=${root}`,
    '--no-recursion',
    '--verbatim-files-from',
    `--files-from=${listFile}`,
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epochSeconds}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--no-acls',
    '--no-xattrs',
    '--no-selinux',
  ];
}

export async function sha256File(file: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

export interface BuiltLayer {
  tar: string;
  gz: string;
  diffId: string;
  uncompressedSize: number;
  digest: string;
  size: number;
}

/** Writes `<outBase>.tar` and `<outBase>.tar.gz` from the folder `root`. */
export async function buildLayer(run: Runner, root: string, outBase: string, epochSeconds: number): Promise<BuiltLayer> {
  const entries = await listTree(root);
  const listFile = `${outBase}.list`;
  await writeFile(listFile, entries.map((e) => `${e}\n`).join(''));
  const tar = `${outBase}.tar`;
  const gz = `${tar}.gz`;
  await rm(tar, { force: true });
  await rm(gz, { force: true });
  requireOk(await run('tar', reproducibleTarArgs(root, listFile, tar, epochSeconds), { timeoutMs: 600_000 }), 'tar');
  requireOk(await run('gzip', ['-n', '-6', '--keep', tar], { timeoutMs: 600_000 }), 'gzip');
  await rm(listFile, { force: true });
  const [u, c] = await Promise.all([sha256File(tar), sha256File(gz)]);
  return { tar, gz, diffId: u.digest, uncompressedSize: u.size, digest: c.digest, size: c.size };
}

export async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

export async function sizeOf(p: string): Promise<number> {
  return (await stat(p)).size;
}
