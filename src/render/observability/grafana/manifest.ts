// Grafana on the monitoring node: provisioning and dashboards from ConfigMaps, data on a
// `local-path` claim owned through fsGroup 472, the admin password from a Secret the deploy
// creates from the encrypted secrets file (only its name is rendered, never the value).
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { Cluster } from '../../../config/model.js';
import { IMAGES, onMonitoringNode, selectorLabels, standardLabels, type KubeObject } from '../../k8s/common.js';
import { COMPONENTS, monitoringNamespace, RUN_AS } from '../names.js';
import { configChecksumAnnotation, configMap, kube, objectMeta, podSecurityContext, resources, restricted, scrapeAnnotations, service, sortedRecord, serviceAccount } from '../../k8s/objects.js';
import { volumeClaimSpec } from '../storage.js';
import { GRAFANA_PATHS } from './config.js';

/** A Kubernetes Secret the deploy creates from a value in the encrypted secrets file. */
export interface SecretFromVault {
  namespace: string;
  name: string;
  key: string;
  /** Name in the secrets file (`vmstation secrets set NAME`). */
  vaultSecret: string;
}

export function grafanaAdminSecret(cluster: Cluster): SecretFromVault {
  return { namespace: cluster.spec.monitoring.namespace, name: 'grafana-admin', key: 'password', vaultSecret: cluster.spec.monitoring.grafana.adminPassword.secret };
}

export interface GrafanaFiles {
  ini: string;
  datasources: string;
  dashboardProvider: string;
  dashboards: Record<string, string>;
}

export function grafanaObjects(cluster: Cluster, files: GrafanaFiles): KubeObject[] {
  const name = COMPONENTS.grafana.name;
  const g = cluster.spec.monitoring.grafana;
  const secret = grafanaAdminSecret(cluster);
  const labels = standardLabels(name, 'dashboards');
  const anonymous = g.anonymousRole !== 'None';
  return [
    serviceAccount(objectMeta(name, { namespace: monitoringNamespace(cluster) }), false),
    configMap(objectMeta(`${name}-config`, { namespace: monitoringNamespace(cluster), app: name, component: 'config' }), { 'grafana.ini': files.ini }),
    configMap(objectMeta(`${name}-provisioning`, { namespace: monitoringNamespace(cluster), app: name, component: 'config' }), sortedRecord({ 'datasources.yaml': files.datasources, 'dashboards.yaml': files.dashboardProvider })),
    configMap(objectMeta(`${name}-dashboards`, { namespace: monitoringNamespace(cluster), app: name, component: 'config' }), sortedRecord(files.dashboards)),
    kube({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: objectMeta(`${name}-data`, { namespace: monitoringNamespace(cluster), component: 'storage' }),
      spec: volumeClaimSpec(g.storage),
    } satisfies IPersistentVolumeClaim),
    service(objectMeta(name, { namespace: monitoringNamespace(cluster), annotations: scrapeAnnotations(COMPONENTS.grafana.port) }), name, [{ name: 'http', port: COMPONENTS.grafana.port, nodePort: g.nodePort }]),
    kube({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: objectMeta(name, {
        namespace: monitoringNamespace(cluster),
        component: 'dashboards',
        // Names only: the deploy creates this Secret from the encrypted secrets file before applying.
        annotations: { 'vmstation.io/secrets-from-vault': JSON.stringify([{ secret: secret.name, key: secret.key, from: secret.vaultSecret }]) },
      }),
      spec: {
        replicas: 1,
        // One pod owns the ReadWriteOnce volume: never run two at once.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: selectorLabels(name) },
        template: {
          metadata: { labels, annotations: configChecksumAnnotation(files.ini, files.datasources, files.dashboardProvider, ...Object.values(files.dashboards)) },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            ...onMonitoringNode(cluster),
            securityContext: podSecurityContext(RUN_AS.grafana),
            containers: [
              {
                name,
                image: IMAGES.grafana,
                imagePullPolicy: 'IfNotPresent',
                env: [
                  { name: 'GF_PATHS_CONFIG', value: GRAFANA_PATHS.config },
                  { name: 'GF_SECURITY_ADMIN_USER', value: g.adminUser },
                  { name: 'GF_SECURITY_ADMIN_PASSWORD', valueFrom: { secretKeyRef: { name: secret.name, key: secret.key } } },
                  { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: String(anonymous) },
                  ...(anonymous ? [{ name: 'GF_AUTH_ANONYMOUS_ORG_ROLE', value: g.anonymousRole }] : []),
                  { name: 'GF_PLUGINS_PREINSTALL_DISABLED', value: 'true' },
                  { name: 'GF_ANALYTICS_CHECK_FOR_UPDATES', value: 'false' },
                  { name: 'GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', value: 'false' },
                ],
                ports: [{ name: 'http', containerPort: COMPONENTS.grafana.port, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/api/health', port: 'http' }, periodSeconds: 10, timeoutSeconds: 2 },
                livenessProbe: { httpGet: { path: '/api/health', port: 'http' }, initialDelaySeconds: 60, periodSeconds: 30, failureThreshold: 5 },
                securityContext: restricted(),
                resources: resources({ cpu: '50m', memory: '128Mi' }, { memory: '512Mi' }),
                volumeMounts: [
                  { name: 'config', mountPath: GRAFANA_PATHS.config, subPath: 'grafana.ini', readOnly: true },
                  { name: 'provisioning', mountPath: `${GRAFANA_PATHS.provisioning}/datasources/datasources.yaml`, subPath: 'datasources.yaml', readOnly: true },
                  { name: 'provisioning', mountPath: `${GRAFANA_PATHS.provisioning}/dashboards/dashboards.yaml`, subPath: 'dashboards.yaml', readOnly: true },
                  { name: 'dashboards', mountPath: GRAFANA_PATHS.dashboards, readOnly: true },
                  { name: 'data', mountPath: GRAFANA_PATHS.data },
                  { name: 'logs', mountPath: '/var/log/grafana' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${name}-config` } },
              { name: 'provisioning', configMap: { name: `${name}-provisioning` } },
              { name: 'dashboards', configMap: { name: `${name}-dashboards` } },
              { name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } },
              { name: 'logs', emptyDir: { sizeLimit: '64Mi' } },
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ],
          },
        },
      },
    } satisfies IDeployment),
  ];
}
