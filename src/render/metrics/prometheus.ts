// Prometheus: the config and rule files under configs/prometheus/, and the objects that run it
// (ServiceAccount, least-privilege ClusterRole, ConfigMap with the same text, StatefulSet on the
// monitoring node with a local-path volume, NodePort Service).
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { IMAGES, onMonitoringNode, toYamlDocuments, type KubeObject } from '../k8s/common.js';
import { fastYaml } from './yaml.js';
import { clusterRbac, configMap, dataStatefulSet, objectMeta, podSecurityContext, restricted, service, serviceAccount, volumeOwnerInit } from '../k8s/objects.js';
import { monitoringNode, NAMES, PORTS } from './names.js';
import { prometheusConfig } from './prometheus-config.js';
import { ruleFile, type RuleGroup } from './rules/index.js';

/** Kubernetes quantity for a Prometheus size flag: 20Gi -> 20GB (Prometheus units are base 2). */
export function prometheusSize(size: string): string {
  return size.replace(/([KMGT])i$/, '$1B');
}

const CONFIG_DIR = '/etc/prometheus';
const DATA_DIR = '/prometheus';
const UID = 65534;

/** Rendered texts of prometheus.yml and each rule file (same text in configs/ and the ConfigMap). */
export interface PrometheusFiles {
  config: string;
  rules: Array<{ group: string; text: string }>;
}

export function prometheusFiles(cluster: Cluster, groups: RuleGroup[]): PrometheusFiles {
  return {
    config: fastYaml(prometheusConfig(cluster)),
    rules: groups.map((g) => ({ group: g.name, text: fastYaml(ruleFile(g)) })),
  };
}

/** The flags Prometheus runs with: retention from the file, admin API off, CORS limited to its own UI. */
export function prometheusArgs(cluster: Cluster): string[] {
  const p = cluster.spec.monitoring.prometheus;
  const mon = monitoringNode(cluster);
  const ownOrigin = `http://${mon.address.replace(/\./g, '\\.')}:${p.nodePort}`;
  return [
    `--config.file=${CONFIG_DIR}/prometheus.yml`,
    `--storage.tsdb.path=${DATA_DIR}`,
    `--storage.tsdb.retention.time=${p.retention}`,
    ...(p.retentionSize ? [`--storage.tsdb.retention.size=${prometheusSize(p.retentionSize)}`] : []),
    `--web.listen-address=:${PORTS.prometheus}`,
    `--web.external-url=http://${mon.address}:${p.nodePort}/`,
    // Prometheus' default CORS origin is `.*`; allow only its own UI. The admin API stays off
    // (no --web.enable-admin-api) and so do /-/reload and /-/quit (no --web.enable-lifecycle).
    `--web.cors.origin=${ownOrigin}`,
  ];
}

function rbac(cluster: Cluster): KubeObject[] {
  return clusterRbac(cluster.spec.monitoring.namespace, NAMES.prometheus, 'metrics', [
    // Service discovery (roles endpointslice, node, pod) and kubelet/cAdvisor scrapes.
    { apiGroups: [''], resources: ['nodes', 'services', 'pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
    // The API server's own /metrics.
    { nonResourceURLs: ['/metrics'], verbs: ['get'] },
  ]);
}

function statefulSet(cluster: Cluster, files: PrometheusFiles): KubeObject {
  const p = cluster.spec.monitoring.prometheus;
  const name = NAMES.prometheus;
  const placement = onMonitoringNode(cluster);
  return dataStatefulSet({
    metadata: objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' }),
    component: 'metrics',
    configTexts: [files.config, ...files.rules.map((r) => r.text)],
    claim: { size: p.storage, storageClassName: NAMES.storageClass },
    pod: {
      nodeSelector: placement.nodeSelector,
      tolerations: placement.tolerations,
      securityContext: podSecurityContext(UID),
      // local-path and hostPath volumes ignore fsGroup: hand the data directory to Prometheus' user.
      initContainers: [volumeOwnerInit(UID, DATA_DIR)],
      containers: [
        {
          name,
          image: IMAGES.prometheus,
          args: prometheusArgs(cluster),
          ports: [{ name: 'http', containerPort: PORTS.prometheus, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
          livenessProbe: { httpGet: { path: '/-/healthy', port: 'http' }, initialDelaySeconds: 30, periodSeconds: 15, failureThreshold: 6 },
          resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { memory: '2Gi' } },
          securityContext: restricted(),
          volumeMounts: [
            { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
            { name: 'data', mountPath: DATA_DIR },
          ],
        },
      ],
      volumes: [
        {
          name: 'config',
          configMap: {
            name: `${name}-config`,
            items: [{ key: 'prometheus.yml', path: 'prometheus.yml' }, ...files.rules.map((r) => ({ key: `rules-${r.group}.yaml`, path: `rules/${r.group}.yaml` }))],
          },
        },
      ],
    },
  });
}

export function renderPrometheus(cluster: Cluster, groups: RuleGroup[]): Artifact[] {
  const files = prometheusFiles(cluster, groups);
  const name = NAMES.prometheus;
  const data: Record<string, string> = { 'prometheus.yml': files.config };
  for (const r of files.rules) data[`rules-${r.group}.yaml`] = r.text;
  const objects: KubeObject[] = [
    serviceAccount(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' })),
    ...rbac(cluster),
    configMap(objectMeta(`${name}-config`, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' }), data),
    statefulSet(cluster, files),
    service(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' }), name, [{ name: 'http', port: PORTS.prometheus, nodePort: cluster.spec.monitoring.prometheus.nodePort }]),
  ];
  return [
    { path: 'configs/prometheus/prometheus.yml', content: files.config, component: 'prometheus', checker: 'promtool-config' },
    ...files.rules.map((r): Artifact => ({ path: `configs/prometheus/rules/${r.group}.yaml`, content: r.text, component: 'prometheus', checker: 'promtool-rules' })),
    { path: 'manifests/prometheus.yaml', content: toYamlDocuments(objects), component: 'prometheus', checker: 'kubernetes-schema' },
  ];
}
