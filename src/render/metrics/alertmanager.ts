// Alertmanager: receivers from the cluster file, routing by severity, node-down inhibition,
// Watchdog to a heartbeat receiver. Passwords and tokens are never in the text: the config names
// files mounted from a Secret the deploy creates from the vault (only its name is rendered).
import type { Cluster } from '../../config/model.js';
import { userError } from '../../errors.js';
import type { Artifact } from '../artifact.js';
import { IMAGES, onMonitoringNode, toYamlDocuments, type KubeObject } from '../k8s/common.js';
import { fastYaml } from './yaml.js';
import { configMap, dataStatefulSet, objectMeta, podSecurityContext, restricted, service, serviceAccount, volumeOwnerInit } from '../k8s/objects.js';
import { ALERTMANAGER_SECRET_DIR, alertmanagerSecretKeys, monitoringNode, NAMES, PORTS, serviceHost } from './names.js';

type Receiver = Cluster['spec']['monitoring']['alertmanager']['receivers'][number];
const SEVERITIES = ['critical', 'warning', 'info'] as const;
const UID = 65534;

/** Alerts that mean "the node itself is down": they silence that node's other alerts. */
export const NODE_DOWN_ALERTS = ['NodeExporterDown', 'NodeUnreachable', 'KubeNodeUnreachable', 'NodeWakeFailed'] as const;

const secretFile = (name: string) => `${ALERTMANAGER_SECRET_DIR}/${name}`;

function bearer(r: Receiver): Record<string, unknown> {
  return r.token ? { http_config: { authorization: { type: 'Bearer', credentials_file: secretFile(r.token.secret) } } } : {};
}

/** ntfy renders the Alertmanager webhook JSON through its message templates (ntfy >= 2.10). */
export function ntfyUrl(r: Receiver): string {
  const server = (r.url ?? 'https://ntfy.sh').replace(/\/+$/, '');
  const title = encodeURIComponent('[{{.status}}] {{.commonLabels.alertname}}');
  const message = encodeURIComponent('{{.commonAnnotations.summary}}');
  return `${server}/${encodeURIComponent(r.topic ?? '')}?tpl=1&t=${title}&m=${message}`;
}

/** What a receiver lacks for Alertmanager to accept it (the schema leaves these fields optional per type). */
export function receiverProblems(r: Receiver): string[] {
  const need: Record<Receiver['type'], Array<keyof Receiver>> = { webhook: ['url'], ntfy: ['topic'], email: ['to', 'from', 'smarthost'] };
  return need[r.type].filter((k) => r[k] === undefined || r[k] === '').map((k) => `${r.type} receiver "${r.name}" needs \`${k}\``);
}

function integration(r: Receiver): { kind: 'webhook_configs' | 'email_configs'; config: Record<string, unknown> } {
  switch (r.type) {
    case 'webhook':
      return { kind: 'webhook_configs', config: { url: r.url, send_resolved: r.sendResolved, ...bearer(r) } };
    case 'ntfy':
      return { kind: 'webhook_configs', config: { url: ntfyUrl(r), send_resolved: r.sendResolved, ...bearer(r) } };
    case 'email':
      return {
        kind: 'email_configs',
        config: {
          to: r.to,
          ...(r.from ? { from: r.from } : {}),
          ...(r.smarthost ? { smarthost: r.smarthost } : {}),
          ...(r.username ? { auth_username: r.username } : {}),
          ...(r.password ? { auth_password_file: secretFile(r.password.secret) } : {}),
          require_tls: true,
          send_resolved: r.sendResolved,
        },
      };
  }
}

/** One Alertmanager receiver per severity, holding every integration the file routes that severity to. */
function severityReceiver(name: string, receivers: Receiver[]): Record<string, unknown> {
  const out: Record<string, unknown[]> = {};
  for (const r of receivers) {
    const { kind, config } = integration(r);
    (out[kind] ??= []).push(config);
  }
  return { name, ...Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1))) };
}

export function alertmanagerConfig(cluster: Cluster): Record<string, unknown> {
  const receivers = cluster.spec.monitoring.alertmanager.receivers;
  const problems = receivers.flatMap(receiverProblems);
  if (problems.length > 0)
    throw userError('receiver-incomplete', problems.join('; '), 'complete spec.monitoring.alertmanager.receivers: webhook needs url, ntfy needs topic, email needs to, from and smarthost');
  const routed = SEVERITIES.map((s) => ({ severity: s, receivers: receivers.filter((r) => r.severities.includes(s)) })).filter((x) => x.receivers.length > 0);
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: 'null',
      group_by: ['alertname', 'node', 'namespace'],
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: '4h',
      routes: [
        // The always-firing Watchdog proves the pipeline works; it goes to the heartbeat receiver.
        { receiver: 'heartbeat', matchers: ['alertname="Watchdog"'], group_wait: '0s', group_interval: '1m', repeat_interval: '1m' },
        ...routed.map((x) => ({ receiver: `severity-${x.severity}`, matchers: [`severity="${x.severity}"`] })),
      ],
    },
    inhibit_rules: [
      // A node that is down explains every other alert about it.
      { source_matchers: [`alertname=~"${NODE_DOWN_ALERTS.join('|')}"`], target_matchers: ['node=~".+"'], equal: ['node'] },
      // A critical alert silences the warning of the same name for the same node.
      { source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ['alertname', 'node'] },
    ],
    receivers: [{ name: 'null' }, { name: 'heartbeat' }, ...routed.map((x) => severityReceiver(`severity-${x.severity}`, x.receivers))],
  };
}

function statefulSet(cluster: Cluster, config: string): KubeObject {
  const name = NAMES.alertmanager;
  const am = cluster.spec.monitoring.alertmanager;
  const mon = monitoringNode(cluster);
  const placement = onMonitoringNode(cluster);
  const secretKeys = alertmanagerSecretKeys(cluster);
  return dataStatefulSet({
    metadata: objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'alerting' }),
    component: 'alerting',
    configTexts: [config],
    claim: { size: am.storage, storageClassName: NAMES.storageClass },
    pod: {
      automountServiceAccountToken: false,
      nodeSelector: placement.nodeSelector,
      tolerations: placement.tolerations,
      securityContext: podSecurityContext(UID),
      initContainers: [volumeOwnerInit(UID, '/alertmanager')],
      containers: [
        {
          name,
          image: IMAGES.alertmanager,
          args: [
            '--config.file=/etc/alertmanager/alertmanager.yml',
            '--storage.path=/alertmanager',
            `--web.listen-address=:${PORTS.alertmanager}`,
            // Links in notifications point where Alertmanager answers: its NodePort when the file
            // exposes it, otherwise its Service (cluster-only: its API creates silences).
            `--web.external-url=${am.nodePort === undefined ? `http://${serviceHost(cluster, NAMES.alertmanager)}:${PORTS.alertmanager}` : `http://${mon.address}:${am.nodePort}`}/`,
            // One replica: no gossip cluster to listen on.
            '--cluster.listen-address=',
          ],
          ports: [{ name: 'http', containerPort: PORTS.alertmanager, protocol: 'TCP' }],
          readinessProbe: { httpGet: { path: '/-/ready', port: 'http' }, periodSeconds: 10 },
          livenessProbe: { httpGet: { path: '/-/healthy', port: 'http' }, initialDelaySeconds: 15, periodSeconds: 15 },
          resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '256Mi' } },
          securityContext: restricted(),
          volumeMounts: [
            { name: 'config', mountPath: '/etc/alertmanager', readOnly: true },
            { name: 'data', mountPath: '/alertmanager' },
            ...(secretKeys.length > 0 ? [{ name: 'credentials', mountPath: ALERTMANAGER_SECRET_DIR, readOnly: true }] : []),
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: `${name}-config` } },
        // Created at apply time from the vault (keys: the secret names the receivers use).
        ...(secretKeys.length > 0 ? [{ name: 'credentials', secret: { secretName: NAMES.alertmanagerSecret, defaultMode: 0o440 } }] : []),
      ],
    },
  });
}

export function renderAlertmanager(cluster: Cluster): Artifact[] {
  const am = cluster.spec.monitoring.alertmanager;
  const config = fastYaml(alertmanagerConfig(cluster));
  const name = NAMES.alertmanager;
  const objects: KubeObject[] = [
    serviceAccount(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'alerting' })),
    configMap(objectMeta(`${name}-config`, { namespace: cluster.spec.monitoring.namespace, component: 'alerting' }), { 'alertmanager.yml': config }),
    statefulSet(cluster, config),
    service(objectMeta(name, { namespace: cluster.spec.monitoring.namespace, component: 'alerting' }), name, [{ name: 'http', port: PORTS.alertmanager, nodePort: am.nodePort }]),
  ];
  return [
    { path: 'configs/alertmanager/alertmanager.yml', content: config, component: 'alertmanager', checker: 'amtool' },
    { path: 'manifests/alertmanager.yaml', content: toYamlDocuments(objects), component: 'alertmanager', checker: 'kubernetes-schema' },
  ];
}
