// The project's shared folder (design, research, upstream data), which lives beside the main
// checkout as ../shared. A clean clone elsewhere (CI's, for one) may have none: a test that needs
// it is then reported as skipped (counted in the run's closing line), never passed by checking
// less; and where the folder is there but lacks the file, it fails saying where it looked.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The main checkout of a git worktree (its .git is a file naming the common git folder), else undefined. */
function mainCheckout(root: string): string | undefined {
  const dotGit = path.join(root, '.git');
  if (!existsSync(dotGit) || statSync(dotGit).isDirectory()) return undefined;
  const gitdir = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
  if (!gitdir) return undefined;
  const commondirFile = path.join(gitdir, 'commondir');
  const common = existsSync(commondirFile) ? path.resolve(gitdir, readFileSync(commondirFile, 'utf8').trim()) : gitdir;
  return path.dirname(common);
}

/** Where the shared folder may be: $VMSTATION_SHARED, beside this checkout, beside the main checkout of a worktree. */
export function sharedCandidates(root = ROOT): string[] {
  const main = mainCheckout(root);
  return [process.env.VMSTATION_SHARED, path.resolve(root, '../shared'), main && path.resolve(main, '../shared')].filter((p): p is string => Boolean(p));
}

/** The path of `relative` inside the shared folder; throws (failing the test) when no shared folder holds it. */
export function sharedFile(relative: string): string {
  const tried = sharedCandidates().map((dir) => path.join(dir, relative));
  const found = tried.find((f) => existsSync(f));
  if (!found) throw new Error(`this test needs the project's shared folder, but ${relative} is in none of: ${tried.join(', ')}. Put shared/ beside the checkout or set VMSTATION_SHARED.`);
  return found;
}

/** Whether any shared folder is there (a test that needs it is skipped, visibly, when none is). */
export function hasSharedFolder(): boolean {
  return sharedCandidates().some((dir) => existsSync(dir));
}
