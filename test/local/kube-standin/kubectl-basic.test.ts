// The real kubectl (v1.32.4 through the dispatcher, for the default server version v1.35.4)
// against the stand-in: get nodes (table, wide, json), cordon/uncordon, label, annotate,
// apply --server-side twice (second one changes nothing), conflicts, rollout status, a watch
// (get -w) and delete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlOk, startTestStandin, waitFor, type TestStandin } from './helpers.js';

let t: TestStandin;

beforeAll(async () => {
  t = await startTestStandin({
    nodes: [
      { name: 'masternode', address: '10.78.0.63', roles: ['control-plane'], probe: false },
      { name: 'storagenodet3500', address: '10.78.0.61', roles: ['worker'], probe: false, labels: { 'vmstation.io/storage': 'true' } },
      { name: 'homelab', address: '10.78.0.62', roles: ['worker'], probe: false },
    ],
  });
});
afterAll(async () => {
  await t.stop();
});

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: media
  labels: {app.kubernetes.io/managed-by: vmstation}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: jellyfin
  namespace: media
  labels: {app.kubernetes.io/managed-by: vmstation}
spec:
  replicas: 1
  selector: {matchLabels: {app: jellyfin}}
  template:
    metadata: {labels: {app: jellyfin}}
    spec:
      nodeSelector: {vmstation.io/storage: "true"}
      containers:
      - name: jellyfin
        image: jellyfin/jellyfin:10.9.11
        ports: [{containerPort: 8096}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: jellyfin-config, namespace: media}
data: {PUBLISHED_URL: "http://jellyfin.homelab.lan"}
`;

describe('kubectl against the stand-in', () => {
  it('runs kubectl v1.32.4 (the dispatcher has no 1.35 client) and gets nodes like a real cluster', async () => {
    const table = await kubectlOk(t, ['get', 'nodes']);
    const lines = table.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).filter((c, i) => i !== 3))).toEqual([
      ['homelab', 'Ready', 'worker', 'v1.35.4'],
      ['masternode', 'Ready', 'control-plane', 'v1.35.4'],
      ['storagenodet3500', 'Ready', 'worker', 'v1.35.4'],
    ]);
    const agents = new Set(t.standin.requests().map((r) => r.userAgent.split(' ')[0]));
    expect(agents).toContain('kubectl/v1.32.4');
    expect(agents).toContain('kubectl-dispatcher/v1.0');

    const wide = await kubectlOk(t, ['get', 'nodes', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME/);
    expect(wide).toMatch(/storagenodet3500\s+Ready\s+worker\s+\S+\s+v1\.35\.4\s+10\.78\.0\.61\s+<none>\s+Debian GNU\/Linux 12 \(bookworm\)/);

    const json = JSON.parse(await kubectlOk(t, ['get', 'nodes', '-o', 'json'])) as { kind: string; items: Array<{ metadata: { name: string; labels: Record<string, string> } }> };
    expect(json.kind).toBe('List');
    expect(json.items.find((n) => n.metadata.name === 'storagenodet3500')?.metadata.labels).toMatchObject({
      'kubernetes.io/hostname': 'storagenodet3500',
      'vmstation.io/storage': 'true',
    });
    const selected = await kubectlOk(t, ['get', 'nodes', '-l', 'vmstation.io/storage=true', '-o', 'name']);
    expect(selected.trim()).toBe('node/storagenodet3500');
  });

  it('cordons and uncordons (strategic merge patch of spec.unschedulable)', async () => {
    expect((await kubectlOk(t, ['cordon', 'homelab'])).trim()).toBe('node/homelab cordoned');
    expect(await kubectlOk(t, ['get', 'node', 'homelab'])).toMatch(/homelab\s+Ready,SchedulingDisabled\s+worker/);
    expect((await kubectlOk(t, ['cordon', 'homelab'])).trim()).toBe('node/homelab already cordoned');
    const patch = t.standin.requests().find((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/homelab');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    expect((await kubectlOk(t, ['uncordon', 'homelab'])).trim()).toBe('node/homelab uncordoned');
    expect(await kubectlOk(t, ['get', 'node', 'homelab', '-o', 'jsonpath={.spec.unschedulable}'])).toBe('');
    const fieldSel = await kubectlOk(t, ['get', 'nodes', '--field-selector', 'spec.unschedulable=false', '-o', 'name']);
    expect(fieldSel.trim().split('\n')).toHaveLength(3);
  });

  it('labels and annotates, and refuses to overwrite without --overwrite', async () => {
    expect((await kubectlOk(t, ['label', 'node', 'homelab', 'vmstation.io/prevent-sleep=true'])).trim()).toBe('node/homelab labeled');
    expect((await kubectlOk(t, ['annotate', 'node', 'homelab', 'vmstation.io/power-state=awake'])).trim()).toBe('node/homelab annotated');
    const refused = await kubectl(t, ['label', 'node', 'homelab', 'vmstation.io/prevent-sleep=false']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("'vmstation.io/prevent-sleep' already has a value (true), and --overwrite is false");
    await kubectlOk(t, ['label', 'node', 'homelab', 'vmstation.io/prevent-sleep-']);
    const node = JSON.parse(await kubectlOk(t, ['get', 'node', 'homelab', '-o', 'json'])) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    expect(node.metadata.labels['vmstation.io/prevent-sleep']).toBeUndefined();
    expect(node.metadata.annotations['vmstation.io/power-state']).toBe('awake');
  });

  it('applies server-side twice: the second apply changes nothing; conflicts need --force-conflicts', async () => {
    const first = await kubectlOk(t, ['apply', '--server-side', '-f', '-'], { input: MANIFEST });
    expect(first.trim().split('\n')).toEqual(['namespace/media serverside-applied', 'deployment.apps/jellyfin serverside-applied', 'configmap/jellyfin-config serverside-applied']);
    const rv = async (): Promise<string> => kubectlOk(t, ['-n', 'media', 'get', 'deploy,cm', '-o', 'jsonpath={range .items[*]}{.metadata.resourceVersion} {end}']);
    const before = await rv();
    const revision = t.standin.ops.store.currentRevision();
    await kubectlOk(t, ['apply', '--server-side', '-f', '-'], { input: MANIFEST });
    expect(await rv()).toBe(before);
    expect(t.standin.ops.store.currentRevision()).toBe(revision);
    const applyPatch = t.standin.requests().find((r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/media/deployments/jellyfin');
    expect(applyPatch?.contentType).toBe('application/apply-patch+yaml');
    expect(applyPatch?.query).toContain('fieldManager=kubectl');

    const managed = JSON.parse(await kubectlOk(t, ['-n', 'media', 'get', 'deploy', 'jellyfin', '-o', 'json', '--show-managed-fields'])) as {
      metadata: { managedFields: Array<{ manager: string; operation: string; fieldsV1: Record<string, unknown> }> };
    };
    const mine = managed.metadata.managedFields.find((m) => m.manager === 'kubectl' && m.operation === 'Apply');
    expect(mine?.fieldsV1).toMatchObject({ 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"jellyfin"}': { '.': {}, 'f:image': {} } } } } } });

    await kubectlOk(t, ['-n', 'media', 'scale', 'deploy', 'jellyfin', '--replicas=2']);
    const conflict = await kubectl(t, ['apply', '--server-side', '-f', '-'], { input: MANIFEST });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas');
    await kubectlOk(t, ['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: MANIFEST });
    expect(await kubectlOk(t, ['-n', 'media', 'get', 'deploy', 'jellyfin', '-o', 'jsonpath={.spec.replicas}'])).toBe('1');

    // Dropping a field from the manifest removes it (nobody else owns it).
    await kubectlOk(t, ['apply', '--server-side', '-f', '-'], { input: MANIFEST.replace('data: {PUBLISHED_URL: "http://jellyfin.homelab.lan"}\n', '') });
    expect(await kubectlOk(t, ['-n', 'media', 'get', 'cm', 'jellyfin-config', '-o', 'jsonpath={.data}'])).toBe('');
  });

  it('waits for a rollout and times out on a held one', async () => {
    const ok = await kubectlOk(t, ['-n', 'media', 'rollout', 'status', 'deployment/jellyfin', '--timeout=10s']);
    expect(ok.trim()).toBe('deployment "jellyfin" successfully rolled out');
    await kubectlOk(t, ['-n', 'media', 'annotate', 'deployment', 'jellyfin', 'standin.vmstation.io/rollout=hold']);
    const held = await kubectl(t, ['-n', 'media', 'rollout', 'status', 'deployment/jellyfin', '--timeout=1s']);
    expect(held.code).toBe(1);
    expect(held.stdout).toContain('Waiting for deployment "jellyfin" rollout to finish: 0 out of 1 new replicas have been updated...');
    expect(held.stderr).toContain('error: timed out waiting for the condition');
    await kubectlOk(t, ['-n', 'media', 'annotate', 'deployment', 'jellyfin', 'standin.vmstation.io/rollout-']);
  });

  it('creates through kubectl generators, which send protobuf bodies', async () => {
    expect((await kubectlOk(t, ['create', 'namespace', 'gen'])).trim()).toBe('namespace/gen created');
    expect((await kubectlOk(t, ['-n', 'gen', 'create', 'configmap', 'cfg', '--from-literal=a=1', '--from-literal=b=two'])).trim()).toBe('configmap/cfg created');
    expect((await kubectlOk(t, ['-n', 'gen', 'create', 'secret', 'generic', 'tok', '--from-literal=token=s3cr3t-for-test'])).trim()).toBe('secret/tok created');
    expect((await kubectlOk(t, ['-n', 'gen', 'create', 'serviceaccount', 'power'])).trim()).toBe('serviceaccount/power created');
    const posts = t.standin.requests().filter((r) => r.method === 'POST' && r.path.startsWith('/api/v1/namespaces'));
    expect(posts.some((r) => r.contentType === 'application/vnd.kubernetes.protobuf')).toBe(true);
    expect(await kubectlOk(t, ['-n', 'gen', 'get', 'configmap', 'cfg', '-o', 'jsonpath={.data.a} {.data.b}'])).toBe('1 two');
    expect(Buffer.from(await kubectlOk(t, ['-n', 'gen', 'get', 'secret', 'tok', '-o', 'jsonpath={.data.token}']), 'base64').toString()).toBe('s3cr3t-for-test');
    expect(await kubectlOk(t, ['-n', 'gen', 'get', 'secret', 'tok', '-o', 'jsonpath={.type}'])).toBe('Opaque');
    expect((await kubectlOk(t, ['auth', 'can-i', 'create', 'pods'])).trim()).toBe('yes');
    expect((await kubectlOk(t, ['delete', 'namespace', 'gen'])).trim()).toBe('namespace "gen" deleted');
  });

  it('watches with get -w and deletes', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const child = spawn('kubectl', ['--kubeconfig', t.kubeconfig, '-n', 'media', 'get', 'configmaps', '-w', '--output-watch-events'], {
      env: { ...process.env, KUBECACHEDIR: join(t.dir, 'kube-cache'), HOME: t.dir },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the initial listing', () => out.includes('jellyfin-config'), 10_000);
      await kubectlOk(t, ['-n', 'media', 'create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: "1"}\n' });
      await waitFor('ADDED watched', () => /ADDED\s+watched/.test(out), 10_000);
      expect((await kubectlOk(t, ['-n', 'media', 'delete', 'configmap', 'watched'])).trim()).toBe('configmap "watched" deleted');
      await waitFor('DELETED watched', () => /DELETED\s+watched/.test(out), 10_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(out.split('\n')[0]).toMatch(/^EVENT\s+NAME\s+DATA\s+AGE$|^EVENT\s+NAME\s+AGE$/);
    const missing = await kubectl(t, ['-n', 'media', 'get', 'configmap', 'watched']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('Error from server (NotFound): configmaps "watched" not found');
    expect((await kubectlOk(t, ['delete', 'namespace', 'media'])).trim()).toBe('namespace "media" deleted');
    expect((await kubectl(t, ['get', 'deploy', '-n', 'media', 'jellyfin'])).stderr).toContain('not found');
  });
});
