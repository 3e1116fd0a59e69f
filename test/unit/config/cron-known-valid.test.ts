// The cron expressions `cronProblem` answers without cron-parser (start-up time, issue 16 §7) must
// be ones cron-parser itself accepts, and the shortcut must not change any answer.
import { describe, expect, it } from 'vitest';
import { cronProblem, KNOWN_VALID_UTC, parserProblem } from '../../../src/config/cron.js';
import { ClusterSchema } from '../../../src/config/schema.js';

describe('cron expressions known valid in UTC', () => {
  it.each([...KNOWN_VALID_UTC])('cron-parser accepts %j in UTC', (expr) => {
    expect(parserProblem(expr, 'UTC')).toBeUndefined();
    expect(cronProblem(expr)).toBeUndefined();
  });

  it('holds the default etcd snapshot schedule of the schema', () => {
    const minimal = { apiVersion: 'vmstation.io/v1alpha1', kind: 'Cluster', metadata: { name: 'c' }, spec: { network: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', domain: 'lan' }, nodes: [{ name: 'a', address: '10.0.0.2', mac: '02:00:00:00:00:01', os: 'debian-12', roles: ['control-plane'] }] } };
    const parsed = ClusterSchema.safeParse(minimal);
    expect(parsed.error).toBeUndefined();
    expect(KNOWN_VALID_UTC.has(parsed.data?.spec.kubernetes.etcd.snapshots.schedule ?? '')).toBe(true);
  });

  it('an expression outside the set, or another zone, still goes to cron-parser', () => {
    expect(cronProblem('0 0 31 2 *')).toMatch(/never fires/);
    expect(cronProblem('0 */12 * * *', 'Europe/Berlin')).toBe(parserProblem('0 */12 * * *', 'Europe/Berlin'));
  });
});
