// Which files of the Debian root filesystem make the base layer: the runtime packages' files
// (from dpkg's own lists), a few generated files, the accounts of the non-root user, and a dpkg
// status that names exactly the packages present (so image scanners see them). Pure.
import { GENERATED_PATHS, IMAGE_UID, IMAGE_USER, RUNTIME_EXCLUDES, RUNTIME_EXTRA_FILES, RUNTIME_PACKAGES } from './spec.js';

/** Top-level folders that are symlinks into /usr on a merged-/usr system (bookworm). */
export const MERGED_USR_LINKS = ['bin', 'lib', 'lib64', 'sbin'] as const;

/** dpkg lists name files under /lib, /bin, ... ; on merged /usr they live under /usr. */
export function canonicalPath(listed: string): string {
  const rel = listed.replace(/^\/+/, '').replace(/\/+$/, '');
  const top = rel.split('/')[0]!;
  return (MERGED_USR_LINKS as readonly string[]).includes(top) ? `usr/${rel}` : rel;
}

/** The parent folders of a relative path, outermost first (`a/b/c` -> `a`, `a/b`). */
export function parents(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Paragraphs of a dpkg status file whose Package is in `keep` (in the file's order). */
export function filterDpkgStatus(status: string, keep: ReadonlySet<string>): { text: string; found: string[] } {
  const found: string[] = [];
  const kept = status
    .split(/\n\n+/)
    .filter((p) => {
      const name = /^Package: (\S+)$/m.exec(p)?.[1];
      if (name === undefined || !keep.has(name)) return false;
      found.push(name);
      return true;
    })
    .map((p) => p.trim());
  return { text: kept.length === 0 ? '' : `${kept.join('\n\n')}\n`, found };
}

/** Everything `/etc/passwd` and `/etc/group` need: root and the user the controller runs as. */
export function accounts(): { passwd: string; group: string } {
  return {
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\n${IMAGE_USER}:x:${IMAGE_UID}:${IMAGE_UID}:${IMAGE_USER}:/home/${IMAGE_USER}:/usr/sbin/nologin\n`,
    group: `root:x:0:\n${IMAGE_USER}:x:${IMAGE_UID}:\n`,
  };
}

export interface BaseSelection {
  /** Relative paths to take from the root filesystem, parents before children, sorted. */
  paths: string[];
  /** Files the build writes itself (over or beside the selection). */
  written: Record<string, string>;
  /** Runtime packages the status file did not list (an error: the root filesystem lacks them). */
  missing: string[];
}

/**
 * Plans the base layer from dpkg's status file and the runtime packages' file lists (`dpkg -L`
 * output, one path per line). `generated` are the files under GENERATED_PATHS found on disk.
 */
export function selectBaseFiles(status: string, fileLists: Readonly<Record<string, string>>, generated: readonly string[]): BaseSelection {
  const keep = new Set<string>(RUNTIME_PACKAGES);
  const { text, found } = filterDpkgStatus(status, keep);
  const missing = RUNTIME_PACKAGES.filter((p) => !found.includes(p) || fileLists[p] === undefined);
  const excluded = (rel: string) => RUNTIME_EXCLUDES.some((x) => (x.endsWith('/') ? rel === x.slice(0, -1) || rel.startsWith(x) : rel === x));
  const chosen = new Set<string>();
  const add = (rel: string) => {
    if (rel === '' || rel === '.' || excluded(rel)) return;
    for (const p of parents(rel)) chosen.add(p);
    chosen.add(rel);
  };
  for (const pkg of RUNTIME_PACKAGES) for (const line of (fileLists[pkg] ?? '').split('\n')) if (line.trim() !== '' && line !== '/.') add(canonicalPath(line.trim()));
  for (const f of RUNTIME_EXTRA_FILES) add(f);
  for (const g of generated) if (GENERATED_PATHS.some((root) => g === root || g.startsWith(`${root}/`))) add(g);
  // The merged-/usr links themselves, and the folders a container runtime expects.
  for (const l of MERGED_USR_LINKS) chosen.add(l);
  for (const d of ['dev', 'etc', 'home', 'proc', 'root', 'run', 'sys', 'tmp', 'var', 'var/lib', 'var/lib/dpkg']) chosen.add(d);
  const { passwd, group } = accounts();
  const written: Record<string, string> = { 'etc/passwd': passwd, 'etc/group': group, 'var/lib/dpkg/status': text };
  for (const w of Object.keys(written)) chosen.delete(w);
  return { paths: sortPaths([...chosen]), written, missing };
}

/** Byte-wise order (what `tar --sort=name` uses), so a parent always precedes its children. */
export function sortPaths(paths: readonly string[]): string[] {
  return [...new Set(paths)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
