// Golden files of the observability render: the example (Alloy, local-path), Promtail and
// static storage. Grafana, Loki and Alloy cannot run here, so for their configs these files
// are the check (see docs/observability.md). Regenerate with UPDATE_GOLDEN=1 after an intended
// change and review the diff.
import path from 'node:path';
import { renderObservability } from '../../../src/render/observability/index.js';
import { ROOT, VARIANTS } from './fixture.js';
import { describeGoldenFiles } from '../../helpers/golden.js';

describeGoldenFiles(path.join(ROOT, 'test/golden/observability'), [
  ['example', () => renderObservability(VARIANTS.example!())],
  ['promtail', () => renderObservability(VARIANTS.promtail!())],
  ['static-storage', () => renderObservability(VARIANTS['static storage']!())],
]);
