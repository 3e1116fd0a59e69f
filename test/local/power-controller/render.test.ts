import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { validateText } from '../../../src/config/validate.js';
import { POWER_MANAGER, IMAGES } from '../../../src/render/k8s/common.js';
import { renderCluster } from '../../../src/render/index.js';
import { POWER_SECRETS, powerRenderer } from '../../../src/render/power/index.js';
import { PROFILE_CONFIGMAP } from '../../../src/power/core/profile-codec.js';
import { validateKubeObjects } from '../../helpers/kube-schema.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const exampleText = readFileSync(path.join(REPO, 'examples/vmstation.yaml'), 'utf8');
const example = validateText({ file: 'examples/vmstation.yaml', text: exampleText }).cluster!;
const labText = readFileSync(path.join(REPO, 'lab/vmstation.lab.yaml'), 'utf8');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- nested manifest fields, checked by value
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: any; rules?: Array<Record<string, string[]>>; data?: Record<string, string> };
const render = (text: string) => {
  const cluster = validateText({ file: 'c.yaml', text }).cluster!;
  const artifact = renderCluster(cluster, ['power']).find((a) => a.path === 'manifests/power-manager.yaml')!;
  return { cluster, artifact, objects: parseAllDocuments(artifact.content).map((d) => d.toJS() as Obj) };
};

describe('power manager render', () => {
  it('is registered as `power`, deterministic, and checked as Kubernetes objects', () => {
    expect(powerRenderer.name).toBe('power');
    const a = renderCluster(example, ['power']);
    const b = renderCluster(example, ['power']);
    expect(a).toEqual(b);
    const manifest = a.find((x) => x.path === 'manifests/power-manager.yaml');
    expect(manifest?.checker).toBe('kubernetes-schema');
    expect(validateKubeObjects(manifest!.content)).toEqual([]);
  });

  it('runs `vmstation power controller --in-cluster` on the control plane, host network, pinned image', () => {
    const { objects } = render(exampleText);
    const dep = objects.find((o) => o.kind === 'Deployment')!;
    const pod = dep.spec.template.spec;
    expect(dep.metadata.namespace).toBe('vmstation-system');
    expect(dep.spec.replicas).toBe(1);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] }]);
    expect(pod.tolerations).toEqual([{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }]);
    const c = pod.containers[0];
    expect(c.image).toBe(IMAGES.vmstation);
    expect([...c.command, ...c.args].join(' ')).toMatch(/^vmstation power controller --in-cluster /);
    expect(c.args).toContain('--prometheus-url');
    expect(c.ports[0].containerPort).toBe(POWER_MANAGER.port);
    // jellyfin wakes on request: its gateway port (nodePort 30096 + 10000) is a host port too.
    expect(c.ports).toContainEqual({ name: 'gateway-0', containerPort: 40096, protocol: 'TCP' });
  });

  it('takes replicas from spec.power.controller.replicas and exposes the NodePort when set', () => {
    const text = exampleText.replace(/^ {2}power:\n/m, '  power:\n    controller: { replicas: 2, nodePort: 30880 }\n');
    const { objects } = render(text);
    expect(objects.find((o) => o.kind === 'Deployment')!.spec.replicas).toBe(2);
    const svc = objects.find((o) => o.kind === 'Service')!;
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports[0].nodePort).toBe(30880);
  });

  it('has a Service Prometheus finds: name, port and scrape annotations', () => {
    const svc = render(exampleText).objects.find((o) => o.kind === 'Service')!;
    expect(svc.metadata.name).toBe(POWER_MANAGER.name);
    expect(svc.spec.ports[0].port).toBe(POWER_MANAGER.port);
    expect(svc.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
  });

  it('grants least privilege: exact rules, no wildcards, secrets only by name', () => {
    const objects = render(labText).objects;
    const rules = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!.rules!;
    for (const o of objects.filter((x) => x.rules)) for (const r of o.rules!) expect(JSON.stringify(r)).not.toContain('*');
    expect(rules('ClusterRole', POWER_MANAGER.name)).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims', 'persistentvolumes'], verbs: ['get', 'list', 'watch'] },
    ]);
    const ns = rules('Role', POWER_MANAGER.name);
    expect(ns).toContainEqual({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [POWER_MANAGER.name], verbs: ['get', 'update'] });
    expect(ns).toContainEqual({ apiGroups: [''], resources: ['secrets'], resourceNames: [POWER_SECRETS.ssh, POWER_SECRETS.token, POWER_SECRETS.drivers], verbs: ['get'] });
    // The demand profile: get/update only on its own ConfigMap; create cannot be limited by name
    // ("You cannot restrict create or deletecollection requests by their resource name",
    // https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources).
    expect(ns.filter((r) => r.resources?.includes('configmaps'))).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: [PROFILE_CONFIGMAP], verbs: ['get', 'update'] },
    ]);
    expect(PROFILE_CONFIGMAP).toBe('vmstation-power-manager-profile');
    expect(rules('Role', `${POWER_MANAGER.name}-events`)).toEqual([{ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] }]);
  });

  it('never renders secret data: Secrets are only referenced by name', () => {
    const { artifact, objects } = render(labText);
    expect(objects.some((o) => o.kind === 'Secret')).toBe(false);
    const vols = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.volumes as Array<{ secret?: { secretName: string; defaultMode?: number } }>;
    expect(vols.flatMap((v) => (v.secret ? [v.secret.secretName] : []))).toEqual([POWER_SECRETS.ssh, POWER_SECRETS.token, POWER_SECRETS.drivers]);
    // Readable by the non-root controller through its fsGroup, not world-readable.
    const dep = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    expect(dep.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 });
    expect(vols.filter((v) => v.secret).map((v) => v.secret!.defaultMode)).toEqual([0o440, 0o440, 0o440]);
    // The cluster file in the ConfigMap keeps secret references, never values.
    expect(artifact.content).toContain('secret: homelab-bmc-password');
  });

  it("ships a cluster file the controller's own validator accepts, resolving to the same cluster", () => {
    const { cluster, objects } = render(labText);
    const cm = objects.find((o) => o.kind === 'ConfigMap')!;
    const again = validateText({ file: 'configmap', text: cm.data!['vmstation.yaml']! });
    expect(again.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(again.cluster).toEqual(cluster);
  });

  describe('applied with real kubectl to the API stand-in', () => {
    let standin: Standin;
    let kubeconfig: string;
    beforeAll(async () => {
      standin = await startStandin();
      kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'vmstation-power-render-')), 'kubeconfig');
      writeFileSync(kubeconfig, standin.kubeconfig());
    });
    afterAll(async () => standin?.stop());

    it('is applied by kubectl, then a server-side dry run of the same file changes nothing', async () => {
      const dir = path.dirname(kubeconfig);
      const file = path.join(dir, 'power-manager.yaml');
      writeFileSync(file, render(labText).artifact.content);
      const run = promisify(execFile);
      const real = await run('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', file]);
      expect(real.stdout).toContain('namespace/vmstation-system created');
      expect(real.stdout).toContain('deployment.apps/vmstation-power-manager created');
      expect(real.stdout).toContain('clusterrole.rbac.authorization.k8s.io/vmstation-power-manager created');
      expect(real.stdout).toContain('service/vmstation-power-manager created');
      const dry = await run('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--dry-run=server', '-f', file]);
      expect(dry.stdout).toContain('deployment.apps/vmstation-power-manager unchanged (server dry run)');
    });
  });
});
