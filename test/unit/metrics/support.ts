// Shared by the metrics unit and integration tests: load a cluster file, write a render tree,
// run a real tool, and the one test overlay the issue allows (Kubernetes service discovery
// swapped for static targets; everything else, rules and relabeling included, unchanged).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { Cluster } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import type { Artifact } from '../../../src/render/artifact.js';

export const REPO = path.resolve(import.meta.dirname, '../../..');
export const EXAMPLE = path.join(REPO, 'examples/vmstation.yaml');
export const FULL_FIXTURE = path.join(import.meta.dirname, 'fixtures/full.yaml');

export function loadCluster(file: string, text = readFileSync(file, 'utf8')): Cluster {
  const { cluster, problems } = validateText({ file, text });
  if (!cluster) throw new Error(`${file} is not valid: ${JSON.stringify(problems, null, 2)}`);
  return cluster;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `vmstation-${prefix}-`));
}

export function writeTree(dir: string, artifacts: readonly Artifact[]): string {
  for (const a of artifacts) {
    const file = path.join(dir, ...a.path.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, a.content);
  }
  return dir;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], cwd?: string): RunResult {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a shell script in a private mount namespace with a fresh /run holding a pod's service
 * account files (a dummy token and CA), which promtool checks exist and Prometheus reads.
 * Needs root (CI runs as root); nothing outside the namespace changes.
 */
export function runWithServiceAccount(script: string, cwd?: string): RunResult {
  const sa = '/run/secrets/kubernetes.io/serviceaccount';
  const setup = `set -e; mount -t tmpfs tmpfs /run; mkdir -p ${sa}; echo test-token > ${sa}/token; echo test-ca > ${sa}/ca.crt;`;
  return run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${setup} ${script}`], cwd);
}

export type StaticGroup = { targets: string[]; labels?: Record<string, string> };

/**
 * The test overlay: every `kubernetes_sd_configs` becomes `static_configs` with the given targets
 * (none when a job has nothing to discover here). Static labels may carry the `__meta_kubernetes_*`
 * labels discovery would have set, so the job's relabeling runs unchanged.
 */
export function swapKubernetesSd(prometheusYml: string, targets: Record<string, StaticGroup[]> = {}): string {
  const config = parse(prometheusYml) as { scrape_configs: Array<Record<string, unknown> & { job_name: string }> };
  for (const job of config.scrape_configs) {
    if (!('kubernetes_sd_configs' in job)) continue;
    delete job.kubernetes_sd_configs;
    job.static_configs = targets[job.job_name] ?? [];
  }
  return stringify(config, { lineWidth: 0 });
}

export function artifactText(artifacts: readonly Artifact[], p: string): string {
  const a = artifacts.find((x) => x.path === p);
  if (!a) throw new Error(`no artifact ${p}`);
  return a.content;
}
