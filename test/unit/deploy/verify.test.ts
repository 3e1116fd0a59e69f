// verify's verdicts (pure): nodes, rollouts, Prometheus targets with sleeping nodes expected
// down, chrony's tracking output, the table.
import { describe, expect, it } from 'vitest';
import { asleepNodes, checkNodes, checkTargets, checkWorkloads, formatVerify, parseChronyTracking, type PromTarget } from '../../../src/deploy/verify.js';
import { loadClusterFile } from './helpers.js';

const cluster = loadClusterFile('examples/vmstation.yaml');
const node = (name: string, ready: string, state?: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, ...(state ? { annotations: { 'vmstation.io/power-state': state } } : {}) },
  status: { conditions: [{ type: 'Ready', status: ready }] },
});

describe('verify verdicts', () => {
  it('nodes: Ready passes, asleep on purpose passes, missing or NotReady fails with a hint', () => {
    const checks = checkNodes(cluster, [node('masternode', 'True'), node('storagenodet3500', 'Unknown', 'asleep')]);
    expect(checks.map((c) => [c.name, c.status, c.detail])).toEqual([
      ['node masternode Ready', 'pass', 'Ready'],
      ['node storagenodet3500 Ready', 'pass', 'asleep on purpose (Ready=Unknown)'],
      ['node homelab Ready', 'fail', 'not registered in the cluster'],
    ]);
    expect(checkNodes(cluster, [node('homelab', 'False')]).find((c) => c.name.includes('homelab'))!.hint).toContain('kubelet');
    expect([...asleepNodes([node('a', 'True', 'asleep'), node('b', 'True', 'awake')])]).toEqual(['a']);
  });

  it('workloads: judged by kind; a DaemonSet short by the sleeping nodes passes', () => {
    const rendered = [
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'node-exporter', namespace: 'monitoring' } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'prometheus', namespace: 'monitoring' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'prometheus', namespace: 'monitoring' } },
    ];
    const live = new Map<string, object | undefined>([
      ['DaemonSet/monitoring/node-exporter', { kind: 'DaemonSet', metadata: { generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 } }],
      ['StatefulSet/monitoring/prometheus', undefined],
    ]);
    const checks = checkWorkloads(rendered, live as never, 1);
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['DaemonSet monitoring/node-exporter rolled out', 'pass'],
      ['StatefulSet monitoring/prometheus rolled out', 'fail'],
    ]);
    expect(checkWorkloads(rendered.slice(0, 1), live as never, 0)[0]!.status).toBe('fail');
  });

  it('Prometheus targets: down on a sleeping node is expected, elsewhere it fails naming the job', () => {
    const t = (job: string, url: string, health: string, lastError = ''): PromTarget => ({ labels: { job }, scrapeUrl: url, health, lastError });
    const targets = [t('node-exporter', 'http://192.168.4.63:9100/metrics', 'up'), t('node-exporter', 'http://192.168.4.61:9100/metrics', 'down', 'connection refused')];
    expect(checkTargets(cluster, targets, new Set(['storagenodet3500']))).toMatchObject({ status: 'pass', detail: '1 up, 1 down on sleeping nodes (expected)' });
    const failed = checkTargets(cluster, targets, new Set());
    expect(failed).toMatchObject({ status: 'fail', detail: '1 of 2 down: node-exporter http://192.168.4.61:9100/metrics (connection refused)' });
    expect(checkTargets(cluster, new Error('connect ECONNREFUSED'), new Set())).toMatchObject({ status: 'fail', detail: 'cannot ask Prometheus: connect ECONNREFUSED' });
  });

  it('reads the system time offset from chronyc -c tracking', () => {
    // Recorded from chronyc 4.3 (Debian 12) talking to a chronyd that had no reachable source yet.
    const unsynced = '00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised\n';
    expect(parseChronyTracking(unsynced)).toEqual({ offset: 0, synced: false });
    // The same format with a source selected: the offset (field 5) and the leap status (last field) are what verify reads.
    const synced = unsynced.replace('0.000,0.000,0.000,1.000000000', '0.000,0.000,0.000,1.000000000').replace(/^00000000,,0,0\.000000000,0\.000000000/, '0A4E0001,10.78.0.1,3,1795735252.068052128,-0.000012345').replace('Not synchronised', 'Normal');
    expect(parseChronyTracking(synced)).toEqual({ offset: -0.000012345, synced: true });
    expect(parseChronyTracking('506 Cannot talk to daemon')).toBeUndefined();
  });

  it('prints a table with hints for failures', () => {
    const text = formatVerify({ ok: false, checks: [{ name: 'Grafana healthy', status: 'fail', detail: '/api/health: 502', hint: 'kubectl -n monitoring logs deploy/grafana' }, { name: 'Loki ready', status: 'pass', detail: 'ready' }] });
    expect(text).toMatch(/^CHECK\s+STATUS\s+DETAIL\s+HINT$/m);
    expect(text).toMatch(/^Grafana healthy\s+FAIL\s+\/api\/health: 502\s+kubectl -n monitoring logs deploy\/grafana$/m);
    expect(text.endsWith('verify failed: 1 of 2 checks')).toBe(true);
  });
});
