// Clusters the host-layer tests render: the bundled example (Debian + RHEL), the lab file, and
// variants with Kerberos on and a RHEL KDC.
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import type { Artifact } from '../../../src/render/artifact.js';
import { ansibleRenderer } from '../../../src/render/ansible/index.js';

export const ROOT = path.resolve(import.meta.dirname, '../../..');

export function clusterFromText(text: string, file = 'test.yaml'): Cluster {
  const r = validateText({ file, text });
  if (!r.cluster) throw new Error(`invalid cluster: ${JSON.stringify(r.problems)}`);
  return r.cluster;
}

// A loosely typed view of the YAML document, for small edits in tests.
type Doc = { spec: { nodes: Array<{ os: string }>; infrastructure: { kerberos: { enabled: boolean }; syslog: { port: number } } } };

function variant(file: string, edit: (doc: Doc) => void): Cluster {
  const doc = parse(readFileSync(path.join(ROOT, file), 'utf8')) as Doc;
  edit(doc);
  return clusterFromText(stringify(doc), file);
}

/** The bundled example: Debian control plane and worker, a RHEL 10 worker (user admin), firewall on. */
export const example = (): Cluster => variant('examples/vmstation.yaml', () => {});
/** The example with Kerberos on (KDC on the Debian control plane). */
export const exampleKerberos = (): Cluster => variant('examples/vmstation.yaml', (d) => (d.spec.infrastructure.kerberos.enabled = true));
/** Every node RHEL 9, Kerberos on, syslog on a non-default port: the RHEL paths of every role. */
export const rhelOnly = (): Cluster =>
  variant('examples/vmstation.yaml', (d) => {
    for (const n of d.spec.nodes) n.os = 'rhel-9';
    d.spec.infrastructure.kerberos.enabled = true;
    d.spec.infrastructure.syslog.port = 6514;
  });
export const lab = (): Cluster => variant('lab/vmstation.lab.yaml', () => {});
export const labKerberos = (): Cluster => variant('lab/vmstation.lab.yaml', (d) => (d.spec.infrastructure.kerberos.enabled = true));

export const CASES: Record<string, () => Cluster> = { example, 'example-kerberos': exampleKerberos, 'rhel-only': rhelOnly, lab, 'lab-kerberos': labKerberos };

/** Writes the renderer's files into a fresh temporary folder. */
export function writeTree(artifacts: readonly Artifact[], dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-ansible-'))): string {
  for (const a of artifacts) {
    const file = path.join(dir, a.path);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, a.content, { mode: a.mode ?? 0o644 });
  }
  return dir;
}

export function renderAnsible(cluster: Cluster): Artifact[] {
  return ansibleRenderer.render(cluster);
}
