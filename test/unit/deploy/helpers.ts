// Loads cluster files for deploy tests through the real validator.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateText } from '../../../src/config/validate.js';
import type { Cluster } from '../../../src/config/model.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function loadClusterFile(relative: string): Cluster {
  const text = readFileSync(`${REPO}${relative}`, 'utf8');
  return clusterFromText(text, relative);
}

export function clusterFromText(text: string, file = 'test.yaml'): Cluster {
  const r = validateText({ file, text });
  if (!r.cluster) throw new Error(`${file}: ${r.problems.map((p) => `${p.code} ${p.message}`).join('; ')}`);
  return r.cluster;
}

/** The bundled example with `spec.kubernetes` fields replaced. */
export function exampleWith(replace: (text: string) => string): Cluster {
  return clusterFromText(replace(readFileSync(`${REPO}examples/vmstation.yaml`, 'utf8')), 'examples/vmstation.yaml');
}
