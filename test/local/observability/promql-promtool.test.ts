// Every PromQL query of the dashboards through the real Prometheus parser: they become
// recording rules in a rules file that `promtool check rules` (Debian's prometheus package)
// parses. This complements the lezer grammar test with the parser Prometheus itself runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDashboards, DATASOURCES } from '../../../src/render/observability/grafana/dashboards.js';
import { substituteVariables } from '../../unit/observability/queries.js';
import { exampleCluster } from '../../unit/observability/fixture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmstation-promql-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function checkRules(exprs: readonly string[]): { code: number | null; out: string } {
  const file = path.join(dir, `rules-${exprs.length}-${Date.now()}.yaml`);
  writeFileSync(file, stringify({ groups: [{ name: 'dashboard-queries', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('dashboard PromQL through promtool', () => {
  const exprs = buildDashboards(exampleCluster()).flatMap((d) =>
    (d.json.panels ?? []).flatMap((p) =>
      ((p as { targets?: Array<{ expr?: string; datasource?: { uid?: string } }> }).targets ?? [])
        .filter((t) => t.datasource?.uid === DATASOURCES.prometheus.uid && t.expr)
        .map((t) => substituteVariables(t.expr!)),
    ),
  );

  it('parses every query', () => {
    expect(exprs.length).toBeGreaterThan(40);
    const r = checkRules(exprs);
    expect(r.out).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(r.code).toBe(0);
  });

  it('fails on a broken query (the check is not vacuous)', () => {
    const r = checkRules(['sum by (node (rate(up[5m]))']);
    expect(r.code).not.toBe(0);
  });
});
