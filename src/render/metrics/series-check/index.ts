// Runs the "alerts that can fire" check over a rendered tree: prometheus.yml, the rule files,
// blackbox.yml and every manifest (all renderers: Services annotated for scraping come from the
// observability and power renderers too).
import { parse, parseAllDocuments } from 'yaml';
import type { Cluster } from '../../../config/model.js';
import type { Artifact } from '../../artifact.js';
import { checkRuleSeries, type ExporterSwitches, type SeriesProblem } from './check.js';
import { exporterCatalogs, type ExporterCatalog } from './catalog.js';
import { targetGroups, type RenderedObject, type ScrapeJob, type TargetGroup } from './targets.js';

export type { SeriesProblem } from './check.js';
export { analyse } from './check.js';

function text(artifacts: readonly Artifact[], path: string): string | undefined {
  return artifacts.find((a) => a.path === path)?.content;
}

function containerArgs(objects: readonly RenderedObject[], app: string): string[] | undefined {
  const w = objects.find((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind) && o.metadata.labels?.['app.kubernetes.io/name'] === app);
  const spec = (w?.spec?.template as { spec?: { containers?: Array<{ args?: string[] }> } } | undefined)?.spec;
  return spec?.containers?.[0]?.args;
}

/** Collectors and resources the rendered exporters run with (prometheus/node_exporter@v1.11.1: --collector.X / --no-collector.X). */
export function exporterSwitches(objects: readonly RenderedObject[], catalogs: readonly ExporterCatalog[]): ExporterSwitches {
  const nodeArgs = containerArgs(objects, 'node-exporter') ?? [];
  const collectors = new Set(catalogs.find((c) => c.id === 'node-exporter')?.defaultCollectors ?? []);
  for (const a of nodeArgs) {
    const on = /^--collector\.([a-z_]+)$/.exec(a);
    const off = /^--no-collector\.([a-z_]+)$/.exec(a);
    if (on) collectors.add(on[1]!);
    if (off) collectors.delete(off[1]!);
  }
  const resources = containerArgs(objects, 'kube-state-metrics')?.find((a) => a.startsWith('--resources='));
  return { nodeExporterCollectors: collectors, ksmResources: resources ? new Set(resources.slice('--resources='.length).split(',')) : undefined };
}

export interface RenderedScrape {
  groups: TargetGroup[];
  switches: ExporterSwitches;
  rules: Array<{ alert: string; expr: string }>;
}

export function renderedScrape(cluster: Cluster, artifacts: readonly Artifact[], catalogs: readonly ExporterCatalog[] = exporterCatalogs()): RenderedScrape {
  const prom = text(artifacts, 'configs/prometheus/prometheus.yml');
  if (!prom) return { groups: [], switches: { nodeExporterCollectors: new Set(), ksmResources: undefined }, rules: [] };
  const jobs = (parse(prom) as { scrape_configs?: ScrapeJob[] }).scrape_configs ?? [];
  const objects = artifacts
    .filter((a) => a.path.startsWith('manifests/'))
    .flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJS() as RenderedObject | null))
    .filter((o): o is RenderedObject => o !== null && typeof o === 'object' && 'kind' in o);
  const blackbox = text(artifacts, 'configs/blackbox/blackbox.yml');
  const modules = blackbox ? ((parse(blackbox) as { modules?: Record<string, { prober?: string; tcp?: { tls?: boolean } }> }).modules ?? {}) : {};
  const rules = artifacts
    .filter((a) => a.path.startsWith('configs/prometheus/rules/'))
    .flatMap((a) => (parse(a.content) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules));
  return { groups: targetGroups(cluster, jobs, objects, modules), switches: exporterSwitches(objects, catalogs), rules };
}

/** Problems of every alert rule in a rendered tree (empty when every rule can fire). */
export function checkRenderedRules(cluster: Cluster, artifacts: readonly Artifact[], catalogs: readonly ExporterCatalog[] = exporterCatalogs()): SeriesProblem[] {
  const scrape = renderedScrape(cluster, artifacts, catalogs);
  return checkRuleSeries(scrape.rules, scrape.groups, scrape.switches, catalogs);
}
