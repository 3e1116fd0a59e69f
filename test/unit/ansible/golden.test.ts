// Golden files of the host layer for Debian and RHEL nodes (the bundled example has both, with
// Kerberos on; rhel-only covers the RHEL KDC). Regenerate with UPDATE_GOLDEN=1 after an
// intended change and review the diff.
import path from 'node:path';
import { ROOT, exampleKerberos, renderAnsible, rhelOnly } from './clusters.js';
import { describeGoldenFiles } from '../../helpers/golden.js';

describeGoldenFiles(path.join(ROOT, 'test/golden/ansible'), [
  ['example-kerberos', () => renderAnsible(exampleKerberos())],
  ['rhel-only', () => renderAnsible(rhelOnly())],
]);
