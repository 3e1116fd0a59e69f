// The integration project's global setup: one lab for the whole run. Brings it up once (unless
// one is already up, which it then leaves running) and takes it down at the end, asserting that
// nothing is left behind. Tests find it through VMSTATION_LAB_FIXTURE (lab.json in the state
// folder; see lab/test/lab-fixture.ts).
import { down, labIsUp, up } from '../lifecycle.js';
import { labPaths } from '../paths.js';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const paths = labPaths();
  process.env.VMSTATION_LAB_FIXTURE = paths.fixtureFile;
  if (process.env.VMSTATION_LAB === '0') {
    process.env.VMSTATION_LAB_UNAVAILABLE = 'VMSTATION_LAB=0 was set: no lab this run';
    return undefined;
  }
  if (process.getuid?.() !== 0) {
    process.env.VMSTATION_LAB_UNAVAILABLE = 'the lab needs root; run the integration tests as root';
    console.warn(`[lab] ${process.env.VMSTATION_LAB_UNAVAILABLE}`);
    return undefined;
  }
  if (await labIsUp(paths)) {
    console.log('[lab] reusing the lab that is already up (it stays up after the run)');
    return undefined;
  }
  const r = await up({ log: (l) => console.log(`[lab] ${l}`) });
  console.log(`[lab] up in ${(r.totalMs / 1000).toFixed(1)}s${r.rootfsBuilt ? ` (root filesystem built in ${(r.rootfsMs / 1000).toFixed(1)}s)` : ''}`);
  return async () => {
    await down({ log: (l) => console.log(`[lab] ${l}`) });
    console.log('[lab] down: nothing left behind');
  };
}
