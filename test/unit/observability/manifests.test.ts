// Every manifest object against the Kubernetes OpenAPI schema (kubernetes-models for types and
// required fields, client-node's field lists for unknown fields), plus the rules the stack lives
// by: standard labels, pinned images, placement, least-privilege RBAC, storage that binds.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../../src/render/artifact.js';
import { IMAGES } from '../../../src/render/k8s/common.js';
import { renderObservability } from '../../../src/render/observability/index.js';
import { monitoringVolumes } from '../../../src/render/observability/storage.js';
import { validateKubeObjects } from '../../helpers/kube-schema.js';
import { VARIANTS, variant } from './fixture.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; [k: string]: any };

function objects(artifacts: readonly Artifact[]): Array<{ path: string; obj: Obj }> {
  return artifacts
    .filter((a) => a.checker === 'kubernetes-schema')
    .flatMap((a) => parseAllDocuments(a.content).map((d) => ({ path: a.path, obj: d.toJS() as Obj })))
    .filter(({ obj }) => obj !== null);
}

const podSpec = (o: Obj): any => o.spec?.template?.spec;
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

describe.each(Object.entries(VARIANTS))('observability manifests (%s)', (_name, make) => {
  const cluster = make();
  const artifacts = renderObservability(cluster);
  const all = objects(artifacts);

  it('renders every manifest with the kubernetes-schema checker', () => {
    const manifests = artifacts.filter((a) => a.path.startsWith('manifests/'));
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    for (const m of manifests) expect(m.checker).toBe('kubernetes-schema');
  });

  it('validates every object against the Kubernetes OpenAPI schema', () => {
    for (const a of artifacts.filter((x) => x.checker === 'kubernetes-schema')) {
      expect({ path: a.path, problems: validateKubeObjects(a.content) }).toEqual({ path: a.path, problems: [] });
    }
    expect(all.length).toBeGreaterThan(30);
  });

  it('labels every object with the standard labels', () => {
    for (const { obj } of all) {
      expect(obj.metadata.labels?.['app.kubernetes.io/part-of'], `${obj.kind}/${obj.metadata.name}`).toBe('vmstation');
      expect(obj.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('vmstation');
      expect(obj.metadata.labels?.['app.kubernetes.io/name']).toBeTruthy();
    }
  });

  it('uses only pinned images from the one image table', () => {
    const pinned = new Set<string>(Object.values(IMAGES));
    const images = all.filter(({ obj }) => WORKLOADS.has(obj.kind)).flatMap(({ obj }) => [...(podSpec(obj).containers ?? []), ...(podSpec(obj).initContainers ?? [])].map((c: any) => c.image as string));
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) {
      expect(pinned.has(image), image).toBe(true);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it('runs every non-DaemonSet workload on the monitoring node, tolerating the control-plane taint', () => {
    const pinnedWorkloads = all.filter(({ obj }) => obj.kind === 'Deployment' || obj.kind === 'StatefulSet');
    expect(pinnedWorkloads.map(({ obj }) => obj.metadata.name)).toEqual(expect.arrayContaining(['grafana', 'loki']));
    for (const { obj } of pinnedWorkloads) {
      expect(podSpec(obj).nodeSelector).toEqual({ 'kubernetes.io/hostname': cluster.spec.monitoring.node });
      expect(podSpec(obj).tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' });
    }
  });

  it('puts the log shipper on every node: a DaemonSet tolerating every taint with the syslog host port', () => {
    const ds = all.filter(({ obj }) => obj.kind === 'DaemonSet');
    expect(ds).toHaveLength(1);
    const spec = podSpec(ds[0]!.obj);
    expect(ds[0]!.obj.metadata.name).toBe(cluster.spec.monitoring.logShipper);
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.containers[0].ports).toContainEqual({ name: 'syslog', containerPort: 1514, hostPort: 1514, protocol: 'TCP' });
    expect(spec.containers[0].env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
  });

  it('grants no wildcard verbs, resources or API groups in any RBAC rule', () => {
    const rbac = all.filter(({ obj }) => obj.kind === 'Role' || obj.kind === 'ClusterRole');
    expect(rbac.length).toBeGreaterThanOrEqual(1);
    for (const { obj } of rbac) {
      for (const rule of obj.rules as Array<Record<string, string[]>>) {
        for (const field of ['verbs', 'resources', 'apiGroups', 'resourceNames', 'nonResourceURLs']) {
          expect(rule[field] ?? [], `${obj.kind}/${obj.metadata.name} ${field}`).not.toContain('*');
        }
      }
    }
    const shipperRole = rbac.find(({ obj }) => obj.metadata.name === `vmstation-${cluster.spec.monitoring.logShipper}`);
    expect(shipperRole?.obj.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('gives volumes to their users through fsGroup (Grafana 472, Loki 10001)', () => {
    const find = (kind: string, name: string) => all.find(({ obj }) => obj.kind === kind && obj.metadata.name === name)!.obj;
    expect(podSpec(find('Deployment', 'grafana')).securityContext).toMatchObject({ runAsUser: 472, fsGroup: 472, runAsNonRoot: true });
    expect(podSpec(find('StatefulSet', 'loki')).securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001, runAsNonRoot: true });
  });

  it('claims storage from the local-path class, which the render always provides', () => {
    const classes = all.filter(({ obj }) => obj.kind === 'StorageClass');
    expect(classes.map(({ obj }) => obj.metadata.name)).toEqual(['local-path']);
    expect(classes[0]!.obj.volumeBindingMode).toBe('WaitForFirstConsumer');
    const claims = [
      ...all.filter(({ obj }) => obj.kind === 'PersistentVolumeClaim').map(({ obj }) => ({ name: obj.metadata.name, spec: obj.spec })),
      ...all
        .filter(({ obj }) => obj.kind === 'StatefulSet')
        .flatMap(({ obj }) => (obj.spec.volumeClaimTemplates ?? []).map((t: Obj) => ({ name: `${t.metadata.name}-${obj.metadata.name}-0`, spec: t.spec }))),
    ];
    expect(claims.map((c) => c.name).sort()).toEqual(['data-loki-0', 'grafana-data']);
    for (const c of claims) expect(c.spec.storageClassName).toBe('local-path');
    // The claims this renderer makes are the ones the volume table (and static PVs) expect.
    const table = monitoringVolumes(cluster);
    for (const c of claims) expect(table.map((v) => v.claimName)).toContain(c.name);
  });

  it('never renders a secret value: the Grafana admin password is only a secretKeyRef', () => {
    const grafana = all.find(({ obj }) => obj.kind === 'Deployment' && obj.metadata.name === 'grafana')!.obj;
    const env = podSpec(grafana).containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
    const password = env.find((e) => e.name === 'GF_SECURITY_ADMIN_PASSWORD');
    expect(password).toEqual({ name: 'GF_SECURITY_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: 'grafana-admin', key: 'password' } } });
    expect(JSON.parse(grafana.metadata.annotations!['vmstation.io/secrets-from-vault']!)).toEqual([{ secret: 'grafana-admin', key: 'password', from: 'grafana-admin-password' }]);
    // No Secret object, no literal password anywhere in the render.
    expect(all.filter(({ obj }) => obj.kind === 'Secret')).toEqual([]);
    for (const a of artifacts) {
      expect(a.content, a.path).not.toMatch(/^\s*admin_password\s*=/im);
      expect(a.content, a.path).not.toMatch(/password\s*[:=]\s*["']?[^\s"'{]/i);
    }
  });
});

describe('storage modes', () => {
  it('local-path: the provisioner maps monitoring.storage.path and creates local (fsGroup-aware) volumes', () => {
    const cluster = variant((d) => (d.spec.monitoring.storage = { mode: 'local-path', path: '/data/vmstation' }));
    const artifacts = renderObservability(cluster);
    expect(artifacts.map((a) => a.path)).toContain('manifests/local-path-provisioner.yaml');
    expect(artifacts.map((a) => a.path)).not.toContain('manifests/static-volumes.yaml');
    const all = objects(artifacts);
    const cm = all.find(({ obj }) => obj.kind === 'ConfigMap' && obj.metadata.name === 'local-path-config')!.obj;
    expect(JSON.parse(cm.data['config.json'])).toEqual({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: ['/data/vmstation'] }] });
    expect(cm.data['helperPod.yaml']).toContain(IMAGES.busybox);
    const sc = all.find(({ obj }) => obj.kind === 'StorageClass')!.obj;
    expect(sc).toMatchObject({ provisioner: 'rancher.io/local-path', metadata: { annotations: { defaultVolumeType: 'local' } } });
  });

  it('static: one local PV per claim on the monitoring node, pre-bound to its claim', () => {
    const cluster = variant((d) => (d.spec.monitoring.storage = { mode: 'static', path: '/srv/vmstation/' }));
    const all = objects(renderObservability(cluster));
    const pvs = all.filter(({ obj }) => obj.kind === 'PersistentVolume').map(({ obj }) => obj);
    expect(pvs.map((p) => [p.spec.claimRef.name, p.spec.local.path, p.spec.capacity.storage])).toEqual([
      ['data-prometheus-0', '/srv/vmstation/prometheus', '20Gi'],
      ['data-alertmanager-0', '/srv/vmstation/alertmanager', '1Gi'],
      ['grafana-data', '/srv/vmstation/grafana', '2Gi'],
      ['data-loki-0', '/srv/vmstation/loki', '20Gi'],
    ]);
    for (const pv of pvs) {
      expect(pv.spec.storageClassName).toBe('local-path');
      expect(pv.spec.claimRef.namespace).toBe('monitoring');
      expect(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0]).toEqual({ key: 'kubernetes.io/hostname', operator: 'In', values: ['masternode'] });
    }
    expect(all.find(({ obj }) => obj.kind === 'StorageClass')!.obj.provisioner).toBe('kubernetes.io/no-provisioner');
  });
});

describe('the schema check is not vacuous', () => {
  it('reports a wrong type, a missing required field and an unknown field', () => {
    const problems = validateKubeObjects(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: x}',
        'spec:',
        '  selector: {matchLabels: {a: b}}',
        '  template:',
        '    spec:',
        '      containers: [{name: a, image: b, ports: [{containerPort: "80"}], volumeMount: []}]',
        '---',
        'apiVersion: v1',
        'kind: Service',
        'metadata: {name: s}',
        'spec: {ports: [{}]}',
      ].join('\n'),
    );
    const text = problems.map((p) => `${p.object}: ${p.message}`).join('\n');
    expect(text).toMatch(/Deployment\/x: .*containerPort must be integer/);
    expect(text).toMatch(/Deployment\/x: .*volumeMount: unknown field in V1Container/);
    expect(text).toMatch(/Service\/s: .*must have required property '?port'?/);
  });
});

describe('monitoring disabled', () => {
  it('renders nothing', () => {
    expect(renderObservability(variant((d) => (d.spec.monitoring.enabled = false)))).toEqual([]);
  });
});
