// Clusters for the observability tests: the bundled example, and variants of it produced by
// editing the file and running it through the real validator (so defaults are resolved).
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const EXAMPLE = readFileSync(path.join(ROOT, 'examples/vmstation.yaml'), 'utf8');

function load(text: string, file: string): Cluster {
  const result = validateText({ file, text });
  if (!result.cluster) throw new Error(`fixture does not validate: ${JSON.stringify(result.problems.filter((p) => p.severity === 'error'))}`);
  return result.cluster;
}

export function exampleCluster(): Cluster {
  return load(EXAMPLE, 'examples/vmstation.yaml');
}

/** The example with `edit` applied to its parsed document. */
export function variant(edit: (doc: { spec: Record<string, any> }) => void): Cluster {
  const doc = parse(EXAMPLE) as { spec: Record<string, any> };
  edit(doc);
  return load(stringify(doc), 'variant.yaml');
}

export const VARIANTS: Record<string, () => Cluster> = {
  example: exampleCluster,
  'static storage': () => variant((d) => (d.spec.monitoring.storage = { mode: 'static', path: '/srv/vmstation' })),
  promtail: () => variant((d) => (d.spec.monitoring.logShipper = 'promtail')),
  'anonymous off, other namespace': () =>
    variant((d) => {
      d.spec.monitoring.grafana.anonymousRole = 'None';
      d.spec.monitoring.namespace = 'observability';
      d.spec.monitoring.loki.retention = '36h';
    }),
  // The choice issue 17 §4 warns about: Alertmanager's and Loki's APIs on NodePorts.
  'Alertmanager and Loki exposed': () =>
    variant((d) => {
      d.spec.monitoring.alertmanager = { nodePort: 30903 };
      d.spec.monitoring.loki.nodePort = 31100;
    }),
};
