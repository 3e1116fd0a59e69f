// The lab project's global setup: one lab for the whole run. Registers this run as a
// user of the lab, brings the lab up unless it is up already, and at the end takes it down if
// no other run uses it and no person started it with `lab up` (down asserts nothing is left).
// Tests find it through VMSTATION_LAB_FIXTURE (lab.json in the state folder; lab-fixture.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { down, downIfUnused, up } from '../lifecycle.js';
import { addLabUser, removeLabUser } from '../lock.js';
import { labPaths } from '../paths.js';

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const paths = labPaths();
  process.env.VMSTATION_LAB_FIXTURE = paths.fixtureFile;
  if (process.env.VMSTATION_LAB === '0') {
    process.env.VMSTATION_LAB_UNAVAILABLE = 'VMSTATION_LAB=0 was set: no lab this run';
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    process.env.VMSTATION_LAB_UNAVAILABLE = 'the lab needs root; run the lab project as root';
    console.warn(`[lab] ${process.env.VMSTATION_LAB_UNAVAILABLE}`);
    return undefined;
  }
  const log = (l: string): void => console.log(`[lab] ${l}`);
  // Registered before `up`, so a run finishing meanwhile does not take the lab down under us.
  addLabUser(paths);
  try {
    const r = await up({ log, owner: 'tests' });
    log(r.reused ? 'reusing the lab that is already up' : `up in ${(r.totalMs / 1000).toFixed(1)}s${r.rootfsBuilt ? ` (root filesystem built in ${(r.rootfsMs / 1000).toFixed(1)}s)` : ''}`);
  } catch (e) {
    for (const f of ['supervisor.log', 'masternode.console.log', 'kube-standin.log']) console.error(`[lab] --- ${f}\n${tail(join(paths.logsDir, f))}`);
    removeLabUser(paths);
    await down({ log }).catch((d: unknown) => console.error(`[lab] down after a failed up: ${String(d)}`));
    throw e;
  }
  return async () => {
    removeLabUser(paths);
    if (await downIfUnused({ log })) log('down: nothing left behind');
    else log('left up (another run uses it, or it was started with `npm run lab -- up`)');
  };
}
