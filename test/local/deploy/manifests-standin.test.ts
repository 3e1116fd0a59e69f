// Manifests of the example applied with server-side apply to the Kubernetes API stand-in
// (lab/kube-apiserver-standin, in-process on 127.0.0.1): created, re-applied with zero changes,
// rollouts waited for by kind, one component removed and pruned; Secrets from the vault only.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { ObjectClient } from '../../../src/adapters/kube/apply.js';
import { applyManifests, countOutcomes, orderForApply, parseManifests, pruneManifests, rolloutDone } from '../../../src/deploy/manifests.js';
import { renderCluster } from '../../../src/render/index.js';
import { loadClusterFile } from '../../unit/deploy/helpers.js';

const cluster = loadClusterFile('examples/vmstation.yaml');
const rendered = renderCluster(cluster);
const manifestFiles = rendered.filter((a) => a.path.startsWith('manifests/')).map((a) => ({ path: a.path, content: a.content }));
const GRAFANA_PASSWORD = 'not-in-any-file-7f3a';

describe('manifests against the Kubernetes API stand-in', () => {
  let standin: Standin;
  let client: ObjectClient;
  const deps = () => ({
    client,
    secrets: (name: string) => Promise.resolve(({ 'grafana-admin-password': GRAFANA_PASSWORD, 'power-api-token': 'api-token-from-vault', 'power-ssh-key': 'POWER MANAGER KEY (test)\n' } as Record<string, string>)[name]),
    // The power manager's SSH Secret carries the private key and known_hosts named in the cluster file.
    // The operator's own key (id_ed25519) must never be read for the power manager (issue 17 §4).
    readLocal: (file: string) => Promise.resolve(file.endsWith('known_hosts') ? '192.168.4.63 ssh-ed25519 AAAA\n' : file.endsWith('id_ed25519') ? 'OPERATOR KEY (must not be used)\n' : undefined),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 20))),
    now: Date.now,
    pollMs: 20,
    rolloutTimeoutMs: 20_000,
  });

  beforeAll(async () => {
    standin = await startStandin({ nodes: cluster.spec.nodes.map((n) => ({ name: n.name, roles: n.roles, labels: n.labels, probe: false })) });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'standin-kc-')), 'kubeconfig');
    await standin.writeKubeconfig(file);
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    client = new ObjectClient(kc);
  });
  afterAll(async () => {
    await standin?.stop();
  });

  it('orders namespaces and CRDs first and workloads last', () => {
    const kinds = orderForApply(parseManifests(manifestFiles)).map((o) => o.object.kind);
    expect(kinds[0]).toBe('Namespace');
    expect(kinds.lastIndexOf('Namespace')).toBeLessThan(kinds.indexOf('ConfigMap'));
    expect(kinds.indexOf('Deployment')).toBeGreaterThan(kinds.lastIndexOf('Service'));
  });

  it('applies every manifest, creates the vault Secret, and waits for each rollout by its kind', async () => {
    const report = await applyManifests(cluster, manifestFiles, deps());
    const counts = countOutcomes(report);
    expect(counts.created).toBeGreaterThan(30);
    expect(counts.unchanged + counts.configured).toBe(0);
    const kinds = new Set(report.rollouts.map((r) => r.ref.kind));
    expect([...kinds].sort()).toEqual(['DaemonSet', 'Deployment', 'StatefulSet']);
    const secret = (await client.read({ apiVersion: 'v1', kind: 'Secret', name: 'grafana-admin', namespace: 'monitoring' })) as { data: Record<string, string> } | undefined;
    expect(Buffer.from(secret!.data.password!, 'base64').toString()).toBe(GRAFANA_PASSWORD);
    for (const a of rendered) expect(a.content, a.path).not.toContain(GRAFANA_PASSWORD);
    // The power manager's Secrets exist (token and SSH key from the vault, known_hosts from the local file).
    const token = (await client.read({ apiVersion: 'v1', kind: 'Secret', name: 'vmstation-power-manager-token', namespace: 'vmstation-system' })) as { data: Record<string, string> } | undefined;
    expect(Buffer.from(token!.data.token!, 'base64').toString()).toBe('api-token-from-vault');
    const sshSecret = (await client.read({ apiVersion: 'v1', kind: 'Secret', name: 'vmstation-power-manager-ssh', namespace: 'vmstation-system' })) as { data: Record<string, string> } | undefined;
    expect(Object.keys(sshSecret!.data).sort()).toEqual(['id', 'known_hosts']);
    // Its SSH key is its own, from the vault (power-ssh-key), not the operator's file.
    expect(Buffer.from(sshSecret!.data.id!, 'base64').toString()).toBe('POWER MANAGER KEY (test)\n');
    // The field manager is ours.
    const prom = await client.read({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'prometheus', namespace: 'monitoring' });
    expect(prom?.metadata?.managedFields?.map((f) => f.manager)).toContain('vmstation');
  });

  it('re-applies with zero changes', async () => {
    const counts = countOutcomes(await applyManifests(cluster, manifestFiles, deps()));
    expect(counts.created).toBe(0);
    expect(counts.configured).toBe(0);
    expect(counts.unchanged).toBeGreaterThan(30);
  });

  it('prunes the objects of a component removed from the render, and nothing else', async () => {
    const without = manifestFiles.filter((f) => f.path !== 'manifests/blackbox-exporter.yaml');
    const blackbox = parseManifests(manifestFiles.filter((f) => f.path === 'manifests/blackbox-exporter.yaml')).map((o) => `${o.object.kind}/${o.object.metadata?.name}`);
    expect(blackbox.length).toBeGreaterThan(1);
    const pruned = await pruneManifests(cluster, without, { client });
    expect(pruned.map((r) => `${r.kind}/${r.name}`).sort()).toEqual(blackbox.filter((k) => !k.startsWith('Namespace/')).sort());
    expect(await client.read({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'blackbox-exporter', namespace: 'monitoring' })).toBeUndefined();
    // The vault Secret is not rendered but is kept; a second prune finds nothing.
    expect(await client.read({ apiVersion: 'v1', kind: 'Secret', name: 'grafana-admin', namespace: 'monitoring' })).toBeDefined();
    expect(await client.read({ apiVersion: 'v1', kind: 'Secret', name: 'vmstation-power-manager-token', namespace: 'vmstation-system' })).toBeDefined();
    expect(await pruneManifests(cluster, without, { client })).toEqual([]);
  });

  it('times out a rollout that never finishes, naming the workload', async () => {
    const objects = parseManifests(manifestFiles.filter((f) => f.path === 'manifests/grafana.yaml')).map((o) => o.object);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    deployment.metadata!.annotations = { ...deployment.metadata!.annotations, 'standin.vmstation.io/rollout': 'hold' };
    const held = [{ path: 'manifests/grafana.yaml', content: objects.map((o) => stringify(o)).join('---\n') }];
    await expect(applyManifests(cluster, held, { ...deps(), rolloutTimeoutMs: 200 })).rejects.toMatchObject({ code: 'rollout-timeout', message: expect.stringContaining('Deployment/monitoring/grafana') });
  });
});

describe('rolloutDone (pure)', () => {
  it('judges Deployments, StatefulSets and DaemonSets by their own status fields', () => {
    const meta = { name: 'x', generation: 2 };
    expect(rolloutDone({ kind: 'Deployment', metadata: meta, spec: { replicas: 2 }, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 } }).done).toBe(true);
    expect(rolloutDone({ kind: 'Deployment', metadata: meta, spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 } }).done).toBe(false);
    // A StatefulSet has no availableReplicas in older servers: waiting on it as a Deployment never ends.
    expect(rolloutDone({ kind: 'StatefulSet', metadata: meta, spec: { replicas: 1 }, status: { observedGeneration: 2, readyReplicas: 1, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'a' } }).done).toBe(true);
    expect(rolloutDone({ kind: 'StatefulSet', metadata: meta, spec: { replicas: 1 }, status: { observedGeneration: 2, readyReplicas: 1, updatedReplicas: 1, currentRevision: 'a', updateRevision: 'b' } }).done).toBe(false);
    expect(rolloutDone({ kind: 'DaemonSet', metadata: meta, status: { observedGeneration: 2, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2 } }).done).toBe(false);
  });
});
