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

/** Runs the renderers (or those named) and adds index.json. */
export function renderAll(cluster: Cluster, renderers: readonly Renderer[], only?: readonly string[], context: RenderContext = {}): Artifact[] {
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
    path: 'index.json',
    component: 'index',
    checker: 'json',
    content: `${JSON.stringify({ apiVersion: 'vmstation.io/v1alpha1', kind: 'RenderIndex', cluster: cluster.metadata.name, artifacts: index }, null, 2)}\n`,
  });
  return artifacts;
}
