// The exporters: blackbox (probes), node-exporter (every node), kube-state-metrics (read-only
// RBAC) and, when enabled, the IPMI exporter in remote mode (one module per BMC).
import type { IDaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { IMAGES, onMonitoringNode, selectorLabels, standardLabels, toYamlDocuments, type KubeObject } from '../k8s/common.js';
import { fastYaml } from './yaml.js';
import { clusterRbac, configChecksumAnnotation, configMap, kube, objectMeta, restricted, service, serviceAccount } from '../k8s/objects.js';
import { bmcNodes, IPMI_SECRET_DIR, NAMES, PORTS } from './names.js';
import { SPC_T } from '../selinux/index.js';

const NOBODY = 65534;
const nonRoot: IPodSecurityContext = { runAsUser: NOBODY, runAsGroup: NOBODY, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };

function deployment(cluster: Cluster, name: string, component: string, annotations: Record<string, string>, pod: IPodSpec): KubeObject {
  const placement = onMonitoringNode(cluster);
  return kube({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component }),
    spec: {
      replicas: 1,
      selector: { matchLabels: selectorLabels(name) },
      template: {
        metadata: { labels: standardLabels(name, component), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        spec: { nodeSelector: placement.nodeSelector, tolerations: placement.tolerations, ...pod },
      },
    },
  } satisfies IDeployment);
}

// ---- blackbox exporter ------------------------------------------------------------------------

/** User-Agent of every HTTP probe, so a wake-on-request gateway can tell probes from users. */
export const PROBE_USER_AGENT = 'vmstation-blackbox-probe';

/** The blackbox module that speaks TLS (to the API server), and where the cluster CA is mounted for it. */
export const TLS_MODULE = 'tls_connect';
export const KUBE_CA_DIR = '/etc/kube-ca';
/** The ConfigMap Kubernetes publishes in every namespace with the cluster CA (kube-root-ca.crt). */
const KUBE_ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

export function blackboxConfig(cluster: Cluster): Record<string, unknown> {
  return {
    modules: {
      http_2xx: { prober: 'http', timeout: '5s', http: { preferred_ip_protocol: 'ip4', follow_redirects: true, headers: { 'User-Agent': PROBE_USER_AGENT } } },
      icmp: { prober: 'icmp', timeout: '5s', icmp: { preferred_ip_protocol: 'ip4' } },
      dns: {
        prober: 'dns',
        timeout: '5s',
        dns: {
          preferred_ip_protocol: 'ip4',
          transport_protocol: 'udp',
          query_name: `kubernetes.default.svc.${cluster.spec.kubernetes.clusterDomain}`,
          query_type: 'A',
          valid_rcodes: ['NOERROR'],
        },
      },
      tcp_connect: { prober: 'tcp', timeout: '5s', tcp: { preferred_ip_protocol: 'ip4' } },
      // TLS to the API server, verified with the cluster CA, so the probe also reports when its
      // serving certificate expires (probe_ssl_earliest_cert_expiry is set only for a TLS
      // connection: prometheus/blackbox_exporter@v0.28.0:prober/query_response.go).
      [TLS_MODULE]: { prober: 'tcp', timeout: '5s', tcp: { preferred_ip_protocol: 'ip4', tls: true, tls_config: { ca_file: `${KUBE_CA_DIR}/ca.crt` } } },
    },
  };
}

export function renderBlackbox(cluster: Cluster): Artifact[] {
  const name = NAMES.blackbox;
  const config = fastYaml(blackboxConfig(cluster));
  const objects: KubeObject[] = [
    configMap(objectMeta(`${name}-config`, { namespace: cluster.spec.monitoring.namespace, component: 'probes' }), { 'blackbox.yml': config }),
    deployment(cluster, name, 'probes', configChecksumAnnotation(config), {
      automountServiceAccountToken: false,
      // Unprivileged ICMP sockets (a safe sysctl) let the exporter ping without NET_RAW or root.
      securityContext: { ...nonRoot, sysctls: [{ name: 'net.ipv4.ping_group_range', value: '0 2147483647' }] },
      containers: [
        {
          name,
          image: IMAGES.blackboxExporter,
          args: ['--config.file=/etc/blackbox/blackbox.yml', `--web.listen-address=:${PORTS.blackbox}`],
          ports: [{ name: 'http', containerPort: PORTS.blackbox, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/-/healthy', port: 'http' } },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
          securityContext: restricted(),
          volumeMounts: [
            { name: 'config', mountPath: '/etc/blackbox', readOnly: true },
            { name: 'kube-ca', mountPath: KUBE_CA_DIR, readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: `${name}-config` } },
        { name: 'kube-ca', configMap: { name: KUBE_ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      ],
    }),
    service(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'probes' }), name, [{ name: 'http', port: PORTS.blackbox }]),
  ];
  return [
    { path: 'configs/blackbox/blackbox.yml', content: config, component: 'blackbox-exporter', checker: 'blackbox-config' },
    { path: 'manifests/blackbox-exporter.yaml', content: toYamlDocuments(objects), component: 'blackbox-exporter', checker: 'kubernetes-schema' },
  ];
}

// ---- node-exporter ----------------------------------------------------------------------------

/** Units whose state the time-sync, logging and node rules read through the systemd collector. */
export const WATCHED_UNITS = '(chrony|chronyd|rsyslog|sshd|ssh|kubelet|containerd|vmstation-.+)\\.service';
const VIRTUAL_NICS = '^(veth.*|cali.*|flannel.*|cni.*|tunl.*|vxlan.*|cilium.*|lxc.*|kube-ipvs.*|nodelocaldns)$';

/**
 * The host folder the textfile collector reads (*.prom), Debian's choice for it
 * (prometheus-node-exporter's README.textfile); the etcd snapshot timer writes its metrics there.
 */
export const NODE_EXPORTER_TEXTFILE_DIR = '/var/lib/prometheus/node-exporter';

/** Collector flags (shared by the DaemonSet and the integration test, which runs the same binary). */
export function nodeExporterCollectorArgs(): string[] {
  return [
    '--collector.systemd',
    `--collector.systemd.unit-include=${WATCHED_UNITS}`,
    '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run|var/lib/kubelet/pods|var/lib/containerd|var/lib/docker)($|/)',
    `--collector.netclass.ignored-devices=${VIRTUAL_NICS}`,
    `--collector.netdev.device-exclude=${VIRTUAL_NICS}`,
  ];
}

export function renderNodeExporter(cluster: Cluster): Artifact[] {
  const name = NAMES.nodeExporter;
  const ds = kube({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' }),
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%' } },
      template: {
        metadata: { labels: standardLabels(name, 'metrics') },
        spec: {
          hostNetwork: true,
          hostPID: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          automountServiceAccountToken: false,
          priorityClassName: 'system-node-critical',
          // Every node, whatever its taints (control plane, cordoned, NoExecute).
          tolerations: [{ operator: 'Exists' }],
          // spc_t: where the CRI labels pods (RKE2 on RHEL/Rocky, SELinux enforcing), container_t may
          // not read other processes' /proc, the host's mounts or the D-Bus socket (../selinux/index.ts).
          securityContext: { ...nonRoot, seLinuxOptions: { ...SPC_T } },
          containers: [
            {
              name,
              image: IMAGES.nodeExporter,
              args: [
                '--path.procfs=/host/proc',
                '--path.sysfs=/host/sys',
                '--path.rootfs=/host/root',
                `--web.listen-address=:${PORTS.nodeExporter}`,
                ...nodeExporterCollectorArgs(),
                `--collector.textfile.directory=${NODE_EXPORTER_TEXTFILE_DIR}`,
              ],
              ports: [{ name: 'metrics', containerPort: PORTS.nodeExporter, hostPort: PORTS.nodeExporter, protocol: 'TCP' }],
              readinessProbe: { httpGet: { path: '/', port: 'metrics' } },
              resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '128Mi' } },
              securityContext: restricted(),
              volumeMounts: [
                { name: 'proc', mountPath: '/host/proc', readOnly: true },
                { name: 'sys', mountPath: '/host/sys', readOnly: true },
                { name: 'root', mountPath: '/host/root', readOnly: true, mountPropagation: 'HostToContainer' },
                { name: 'dbus', mountPath: '/var/run/dbus/system_bus_socket', readOnly: true },
                { name: 'textfile', mountPath: NODE_EXPORTER_TEXTFILE_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'proc', hostPath: { path: '/proc' } },
            { name: 'sys', hostPath: { path: '/sys' } },
            { name: 'root', hostPath: { path: '/' } },
            { name: 'dbus', hostPath: { path: '/run/dbus/system_bus_socket', type: 'Socket' } },
            { name: 'textfile', hostPath: { path: NODE_EXPORTER_TEXTFILE_DIR, type: 'DirectoryOrCreate' } },
          ],
        },
      },
    },
  } satisfies IDaemonSet);
  return [{ path: 'manifests/node-exporter.yaml', content: toYamlDocuments([ds]), component: 'node-exporter', checker: 'kubernetes-schema' }];
}

// ---- kube-state-metrics -----------------------------------------------------------------------

/** What kube-state-metrics exports (and so may list and watch); no Secrets, no ConfigMaps. */
export const KSM_RESOURCES: ReadonlyArray<{ group: string; resource: string }> = [
  { group: '', resource: 'namespaces' },
  { group: '', resource: 'nodes' },
  { group: '', resource: 'persistentvolumeclaims' },
  { group: '', resource: 'persistentvolumes' },
  { group: '', resource: 'pods' },
  { group: '', resource: 'services' },
  { group: 'apps', resource: 'daemonsets' },
  { group: 'apps', resource: 'deployments' },
  { group: 'apps', resource: 'replicasets' },
  { group: 'apps', resource: 'statefulsets' },
  { group: 'batch', resource: 'cronjobs' },
  { group: 'batch', resource: 'jobs' },
  { group: 'policy', resource: 'poddisruptionbudgets' },
  { group: 'storage.k8s.io', resource: 'storageclasses' },
];

export function renderKubeStateMetrics(cluster: Cluster): Artifact[] {
  const name = NAMES.kubeStateMetrics;
  const groups = [...new Set(KSM_RESOURCES.map((r) => r.group))];
  const objects: KubeObject[] = [
    serviceAccount(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' })),
    ...clusterRbac(
      cluster.spec.monitoring.namespace,
      name,
      'metrics',
      groups.map((g) => ({ apiGroups: [g], resources: KSM_RESOURCES.filter((r) => r.group === g).map((r) => r.resource), verbs: ['list', 'watch'] })),
    ),
    deployment(cluster, name, 'metrics', {}, {
      serviceAccountName: name,
      securityContext: nonRoot,
      containers: [
        {
          name,
          image: IMAGES.kubeStateMetrics,
          args: [
            `--port=${PORTS.kubeStateMetrics}`,
            `--telemetry-port=${PORTS.kubeStateMetricsTelemetry}`,
            `--resources=${[...KSM_RESOURCES.map((r) => r.resource)].sort().join(',')}`,
          ],
          ports: [
            { name: 'http-metrics', containerPort: PORTS.kubeStateMetrics, protocol: 'TCP' },
            { name: 'telemetry', containerPort: PORTS.kubeStateMetricsTelemetry, protocol: 'TCP' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: 'telemetry' } },
          livenessProbe: { httpGet: { path: '/livez', port: 'http-metrics' } },
          resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
          securityContext: restricted(),
        },
      ],
    }),
    service(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'metrics' }), name, [
      { name: 'http-metrics', port: PORTS.kubeStateMetrics },
      { name: 'telemetry', port: PORTS.kubeStateMetricsTelemetry },
    ]),
  ];
  return [{ path: 'manifests/kube-state-metrics.yaml', content: toYamlDocuments(objects), component: 'kube-state-metrics', checker: 'kubernetes-schema' }];
}

// ---- IPMI exporter (remote mode) --------------------------------------------------------------

/** os.TempDir() and $HOME of the IPMI exporter: its root filesystem is read-only. */
export const IPMI_WRITABLE_DIR = '/tmp';

/** Placeholder the init container replaces with the content of a file from the Secret. */
export const FILE_PLACEHOLDER = '@file:';

export function ipmiConfig(cluster: Cluster): Record<string, unknown> {
  const modules: Record<string, unknown> = {
    // Local process metrics only; every BMC has its own module below.
    default: { collectors: [] },
  };
  for (const n of bmcNodes(cluster)) {
    modules[n.name] = {
      user: `${FILE_PLACEHOLDER}${IPMI_SECRET_DIR}/${n.power.bmc.username.secret}`,
      pass: `${FILE_PLACEHOLDER}${IPMI_SECRET_DIR}/${n.power.bmc.password.secret}`,
      driver: 'LAN_2_0',
      privilege: 'user',
      timeout: 10000,
      collectors: ['bmc', 'ipmi', 'chassis', 'dcmi'],
      // Many older BMCs (Dell iDRAC 6/7, Supermicro) reject the default session privilege handshake.
      workaround_flags: ['opensesspriv'],
    };
  }
  return { modules };
}

/**
 * Replaces each `'@file:PATH'` with the first line of PATH as a single-quoted YAML scalar (quotes
 * doubled). An awk program file, so no shell quoting is involved; POSIX awk (busybox, mawk, gawk).
 */
export const FILL_CREDENTIALS_AWK = [
  '{',
  '  line = $0',
  '  done = ""',
  "  while (match(line, /'@file:[^']+'/)) {",
  '    f = substr(line, RSTART + 7, RLENGTH - 8)',
  '    v = ""',
  '    if ((getline v < f) <= 0) { print "cannot read " f > "/dev/stderr"; exit 1 }',
  '    close(f)',
  '    gsub(/\'/, "\'\'", v)',
  '    done = done substr(line, 1, RSTART - 1) "\'" v "\'"',
  '    line = substr(line, RSTART + RLENGTH)',
  '  }',
  '  print done line > out',
  '}',
  '',
].join('\n');

/** ipmi.yml with the credential placeholders as single-quoted scalars (what the awk program fills). */
export function ipmiConfigText(cluster: Cluster): string {
  return fastYaml(ipmiConfig(cluster)).replace(/^(\s+(?:user|pass)): "?(@file:[^"\n]*)"?$/gm, "$1: '$2'");
}

export function renderIpmiExporter(cluster: Cluster): Artifact[] {
  if (!cluster.spec.monitoring.exporters.ipmi || bmcNodes(cluster).length === 0) return [];
  const name = NAMES.ipmiExporter;
  // Double-quoted scalars so the placeholders can be replaced by quoted values.
  const config = ipmiConfigText(cluster);
  const objects: KubeObject[] = [
    configMap(objectMeta(`${name}-config`, { namespace: cluster.spec.monitoring.namespace, component: 'hardware' }), { 'fill-credentials.awk': FILL_CREDENTIALS_AWK, 'ipmi.yml': config }),
    deployment(cluster, name, 'hardware', configChecksumAnnotation(config), {
      automountServiceAccountToken: false,
      securityContext: nonRoot,
      initContainers: [
        {
          name: 'fill-credentials',
          image: IMAGES.busybox,
          command: ['awk', '-v', 'out=/etc/ipmi-exporter/config/ipmi.yml', '-f', '/etc/ipmi-exporter/template/fill-credentials.awk', '/etc/ipmi-exporter/template/ipmi.yml'],
          resources: { requests: { cpu: '10m', memory: '8Mi' }, limits: { cpu: '100m', memory: '32Mi' } },
          securityContext: restricted(),
          volumeMounts: [
            { name: 'template', mountPath: '/etc/ipmi-exporter/template', readOnly: true },
            { name: 'credentials', mountPath: IPMI_SECRET_DIR, readOnly: true },
            { name: 'config', mountPath: '/etc/ipmi-exporter/config' },
          ],
        },
      ],
      containers: [
        {
          name,
          image: IMAGES.ipmiExporter,
          args: ['--config.file=/etc/ipmi-exporter/config/ipmi.yml', `--web.listen-address=:${PORTS.ipmiExporter}`],
          // Remote scrapes hand FreeIPMI its credentials through a FIFO in os.TempDir(), and
          // ipmi-sensors keeps its SDR cache under $HOME/.freeipmi: both need a writable folder
          // (prometheus-community/ipmi_exporter@v1.10.1:freeipmi/freeipmi.go, collector_ipmi.go).
          env: [{ name: 'HOME', value: IPMI_WRITABLE_DIR }],
          ports: [{ name: 'http', containerPort: PORTS.ipmiExporter, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/metrics', port: 'http' } },
          resources: { requests: { cpu: '20m', memory: '32Mi' }, limits: { memory: '128Mi' } },
          securityContext: restricted(),
          volumeMounts: [
            { name: 'config', mountPath: '/etc/ipmi-exporter/config', readOnly: true },
            { name: 'tmp', mountPath: IPMI_WRITABLE_DIR },
          ],
        },
      ],
      volumes: [
        { name: 'template', configMap: { name: `${name}-config` } },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
        // Created at apply time from the vault (keys: the BMC user and password secret names).
        { name: 'credentials', secret: { secretName: NAMES.ipmiSecret, defaultMode: 0o440 } },
        { name: 'config', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      ],
    }),
    service(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'hardware' }), name, [{ name: 'http', port: PORTS.ipmiExporter }]),
  ];
  return [
    { path: 'configs/ipmi-exporter/ipmi.yml', content: config, component: 'ipmi-exporter', checker: 'yaml' },
    { path: 'manifests/ipmi-exporter.yaml', content: toYamlDocuments(objects), component: 'ipmi-exporter', checker: 'kubernetes-schema' },
  ];
}
