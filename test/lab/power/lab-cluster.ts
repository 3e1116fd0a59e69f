// The lab's cluster file with test timings, for controllers the lab tests run against the lab
// (the lab's own file keeps the example's timings), and the lab's kubeconfig and fault switches.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, type Document } from 'yaml';
import { control, labFixture } from '../../../lab/test/lab-fixture.js';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';

/**
 * wakeTimeout 40s x 2 attempts, idleAfter 1h (nothing sleeps unless a test asks), minAwake 1s,
 * bootSeconds 5 on the workers (homelab: WoL gets 2 x 5 s before the IPMI fallback); `edit`
 * changes the document further before it is validated.
 */
export function labCluster(edit?: (doc: Document) => void): { cluster: Cluster; file: string } {
  const lab = labFixture();
  const doc = parseDocument(readFileSync(lab.clusterFile, 'utf8'));
  doc.setIn(['spec', 'power', 'wakeTimeout'], '40s');
  doc.setIn(['spec', 'power', 'wakeAttempts'], 2);
  doc.setIn(['spec', 'power', 'idleAfter'], '1h');
  doc.setIn(['spec', 'power', 'minAwake'], '1s');
  const nodes = doc.getIn(['spec', 'nodes']) as { items: Array<{ get(k: string): unknown; setIn(p: string[], v: unknown): void }> };
  for (const n of nodes.items) if (n.get('name') !== 'masternode') n.setIn(['power', 'bootSeconds'], 5);
  edit?.(doc);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'vmstation-lab-power-')), 'vmstation.yaml');
  const text = doc.toString();
  writeFileSync(file, text);
  const result = validateText({ file, text });
  if (!result.cluster) throw new Error(`the lab cluster file does not validate: ${result.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join("; ")}`);
  return { cluster: result.cluster, file };
}

/** The index of a node in spec.nodes of the lab's cluster document. */
export function nodeIndex(doc: Document, name: string): number {
  const nodes = doc.getIn(['spec', 'nodes']) as { items: Array<{ get(k: string): unknown }> };
  const i = nodes.items.findIndex((n) => n.get('name') === name);
  if (i < 0) throw new Error(`no node ${name} in the lab's cluster file`);
  return i;
}

export function labKubeconfig(): string {
  const k = labFixture().kubeconfig;
  if (!k) throw new Error('the lab runs without its Kubernetes API stand-in (lab.json kubeconfig is null)');
  return k;
}

/** Sets or clears (`{ clear: true }`) a node's faults in the lab's power emulator. */
export async function faults(node: string, body: Record<string, unknown>): Promise<void> {
  await control(`/nodes/${node}/faults`, { method: body['clear'] ? 'DELETE' : 'POST', body: JSON.stringify(body) });
}
