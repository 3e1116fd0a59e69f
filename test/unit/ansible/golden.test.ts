// Golden files of the host layer for Debian and RHEL nodes (the bundled example has both, with
// Kerberos on; rhel-only covers the RHEL KDC). The other clusters the checkers test renders
// (test/local/ansible/checkers.test.ts) have golden files for the files no real tool checks
// here (checker `golden`), so every rendered file of every case is checked by something.
// Regenerate with UPDATE_GOLDEN=1 after an intended change and review the diff.
import path from 'node:path';
import { CASES, ROOT, exampleKerberos, renderAnsible, rhelOnly } from './clusters.js';
import { describeGoldenFiles } from '../../helpers/golden.js';

const FULL = ['example-kerberos', 'rhel-only'];

describeGoldenFiles(path.join(ROOT, 'test/golden/ansible'), [
  ['example-kerberos', () => renderAnsible(exampleKerberos())],
  ['rhel-only', () => renderAnsible(rhelOnly())],
  ...Object.entries(CASES)
    .filter(([name]) => !FULL.includes(name))
    .map(([name, load]) => [name, () => renderAnsible(load()).filter((a) => a.checker === 'golden')] as const),
]);
