// Host layer: applying it to the 3 lab hosts when nothing is left to change (target < 60 s),
// plus how long rendering the Ansible project takes. Needs a running lab (`npm run lab -- up`,
// as root); without one it says so and reports only the render figure.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { changedCount } from '../src/adapters/ansible/index.js';
import { validateText } from '../src/config/validate.js';
import { applyHostLayer } from '../src/host/apply.js';
import { ansibleRenderer } from '../src/render/ansible/index.js';
import { labPaths } from '../lab/paths.js';
import { fmtMs, report, timeRuns } from './_util.js';

const fixtureFile = labPaths().fixtureFile;
const clusterFile = existsSync(fixtureFile) ? (JSON.parse(readFileSync(fixtureFile, 'utf8')) as { clusterFile: string }).clusterFile : path.resolve(import.meta.dirname, '../lab/vmstation.lab.yaml');
const doc = parse(readFileSync(clusterFile, 'utf8')) as { spec: { infrastructure: { kerberos: { enabled: boolean } } } };
doc.spec.infrastructure.kerberos.enabled = true;
const { cluster, problems } = validateText({ file: clusterFile, text: stringify(doc) });
if (!cluster) throw new Error(problems.map((p) => p.message).join('; '));

const render = await timeRuns(20, () => ansibleRenderer.render(cluster));
report('render the host layer (3 nodes, median)', fmtMs(render.median), '< 100 ms', render.median < 100);

if (!existsSync(fixtureFile)) {
  console.log('no running lab: the apply figures need `npm run lab -- up` (as root)');
  process.exit(0);
}
const workDir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-bench-host-'));
const secrets = new Map([
  ['kerberos-master-password', randomBytes(18).toString('base64url')],
  ['kerberos-admin-password', randomBytes(18).toString('base64url')],
]);
try {
  // The first apply brings the hosts to the desired state (if an earlier run has not already).
  const first = await applyHostLayer({ cluster, workDir, secrets: async () => secrets });
  report('apply the host layer to 3 lab hosts (first in this bench)', `${(first.run.durationMs / 1000).toFixed(1)} s`);
  const second = await applyHostLayer({ cluster, workDir, secrets: async () => secrets });
  const s = second.run.durationMs / 1000;
  report('apply again, nothing to change (3 lab hosts)', `${s.toFixed(1)} s`, '< 60 s', s < 60);
  report('changed tasks in that second apply', String(changedCount(second.run)), '0', changedCount(second.run) === 0);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
