// The power manager in the cluster: a Deployment on the control plane running
// `vmstation power controller --in-cluster` (host network, so magic packets reach the LAN), a
// ServiceAccount with least-privilege RBAC, the Service Prometheus scrapes, and the cluster file
// as a ConfigMap. Secrets (SSH key, API token, BMC credentials) are only referenced by name: they
// are created at apply time from the vault, never rendered.
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import type { IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { stringify } from 'yaml';
import { gatewayPortOf, type Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { CONTROL_PLANE_TOLERATIONS, controlPlaneNodeAffinity, IMAGES, POWER_MANAGER, selectorLabels, standardLabels, toYamlDocuments, type KubeObject } from '../k8s/common.js';
import { configChecksumAnnotation, configMap, kube, namespaceObject, objectMeta, restricted, scrapeAnnotations, serviceAccount } from '../k8s/objects.js';
import type { RenderContext, Renderer } from '../registry.js';
import { PROFILE_CONFIGMAP } from '../../power/core/profile-codec.js';

/** Names of the Secrets `vmstation deploy` creates from the vault for the power manager. */
export const POWER_SECRETS = {
  /** keys: `id` (private key), `known_hosts` */
  ssh: `${POWER_MANAGER.name}-ssh`,
  /** key: `token` (spec.power.apiToken) */
  token: `${POWER_MANAGER.name}-token`,
  /** one key per vault secret the drivers need (BMC username/password, SecureOn) */
  drivers: `${POWER_MANAGER.name}-drivers`,
} as const;

export const POWER_CLUSTER_CONFIGMAP = `${POWER_MANAGER.name}-cluster`;
export const POWER_LEASE = POWER_MANAGER.name;
/** Node events live in `default`, where `kubectl describe node` finds them. */
export const NODE_EVENTS_NAMESPACE = 'default';

/** The role label every supported distribution puts on control-plane nodes (its value differs). */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

const MOUNTS = {
  cluster: '/etc/vmstation/cluster',
  ssh: '/etc/vmstation/ssh',
  token: '/etc/vmstation/token',
  drivers: '/etc/vmstation/drivers',
} as const;

/** Vault secrets the drivers read in the cluster (BMC credentials, SecureOn passwords). */
export function driverSecretNames(cluster: Cluster): string[] {
  const names = new Set<string>();
  for (const n of cluster.spec.nodes) {
    if (n.power.bmc) {
      names.add(n.power.bmc.username.secret);
      names.add(n.power.bmc.password.secret);
    }
    if (n.power.secureOn) names.add(n.power.secureOn.secret);
  }
  return [...names].sort();
}

/** The cluster file the controller reads: the resolved model, which the schema accepts again. */
export function clusterFileForController(cluster: Cluster): string {
  return stringify(cluster, { lineWidth: 0, aliasDuplicateObjects: false, sortMapEntries: true });
}

/**
 * Its ClusterRole and binding: named as the power manager itself (not `vmstation-NAME` as the
 * other components' roles: renaming would leave the old role behind on upgrade).
 */
function powerClusterRbac(ns: string): KubeObject[] {
  const name = POWER_MANAGER.name;
  const metadata = objectMeta(name, { component: 'power-manager' });
  return [
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata,
      rules: [
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list', 'watch'] },
        // To tell whether a pod's claim is bound to a node-local volume (it cannot move).
        { apiGroups: [''], resources: ['persistentvolumeclaims', 'persistentvolumes'], verbs: ['get', 'list', 'watch'] },
      ],
    } satisfies IClusterRole),
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    } satisfies IClusterRoleBinding),
  ];
}

export function powerObjects(cluster: Cluster, image: string = IMAGES.vmstation): KubeObject[] {
  const ns = cluster.spec.power.controller.namespace;
  const name = POWER_MANAGER.name;
  const labels = standardLabels(name, 'power-manager');
  const meta = (n: string) => objectMeta(n, { namespace: ns, app: name, component: 'power-manager' });
  const clusterText = clusterFileForController(cluster);
  const prometheusUrl = cluster.spec.monitoring.enabled ? `http://prometheus.${cluster.spec.monitoring.namespace}.svc.${cluster.spec.kubernetes.clusterDomain}:9090` : undefined;
  const args = [
    'power',
    'controller',
    '--in-cluster',
    '-f',
    `${MOUNTS.cluster}/vmstation.yaml`,
    '--listen',
    `0.0.0.0:${POWER_MANAGER.port}`,
    '--token-file',
    `${MOUNTS.token}/token`,
    '--ssh-key',
    `${MOUNTS.ssh}/id`,
    '--known-hosts',
    `${MOUNTS.ssh}/known_hosts`,
    '--secrets-dir',
    MOUNTS.drivers,
    '--namespace',
    ns,
    ...(prometheusUrl ? ['--prometheus-url', prometheusUrl] : []),
  ];
  const secretNames = [POWER_SECRETS.ssh, POWER_SECRETS.token, POWER_SECRETS.drivers];

  return [
    namespaceObject(ns, { enforce: 'privileged' }),
    serviceAccount(meta(name), true),
    ...powerClusterRbac(ns),

    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(name),
      rules: [
        // create cannot be limited by name (the object does not exist yet); get/update can.
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [POWER_LEASE], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: secretNames, verbs: ['get'] },
        // The learned demand profile (spec.power.predict): the controller creates it the first time.
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [PROFILE_CONFIGMAP], verbs: ['get', 'update'] },
      ],
    } satisfies IRole),
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    } satisfies IRoleBinding),
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: objectMeta(`${name}-events`, { namespace: NODE_EVENTS_NAMESPACE, app: name, component: 'power-manager' }),
      rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] }],
    } satisfies IRole),
    kube({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: objectMeta(`${name}-events`, { namespace: NODE_EVENTS_NAMESPACE, app: name, component: 'power-manager' }),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-events` },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    } satisfies IRoleBinding),
    configMap(meta(POWER_CLUSTER_CONFIGMAP), { 'vmstation.yaml': clusterText }),
    kube({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name),
      spec: {
        replicas: cluster.spec.power.controller.replicas,
        selector: { matchLabels: selectorLabels(name) },
        // One replica at a time: the Lease keeps two safe, this keeps rollouts quiet.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
        template: {
          metadata: {
            labels: { ...labels, ...selectorLabels(name) },
            annotations: configChecksumAnnotation(clusterText),
          },
          spec: {
            serviceAccountName: name,
            // Magic packets are LAN broadcasts: they must leave from the node's own interface.
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            tolerations: CONTROL_PLANE_TOLERATIONS.map((t) => ({ ...t })),
            affinity: {
              nodeAffinity: controlPlaneNodeAffinity(),
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(name) } } }],
              },
            },
            priorityClassName: 'system-cluster-critical',
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'controller',
                // Pinned by digest when side-loaded (src/image/reference.ts): present on the node,
                // never pulled; a configured reference is pulled once.
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['vmstation'],
                args,
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'HOME', value: '/tmp' },
                ],
                // With hostNetwork these are the host's ports: the API and one wake gateway per app.
                ports: [
                  { name: 'http', containerPort: POWER_MANAGER.port, protocol: 'TCP' },
                  ...cluster.spec.apps.flatMap((a, i) => {
                    const port = gatewayPortOf(a);
                    return port === undefined ? [] : [{ name: `gateway-${i}`, containerPort: port, protocol: 'TCP' as const }];
                  }),
                ],
                readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 },
                resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '512Mi' } },
                securityContext: restricted(),
                volumeMounts: [
                  { name: 'cluster', mountPath: MOUNTS.cluster, readOnly: true },
                  { name: 'ssh', mountPath: MOUNTS.ssh, readOnly: true },
                  { name: 'token', mountPath: MOUNTS.token, readOnly: true },
                  { name: 'drivers', mountPath: MOUNTS.drivers, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'cluster', configMap: { name: POWER_CLUSTER_CONFIGMAP } },
              // 0440 with fsGroup: readable by the non-root controller (group 65532), by no one else.
              { name: 'ssh', secret: { secretName: POWER_SECRETS.ssh, defaultMode: 0o440 } },
              { name: 'token', secret: { secretName: POWER_SECRETS.token, defaultMode: 0o440 } },
              // Only needed with IPMI or SecureOn; optional so a WoL-only cluster needs no such Secret.
              { name: 'drivers', secret: { secretName: POWER_SECRETS.drivers, defaultMode: 0o440, optional: true } },
              { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
            ],
          },
        },
      },
    } satisfies IDeployment),
    kube({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: objectMeta(name, { namespace: ns, component: 'power-manager', annotations: scrapeAnnotations(POWER_MANAGER.port, POWER_MANAGER.metricsPath) }),
      spec: {
        type: cluster.spec.power.controller.nodePort ? 'NodePort' : 'ClusterIP',
        selector: selectorLabels(name),
        ports: [{ name: 'http', port: POWER_MANAGER.port, targetPort: 'http', protocol: 'TCP', ...(cluster.spec.power.controller.nodePort ? { nodePort: cluster.spec.power.controller.nodePort } : {}) }],
      },
    } satisfies IService),
  ];
}

/** Vault secret names `deploy` must turn into the power manager's Secrets (never their values). */
export function powerSecretSources(cluster: Cluster): Record<string, string[]> {
  return {
    [POWER_SECRETS.token]: [cluster.spec.power.apiToken.secret],
    [POWER_SECRETS.drivers]: driverSecretNames(cluster),
    [POWER_SECRETS.ssh]: [],
  };
}

export const powerRenderer: Renderer = {
  name: 'power',
  render(cluster: Cluster, context?: RenderContext): Artifact[] {
    if (!cluster.spec.power.enabled) return [];
    return [{ path: 'manifests/power-manager.yaml', component: 'power-manager', checker: 'kubernetes-schema', content: toYamlDocuments(powerObjects(cluster, context?.powerImage)) }];
  },
};
