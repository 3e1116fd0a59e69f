// The log shipper DaemonSet (Alloy by default, Promtail when asked): one pod per node, every
// taint tolerated, host log folders read-only, the syslog receiver on a host port, and RBAC
// that can only read pods (for discovering this node's containers).
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { Cluster } from '../../config/model.js';
import { IMAGES, selectorLabels, standardLabels, SYSLOG_RECEIVER_PORT, type KubeObject } from '../k8s/common.js';
import { NODE_NAME_ENV } from './alloy/config.js';
import { COMPONENTS, monitoringNamespace } from './names.js';
import { clusterRbac, configChecksumAnnotation, configMap, kube, objectMeta, resources, scrapeAnnotations, service, serviceAccount } from '../k8s/objects.js';
import { SPC_T } from '../selinux/index.js';

export type ShipperKind = 'alloy' | 'promtail';

interface ShipperSpec {
  name: string;
  image: string;
  port: number;
  configFile: string;
  configDir: string;
  args: string[];
  /** Host folder for read positions, so a restart does not resend or skip logs. */
  stateDir: { host: string; mount: string };
}

function spec(kind: ShipperKind): ShipperSpec {
  if (kind === 'alloy') {
    return {
      name: COMPONENTS.alloy.name,
      image: IMAGES.alloy,
      port: COMPONENTS.alloy.port,
      configFile: 'config.alloy',
      configDir: '/etc/alloy',
      args: [
        'run',
        '/etc/alloy/config.alloy',
        '--storage.path=/var/lib/alloy/data',
        `--server.http.listen-addr=0.0.0.0:${COMPONENTS.alloy.port}`,
        '--stability.level=generally-available',
        '--disable-reporting',
      ],
      stateDir: { host: '/var/lib/vmstation/alloy', mount: '/var/lib/alloy/data' },
    };
  }
  return {
    name: COMPONENTS.promtail.name,
    image: IMAGES.promtail,
    port: COMPONENTS.promtail.port,
    configFile: 'promtail.yaml',
    configDir: '/etc/promtail',
    args: ['-config.file=/etc/promtail/promtail.yaml', '-config.expand-env=true'],
    stateDir: { host: '/var/lib/vmstation/promtail', mount: '/run/promtail' },
  };
}

export function shipperObjects(cluster: Cluster, kind: ShipperKind, configText: string): KubeObject[] {
  const s = spec(kind);
  const ns = monitoringNamespace(cluster);
  const labels = standardLabels(s.name, 'log-shipper');
  return [
    serviceAccount(objectMeta(s.name, { namespace: ns, component: 'log-shipper' })),
    // Discovering the containers on this node is all it asks of the API.
    ...clusterRbac(ns, s.name, 'log-shipper', [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }], s.name),
    configMap(objectMeta(`${s.name}-config`, { namespace: ns, app: s.name, component: 'config' }), { [s.configFile]: configText }),
    service(objectMeta(s.name, { namespace: ns, annotations: scrapeAnnotations(s.port) }), s.name, [{ name: 'http-metrics', port: s.port }]),
    kube({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: objectMeta(s.name, { namespace: ns, component: 'log-shipper' }),
      spec: {
        selector: { matchLabels: selectorLabels(s.name) },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels, annotations: configChecksumAnnotation(configText) },
          spec: {
            serviceAccountName: s.name,
            // Every node ships its logs, whatever its taints.
            tolerations: [{ operator: 'Exists' }],
            priorityClassName: 'system-node-critical',
            // spc_t: where the CRI labels pods (RKE2 on RHEL/Rocky, SELinux enforcing), container_t may not
            // read the host's logs (var_log_t, container_log_t) or the journal (../selinux/index.ts).
            securityContext: { runAsUser: 0, runAsGroup: 0, seLinuxOptions: { ...SPC_T }, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: s.name,
                image: s.image,
                imagePullPolicy: 'IfNotPresent',
                args: s.args,
                env: [{ name: NODE_NAME_ENV, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                ports: [
                  { name: 'http-metrics', containerPort: s.port, protocol: 'TCP' },
                  // rsyslog on the syslog server forwards here (RFC 5424 over TCP).
                  { name: 'syslog', containerPort: SYSLOG_RECEIVER_PORT, hostPort: SYSLOG_RECEIVER_PORT, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet: { path: kind === 'alloy' ? '/-/ready' : '/ready', port: 'http-metrics' }, periodSeconds: 10 },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  // Root without DAC_OVERRIDE cannot read files owned by syslog/adm; read-search is enough.
                  capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
                },
                resources: resources({ cpu: '50m', memory: '64Mi' }, { memory: '256Mi' }),
                volumeMounts: [
                  { name: 'config', mountPath: s.configDir, readOnly: true },
                  { name: 'varlog', mountPath: '/var/log', readOnly: true },
                  { name: 'runlogjournal', mountPath: '/run/log/journal', readOnly: true },
                  { name: 'machine-id', mountPath: '/etc/machine-id', readOnly: true },
                  { name: 'state', mountPath: s.stateDir.mount },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${s.name}-config` } },
              { name: 'varlog', hostPath: { path: '/var/log', type: 'Directory' } },
              { name: 'runlogjournal', hostPath: { path: '/run/log/journal', type: 'DirectoryOrCreate' } },
              { name: 'machine-id', hostPath: { path: '/etc/machine-id', type: 'File' } },
              { name: 'state', hostPath: { path: s.stateDir.host, type: 'DirectoryOrCreate' } },
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ],
          },
        },
      },
    } satisfies IDaemonSet),
  ];
}
