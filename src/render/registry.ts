// Renderers are listed in src/render/index.ts. Rendering is pure: a Cluster in, artifacts out, same bytes
// every time (sorted by path; index.json lists them all).
import type { Cluster } from '../config/model.js';
import type { Artifact } from './artifact.js';

/** Facts from outside the cluster file that a renderer may need (decided at the CLI's edge). */
export interface RenderContext {
  /** The power manager's image reference (default: the unpinned tag, IMAGES.vmstation). */
  powerImage?: string | undefined;
}

export interface Renderer {
  /** Short name, e.g. `monitoring`, `ansible`, `kubespray`. */
  name: string;
  render(cluster: Cluster, context?: RenderContext): Artifact[];
}

export interface IndexEntry {
  path: string;
  component: string;
  checker: string;
  renderer: string;
  sha256?: string;
}

export const INDEX_FILE = 'index.json';
const INDEX_API_VERSION = 'vmstation.io/v1alpha1';
const INDEX_KIND = 'RenderIndex';

/**
 * The files a render index says vmstation wrote, or undefined when the text is not one of our
 * render indexes (another tool's index.json, a hand-written file, garbage).
 */
export function parseRenderIndex(text: string): { cluster: string; files: string[] } | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { apiVersion, kind, cluster, artifacts } = doc as Record<string, unknown>;
  if (apiVersion !== INDEX_API_VERSION || kind !== INDEX_KIND || typeof cluster !== 'string' || !Array.isArray(artifacts)) return undefined;
  const files: string[] = [];
  for (const a of artifacts as unknown[]) {
    const p = typeof a === 'object' && a !== null ? (a as { path?: unknown }).path : undefined;
    if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.split('/').includes('..')) return undefined;
    files.push(p);
  }
  return { cluster, files };
}

/** Names in `only` that no renderer has (a typo must not render nothing and replace a tree). */
export function unknownRendererNames(renderers: readonly Renderer[], only: readonly string[]): string[] {
  const known = new Set(renderers.map((r) => r.name));
  return only.filter((n) => !known.has(n));
}

/** Runs the renderers (or those named) and adds index.json. */
export function renderAll(cluster: Cluster, renderers: readonly Renderer[], only?: readonly string[], context: RenderContext = {}): Artifact[] {
  const unknown = only ? unknownRendererNames(renderers, only) : [];
  if (unknown.length > 0) throw new Error(`unknown renderer names: ${unknown.join(', ')}`);
  const out: Array<Artifact & { renderer: string }> = [];
  for (const r of renderers) {
    if (only && !only.includes(r.name)) continue;
    for (const a of r.render(cluster, context)) out.push({ ...a, renderer: r.name });
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.path === out[i - 1]!.path) throw new Error(`two renderers wrote ${out[i]!.path}`);
  }
  const index: IndexEntry[] = out.map((a) => ({ path: a.path, component: a.component, checker: a.checker, renderer: a.renderer }));
  const artifacts: Artifact[] = out.map(({ renderer: _r, ...a }) => a);
  artifacts.push({
    path: INDEX_FILE,
    component: 'index',
    checker: 'json',
    content: `${JSON.stringify({ apiVersion: INDEX_API_VERSION, kind: INDEX_KIND, cluster: cluster.metadata.name, artifacts: index }, null, 2)}\n`,
  });
  return artifacts;
}
