// Writes a render tree all at once: into a temporary sibling folder, then swapped in, so a
// failure never leaves half a tree. A folder is replaced only when its index.json is ours (a
// vmstation RenderIndex): files that index lists are ours to replace or delete; any other file
// (the user's notes, admin.conf that Kubespray writes next to its inventory) is carried over into
// the new tree untouched, so we never delete a file we did not write.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { userError } from '../errors.js';
import type { Artifact } from './artifact.js';
import { INDEX_FILE, parseRenderIndex } from './registry.js';

export async function writeRenderTree(cwd: string, outDir: string, artifacts: readonly Artifact[]): Promise<string> {
  const target = path.resolve(cwd, outDir);
  const existing = await listFiles(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw userError('render-target-unreadable', `cannot read ${outDir}: ${err.code ?? err.message}`, 'choose another folder with -o');
  });
  const carried = existing && existing.length > 0 ? await foreignFiles(target, outDir, existing, artifacts) : [];

  const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    for (const a of artifacts) {
      const file = path.join(tmp, ...a.path.split('/'));
      if (!file.startsWith(tmp + path.sep)) throw new Error(`artifact path escapes the render tree: ${a.path}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, a.content, { mode: a.mode ?? 0o644 });
    }
    await mkdir(tmp, { recursive: true });
    if (existing) {
      const old = `${target}.old-${randomBytes(4).toString('hex')}`;
      await rename(target, old);
      try {
        for (const rel of carried) {
          if (rel.endsWith('/')) await mkdir(path.join(tmp, rel), { recursive: true });
          else {
            await mkdir(path.dirname(path.join(tmp, rel)), { recursive: true });
            await rename(path.join(old, rel), path.join(tmp, rel));
          }
        }
        await rename(tmp, target);
      } catch (err) {
        await restore(old, tmp, target, carried);
        throw err;
      }
      await rm(old, { recursive: true, force: true });
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await stat(target);
  const rel = path.relative(cwd, target);
  return rel === '' ? '.' : rel.startsWith('..') ? target : rel;
}

/**
 * The files in an existing, non-empty target that we did not write (to carry over). Refuses a
 * folder without our index.json, and a foreign file standing where the new tree puts one of ours.
 */
async function foreignFiles(target: string, outDir: string, existing: readonly string[], artifacts: readonly Artifact[]): Promise<string[]> {
  const text = existing.includes(INDEX_FILE) ? await readFile(path.join(target, INDEX_FILE), 'utf8') : undefined;
  const index = text === undefined ? undefined : parseRenderIndex(text);
  if (!index)
    throw userError(
      'render-target-not-ours',
      `${outDir} is not empty and was not rendered by vmstation (${text === undefined ? `no ${INDEX_FILE}` : `its ${INDEX_FILE} is not a vmstation render index`})`,
      'render into a new or empty folder, or one vmstation rendered before; nothing was changed',
    );
  const ours = new Set([INDEX_FILE, ...index.files]);
  const foreign = existing.filter((f) => !ours.has(f));
  const next = new Set(artifacts.map((a) => a.path));
  const clash = foreign.filter((f) => next.has(f));
  if (clash.length > 0)
    throw userError(
      'render-target-clash',
      `${outDir} holds ${clash.length === 1 ? 'a file' : 'files'} vmstation did not write where the new render puts its own: ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ', ...' : ''}`,
      'move those files away (they are yours, so vmstation will not overwrite them), then render again; nothing was changed',
    );
  return foreign;
}

/** Puts the old tree back after a failed swap (carried files return to it first). */
async function restore(old: string, tmp: string, target: string, carried: readonly string[]): Promise<void> {
  for (const rel of carried) if (!rel.endsWith('/')) await rename(path.join(tmp, rel), path.join(old, rel)).catch(() => undefined);
  await rename(old, target).catch(() => undefined);
}

/**
 * Every file (and symlink) under dir, and every empty folder (with a trailing slash), as
 * forward-slash paths relative to it, sorted.
 */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const rel = (p: string) => path.relative(dir, p).split(path.sep).join('/');
  const files = entries.filter((e) => !e.isDirectory()).map((e) => rel(path.join(e.parentPath, e.name)));
  const parents = new Set(entries.map((e) => rel(e.parentPath)));
  const emptyDirs = entries.filter((e) => e.isDirectory() && !parents.has(rel(path.join(e.parentPath, e.name)))).map((e) => `${rel(path.join(e.parentPath, e.name))}/`);
  return [...files, ...emptyDirs].sort();
}
