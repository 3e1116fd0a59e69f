// The `apps` renderer: every app of spec.apps with a preset or an image, as manifests/apps.yaml
// (applied in the deploy's infrastructure phase, pruned like every object labelled
// managed-by=vmstation; its claims, like every claim, are never pruned: they hold the data).
//
// Each app is a one-replica Deployment pinned to its node, its claims on the local-path class
// (created on that node, WaitForFirstConsumer), hostPath volumes for the media library and an
// optional GPU render node, and a Service on its NodePort. Its pods carry
// `vmstation.io/sleep-ok: "true"`: their data stays on the node and stopping the app is fine, so
// the power manager may put the node to sleep; the evicted app's new pod then waits Pending until
// the node wakes (a wake-on-request app's pending pod does not wake it: the gateway does).
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { Cluster } from '../../config/model.js';
import { POWER_LABELS } from '../../power/core/types.js';
import type { Artifact } from '../artifact.js';
import { selectorLabels, standardLabels, toYamlDocuments, type KubeObject } from '../k8s/common.js';
import { kube, namespaceObject, objectMeta, service } from '../k8s/objects.js';
import { volumeClaimSpec } from '../observability/storage.js';
import type { Renderer } from '../registry.js';
import { deployedApps, type DeployedApp, type ResolvedVolume } from './resolve.js';

export { deployedApp, deployedApps, claimName, type DeployedApp } from './resolve.js';

/** Namespaces Kubernetes itself creates (never rendered, never labelled by us). */
const BUILT_IN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

function volumeSource(v: ResolvedVolume) {
  return v.source.kind === 'claim' ? { persistentVolumeClaim: { claimName: v.source.claimName } } : { hostPath: { path: v.source.path, type: v.source.type } };
}

function httpProbe(app: DeployedApp) {
  return { httpGet: { path: app.healthPath, port: 'http' } };
}

function deployment(app: DeployedApp): KubeObject {
  const labels = standardLabels(app.name, 'app');
  const privileged = app.renderGroup !== undefined;
  return kube({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(app.name, { namespace: app.namespace, component: 'app' }),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(app.name) },
      // Its volumes are node-local and ReadWriteOnce: the old pod goes before the new one starts.
      strategy: { type: 'Recreate' },
      template: {
        metadata: {
          // sleep-ok: the data stays on the node and stopping the app is fine (see the file comment).
          labels: { ...labels, ...selectorLabels(app.name), [POWER_LABELS.sleepOk]: 'true' },
        },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': app.node },
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: app.runAsUser,
            runAsGroup: app.runAsGroup,
            fsGroup: app.runAsGroup,
            // A large library's metadata is many files: chown only when the volume's root is not ours.
            fsGroupChangePolicy: 'OnRootMismatch',
            ...(app.renderGroup !== undefined ? { supplementalGroups: [app.renderGroup] } : {}),
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: app.name,
              image: app.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [{ name: 'http', containerPort: app.port, protocol: 'TCP' }],
              ...(app.env.length > 0 ? { env: app.env } : {}),
              startupProbe: { ...httpProbe(app), periodSeconds: 10, failureThreshold: Math.ceil(app.startupSeconds / 10) },
              readinessProbe: { ...httpProbe(app), periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: { ...httpProbe(app), periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 5 },
              ...(Object.keys(app.resources).length > 0 ? { resources: app.resources } : {}),
              // A device mounted as a hostPath is not in the container's device cgroup: Jellyfin's
              // hardware-acceleration docs (Kubernetes) run the container privileged with the
              // render group as a supplemental group.
              securityContext: privileged ? { privileged: true } : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: app.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, ...(v.readOnly ? { readOnly: true } : {}) })),
            },
          ],
          volumes: app.volumes.map((v) => ({ name: v.name, ...volumeSource(v) })),
        },
      },
    },
  } satisfies IDeployment);
}

function claims(app: DeployedApp): KubeObject[] {
  return app.volumes.flatMap((v) =>
    v.source.kind !== 'claim'
      ? []
      : [kube({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: objectMeta(v.source.claimName, { namespace: app.namespace, app: app.name, component: 'storage' }), spec: { ...volumeClaimSpec(v.source.size), accessModes: ['ReadWriteOnce'] } } satisfies IPersistentVolumeClaim)],
  );
}

// Local traffic policy (the builder's NodePort default): the app's own node answers on the NodePort
// (where the wake gateway and the blackbox probe connect) and the app sees the client's address
// (Jellyfin tells LAN from remote by it).
function appService(app: DeployedApp): KubeObject {
  return service(objectMeta(app.name, { namespace: app.namespace, component: 'app' }), app.name, [{ name: 'http', port: app.port, nodePort: app.nodePort }]);
}

/** Every object of the deployed apps: namespaces first, then per app its claims, Deployment and Service. */
export function appObjects(cluster: Cluster): KubeObject[] {
  const apps = deployedApps(cluster);
  const namespaces = [...new Set(apps.map((a) => a.namespace))].filter((n) => !BUILT_IN_NAMESPACES.has(n) && n !== cluster.spec.monitoring.namespace && n !== cluster.spec.power.controller.namespace);
  return [...namespaces.map(
      // hostPath volumes (the media library, a render node) are outside Pod Security's baseline.
      (n) => namespaceObject(n, { enforce: 'privileged', warn: 'baseline' }),
    ), ...apps.flatMap((a) => [...claims(a), deployment(a), appService(a)])];
}

export const appsRenderer: Renderer = {
  name: 'apps',
  render(cluster: Cluster): Artifact[] {
    const objects = appObjects(cluster);
    if (objects.length === 0) return [];
    return [{ path: 'manifests/apps.yaml', component: 'apps', checker: 'kubernetes-schema', content: `# Rendered by vmstation; do not edit.\n${toYamlDocuments(objects)}` }];
  },
};
