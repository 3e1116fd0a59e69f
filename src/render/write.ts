// Writes a render tree all at once: into a temporary sibling folder, then swapped in, so a
// failure never leaves half a tree. Refuses to replace a folder vmstation did not render.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { userError } from '../errors.js';
import type { Artifact } from './artifact.js';

export async function writeRenderTree(cwd: string, outDir: string, artifacts: readonly Artifact[]): Promise<string> {
  const target = path.resolve(cwd, outDir);
  const existing = await readdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw userError('render-target-unreadable', `cannot read ${outDir}: ${err.code}`, 'choose another folder with -o');
  });
  if (existing && existing.length > 0 && !existing.includes('index.json'))
    throw userError('render-target-not-empty', `${outDir} is not empty and was not rendered by vmstation`, 'render into a new or empty folder, or one vmstation rendered before');

  const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    for (const a of artifacts) {
      const file = path.join(tmp, ...a.path.split('/'));
      if (!file.startsWith(tmp + path.sep)) throw new Error(`artifact path escapes the render tree: ${a.path}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, a.content, { mode: a.mode ?? 0o644 });
    }
    if (existing) {
      const old = `${target}.old-${randomBytes(4).toString('hex')}`;
      await rename(target, old);
      await rename(tmp, target);
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
