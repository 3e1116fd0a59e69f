// Small helpers shared by the benchmark scripts.
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { labPaths } from '../lab/paths.js';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export async function timeRuns(runs: number, fn: () => unknown): Promise<{ median: number; p95: number; min: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), p95: percentile(times, 95), min: times[0]!, max: times[times.length - 1]! };
}

export function fmtMs(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}

export function report(label: string, value: string, target?: string, ok?: boolean): void {
  const verdict = ok === undefined ? '' : ok ? '  OK' : '  MISSED';
  console.log(`${label.padEnd(58)} ${value.padStart(12)}${target ? `   (target ${target})` : ''}${verdict}`);
}

/** A generated cluster file with `count` nodes (1 control plane, the rest sleeping workers). */
export function generatedClusterYaml(count: number): string {
  const nodes: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = 10 + Math.floor(i / 250);
    const b = (i % 250) + 1;
    const mac = `02:00:00:00:${a.toString(16).padStart(2, '0')}:${b.toString(16).padStart(2, '0')}`;
    nodes.push(
      [
        `    - name: node${i}`,
        `      address: 10.${a}.0.${b}`,
        `      mac: "${mac}"`,
        `      os: ${i % 3 === 2 ? 'rhel-10' : 'debian-12'}`,
        `      roles: [${i === 0 ? 'control-plane' : 'worker'}]`,
        `      labels: { rack: r${i % 8} }`,
        `      power:`,
        `        autoSleep: ${i === 0 ? 'false' : 'true'}`,
        `        watts: { awake: 80, asleep: 3 }`,
      ].join('\n'),
    );
  }
  return `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata:
  name: big
spec:
  network:
    subnet: 10.0.0.0/8
  kubernetes:
    podSubnet: 172.16.0.0/12
    serviceSubnet: 192.168.0.0/16
    nodePrefix: 24
  nodes:
${nodes.join('\n')}
  monitoring:
    node: node0
    grafana:
      adminPassword: { secret: grafana-admin-password }
`;
}

/** The running lab's cluster file and kubeconfig; exits (0, with the reason) when no lab runs. */
export function runningLab(): { clusterFile: string; kubeconfig: string | null } {
  const fixtureFile = labPaths().fixtureFile;
  if (!existsSync(fixtureFile)) {
    console.log('no running lab: this bench needs `npm run lab -- up` (as root)');
    process.exit(0);
  }
  return JSON.parse(readFileSync(fixtureFile, 'utf8')) as { clusterFile: string; kubeconfig: string | null };
}
