// The apps renderer (manifests/apps.yaml): the example's Jellyfin against Jellyfin's own image and
// docs at the tag we pin (test/data/upstream/jellyfin-*.txt, copied with git grep -n), the generic
// form, the Kubernetes schema, the blackbox probe and the sleep-ok label.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateText } from '../../../src/config/validate.js';
import { POWER_LABELS } from '../../../src/power/core/types.js';
import { appsRenderer } from '../../../src/render/apps/index.js';
import { renderCluster } from '../../../src/render/index.js';
import { httpProbeTargets } from '../../../src/render/metrics/prometheus-config.js';
import { clusterFileForController } from '../../../src/render/power/index.js';
import { IMAGE_PINS } from '../../../src/render/versions.js';
import { describeGoldenFiles } from '../../helpers/golden.js';
import { validateKubeObjects } from '../../helpers/kube-schema.js';
import { upstreamLine } from '../../helpers/upstream.js';
import { APP_PROBE } from '../metrics/rule-tests.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const exampleText = readFileSync(path.join(REPO, 'examples/vmstation.yaml'), 'utf8');
const example = validateText({ file: 'examples/vmstation.yaml', text: exampleText }).cluster!;
const DOCKERFILE = 'upstream/jellyfin-v10.11.11-dockerfile-lines.txt';
const DOCS = 'upstream/jellyfin-docs-lines.txt';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- nested manifest fields, checked by value
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any };

function objectsOf(text: string): Obj[] {
  const cluster = validateText({ file: 'c.yaml', text }).cluster;
  if (!cluster) throw new Error(`not valid: ${JSON.stringify(validateText({ file: 'c.yaml', text }).problems)}`);
  const a = renderCluster(cluster, ['apps']).find((x) => x.path === 'manifests/apps.yaml');
  return a ? parseAllDocuments(a.content).map((d) => d.toJS() as Obj) : [];
}
const exampleObjects = objectsOf(exampleText);
const find = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const jellyfin = find(exampleObjects, 'Deployment', 'jellyfin');
const pod = jellyfin.spec.template.spec;
const container = pod.containers[0];

/** The example with its apps replaced (YAML block under `apps:`). */
function withApps(block: string): string {
  return exampleText.replace(/ {2}apps:\n[\s\S]*?(?=\n {2}secrets:)/, `  apps:\n${block.replace(/\n$/, '')}`);
}

describe('apps renderer', () => {
  it('writes manifests/apps.yaml, checked as Kubernetes objects (OpenAPI schema, no unknown field), deterministically', () => {
    const a = renderCluster(example, ['apps']);
    expect(a).toEqual(renderCluster(example, ['apps']));
    const file = a.find((x) => x.path === 'manifests/apps.yaml')!;
    expect(file).toMatchObject({ component: 'apps', checker: 'kubernetes-schema' });
    expect(validateKubeObjects(file.content)).toEqual([]);
    expect(exampleObjects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['PersistentVolumeClaim/jellyfin-config', 'PersistentVolumeClaim/jellyfin-cache', 'Deployment/jellyfin', 'Service/jellyfin']);
    // Every object is ours, so prune finds the ones no longer rendered.
    for (const o of exampleObjects) expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], o.kind).toBe('vmstation');
  });

  it("survives the power manager's round trip: the resolved cluster file it ships validates to the same cluster", () => {
    const again = validateText({ file: 'configmap', text: clusterFileForController(example) });
    expect(again.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(again.cluster).toEqual(example);
  });

  it('renders nothing for an app the file only describes (no preset, no image)', () => {
    expect(objectsOf(withApps('    - name: jellyfin\n      node: storagenodet3500\n      nodePort: 30096\n      wakeOnRequest: true\n'))).toEqual([]);
    expect(appsRenderer.name).toBe('apps');
  });

  it('runs the pinned official image, on the port its Dockerfile exposes', () => {
    expect(container.image).toBe('docker.io/jellyfin/jellyfin:10.11.11');
    expect(IMAGE_PINS.jellyfin.source).toContain('jellyfin-packaging');
    // jellyfin/jellyfin-packaging@v10.11.11-202606061137:docker/Dockerfile:260 `EXPOSE 8096`
    expect(upstreamLine(DOCKERFILE, /^EXPOSE /).text).toBe(`EXPOSE ${container.ports[0].containerPort}`);
    const svc = find(exampleObjects, 'Service', 'jellyfin');
    expect(svc.spec).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 8096, targetPort: 'http', nodePort: 30096 }] });
  });

  it("probes Jellyfin's /health (the image's own HEALTHCHECK_URL and the monitoring docs), with a startup budget for migrations", () => {
    // Dockerfile:123 ENV HEALTHCHECK_URL=http://localhost:8096/health
    const url = new URL(upstreamLine(DOCKERFILE, /HEALTHCHECK_URL=/).text.split('=')[1]!);
    // jellyfin.org docs/general/post-install/networking/9_advanced/monitoring.md:17 "exposes the `/health` endpoint"
    expect(upstreamLine(DOCS, /exposes the `\/health` endpoint/).text).toContain(url.pathname);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].httpGet, probe).toEqual({ path: url.pathname, port: 'http' });
    // monitoring.md:12 "will not function as expected while the server is still starting up": the
    // startup probe gives it 10 minutes before liveness may restart it.
    expect(upstreamLine(DOCS, /still starting up/).where).toContain('monitoring.md');
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBe(600);
  });

  it('keeps /config and /cache (the image\'s VOLUMEs) on local-path claims bound to the node, the library read-only at /media', () => {
    // Dockerfile:130-131 JELLYFIN_DATA_DIR="/config", JELLYFIN_CACHE_DIR="/cache"; :261 VOLUME of both.
    const dataDir = /"(.+)"/.exec(upstreamLine(DOCKERFILE, /JELLYFIN_DATA_DIR=/).text)![1]!;
    const cacheDir = /"(.+)"/.exec(upstreamLine(DOCKERFILE, /JELLYFIN_CACHE_DIR=/).text)![1]!;
    expect(upstreamLine(DOCKERFILE, /^VOLUME /).text).toBe('VOLUME ${JELLYFIN_DATA_DIR} ${JELLYFIN_CACHE_DIR}');
    // _container-docker-cli.md:15 "Create persistent storage for configuration and cache data."
    expect(upstreamLine(DOCS, /persistent storage for configuration and cache/).text).toBeTruthy();
    const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string; readOnly?: boolean }) => [m.mountPath, m]));
    expect(Object.keys(mounts).sort()).toEqual([cacheDir, dataDir, '/media'].sort());
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes[mounts[dataDir].name].persistentVolumeClaim.claimName).toBe('jellyfin-config');
    expect(volumes[mounts[cacheDir].name].persistentVolumeClaim.claimName).toBe('jellyfin-cache');
    for (const claim of ['jellyfin-config', 'jellyfin-cache']) expect(find(exampleObjects, 'PersistentVolumeClaim', claim).spec).toMatchObject({ storageClassName: 'local-path', accessModes: ['ReadWriteOnce'] });
    expect(mounts['/media'].readOnly).toBe(true);
    expect(volumes.media.hostPath).toEqual({ path: '/srv/media', type: 'Directory' });
    // Bound to its node: the pod is pinned there, so the WaitForFirstConsumer claims are created there.
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'storagenodet3500' });
    expect(jellyfin.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('runs as a non-root user (the docs\' `--user uid:gid`; the image makes /config and /cache writable by anyone)', () => {
    expect(upstreamLine(DOCKERFILE, /chmod 777/).text).toContain('${JELLYFIN_DATA_DIR} ${JELLYFIN_CACHE_DIR}');
    expect(upstreamLine(DOCS, /Exclude the `user` argument/).where).toContain('container.md');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '4Gi' } });
  });

  it('carries vmstation.io/sleep-ok on its pods (data stays on the node; stopping the app is fine)', () => {
    expect(POWER_LABELS.sleepOk).toBe('vmstation.io/sleep-ok');
    expect(jellyfin.spec.template.metadata.labels[POWER_LABELS.sleepOk]).toBe('true');
    // The power manager finds an app's pods by namespace and app.kubernetes.io/name.
    expect(jellyfin.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('jellyfin');
    expect(jellyfin.metadata.namespace).toBe('default');
  });

  it('passes a render node for hardware transcoding as Jellyfin\'s Kubernetes docs say: hostPath device, render group, privileged', () => {
    const objects = objectsOf(withApps('    - name: jellyfin\n      preset: jellyfin\n      namespace: media\n      node: storagenodet3500\n      nodePort: 30096\n      media: /srv/media\n      hardwareTranscoding: { renderGroup: 105 }\n'));
    // Its own namespace is rendered, admitting hostPath volumes (outside Pod Security's baseline).
    expect(find(objects, 'Namespace', 'media').metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged', 'app.kubernetes.io/managed-by': 'vmstation' });
    const spec = find(objects, 'Deployment', 'jellyfin').spec.template.spec;
    // hardware-acceleration/intel.md:575-586: supplementalGroups [render gid], privileged: true,
    // mountPath '/dev/dri/renderD128' from a hostPath of the same path.
    expect(upstreamLine(DOCS, /privileged: true # Container must run/).text).toBeTruthy();
    expect(upstreamLine(DOCS, /supplementalGroups:/).text).toBeTruthy();
    const device = /'(.+)'/.exec(upstreamLine(DOCS, /mountPath: .\/dev\/dri\/renderD128/).text)![1];
    expect(spec.securityContext.supplementalGroups).toEqual([105]);
    expect(spec.containers[0].securityContext).toEqual({ privileged: true });
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'render-device', mountPath: device });
    expect(spec.volumes).toContainEqual({ name: 'render-device', hostPath: { path: device, type: 'CharDevice' } });
    expect(validateKubeObjects(renderCluster(validateText({ file: 'c.yaml', text: withApps('    - name: jellyfin\n      preset: jellyfin\n      node: storagenodet3500\n      hardwareTranscoding: { renderGroup: 105 }\n') }).cluster!, ['apps'])[0]!.content)).toEqual([]);
  });

  it('deploys any other app in the generic form: image, port, env, a claim, a hostPath, resources', () => {
    const objects = objectsOf(
      withApps(
        [
          '    - name: files',
          '      namespace: default',
          '      image: docker.io/library/nginx:1.29.3',
          '      port: 80',
          '      node: homelab',
          '      nodePort: 30081',
          '      env: { TZ: Europe/Berlin, A_FIRST: "1" }',
          '      volumes:',
          '        - { name: data, mountPath: /var/cache/nginx, size: 2Gi }',
          '        - { name: www, mountPath: /usr/share/nginx/html, hostPath: /srv/www, readOnly: true }',
          '      resources: { requests: { cpu: 100m, memory: 64Mi }, limits: { memory: 128Mi } }',
          '',
        ].join('\n'),
      ),
    );
    // No Namespace object for `default`; one claim, the Deployment, the Service.
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['PersistentVolumeClaim/files-data', 'Deployment/files', 'Service/files']);
    const c = find(objects, 'Deployment', 'files').spec.template.spec.containers[0];
    expect(c.image).toBe('docker.io/library/nginx:1.29.3');
    expect(c.env).toEqual([{ name: 'A_FIRST', value: '1' }, { name: 'TZ', value: 'Europe/Berlin' }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/', port: 'http' });
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } });
    expect(c.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/cache/nginx' }, { name: 'www', mountPath: '/usr/share/nginx/html', readOnly: true }]);
    expect(find(objects, 'PersistentVolumeClaim', 'files-data').spec.resources.requests.storage).toBe('2Gi');
    expect(validateKubeObjects(renderCluster(validateText({ file: 'c.yaml', text: withApps('    - name: files\n      image: docker.io/library/nginx:1.29.3\n      port: 80\n      node: homelab\n') }).cluster!, ['apps'])[0]!.content)).toEqual([]);
  });

  it("replaces a preset's volume by name and keeps the rest (a bigger config claim)", () => {
    const objects = objectsOf(withApps('    - name: jellyfin\n      preset: jellyfin\n      node: storagenodet3500\n      volumes: [{ name: config, mountPath: /config, size: 20Gi }]\n'));
    expect(find(objects, 'PersistentVolumeClaim', 'jellyfin-config').spec.resources.requests.storage).toBe('20Gi');
    expect(find(objects, 'PersistentVolumeClaim', 'jellyfin-cache').spec.resources.requests.storage).toBe('10Gi');
  });

  it("is probed by the blackbox exporter on its node's NodePort at /health, labelled with its node (so the alert is sleep-aware)", () => {
    const target = httpProbeTargets(example).find((t) => t.labels.service === 'jellyfin')!;
    // The exact series the promtool cases of test/unit/metrics/rule-tests.ts feed to BlackboxProbeFailed.
    expect({ job: 'blackbox-http', instance: target.target, ...target.labels }).toEqual(APP_PROBE);
  });
});

describeGoldenFiles(path.join(REPO, 'test/golden/apps'), [['example', () => renderCluster(example, ['apps']).filter((a) => a.path !== 'index.json')]]);
