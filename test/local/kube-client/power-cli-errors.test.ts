// `vmstation power status|wake|sleep` when the Kubernetes side is wrong: no kubeconfig, a broken
// one, an API server that refuses connections, a Node the cluster does not have. Each is exit 1
// with a code and a hint, never an internal error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { startTestStandin, type TestStandin } from '../kube-standin/helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-power-cli-'));
const cluster = path.resolve('examples/vmstation.yaml');
const refused = path.join(dir, 'refused');
writeFileSync(refused, 'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]\ncontexts: [{ name: c, context: { cluster: c } }]\ncurrent-context: c\n');
let t: TestStandin;

beforeAll(async () => {
  t = await startTestStandin({ nodes: [{ name: 'masternode', roles: ['control-plane'], probe: false }] });
});
afterAll(async () => t?.stop());

describe('power verbs with a bad Kubernetes connection', () => {
  it('no kubeconfig anywhere: kubeconfig-missing with where to find one', async () => {
    const r = await runCli(['power', 'status', '-f', cluster], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[kubeconfig-missing]');
    expect(r.stderr).toContain('hint: pass --kubeconfig FILE');
  });

  it('$KUBECONFIG is honoured, and a context that is not there is named', async () => {
    const r = await runCli(['power', 'status', '-f', cluster, '--context', 'nope'], { env: { HOME: dir, KUBECONFIG: t.kubeconfig } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error[kubeconfig-invalid]: ${t.kubeconfig}: no context named "nope"`);
  });

  it('an API server that refuses the connection: kube-unreachable for status, wake and sleep', async () => {
    for (const args of [['power', 'status'], ['power', 'wake', 'storagenodet3500'], ['power', 'sleep', 'storagenodet3500', '--yes']]) {
      const r = await runCli([...args, '-f', cluster, '--kubeconfig', refused], { env: { HOME: dir } });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('error[kube-unreachable]');
      expect(r.stderr).toContain('ECONNREFUSED');
      expect(r.stderr).not.toContain('internal');
    }
  });

  it('a node in the file but not in the cluster: node-not-in-cluster', async () => {
    const r = await runCli(['power', 'wake', 'storagenodet3500', '-f', cluster], { env: { HOME: dir, KUBECONFIG: t.kubeconfig } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[node-not-in-cluster]: the cluster has no Node named storagenodet3500');
  });
});
