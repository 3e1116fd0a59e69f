// Grafana's own configuration: grafana.ini (no plugin downloads, no phoning home, home
// dashboard), provisioned datasources (Prometheus, Loki, Alertmanager) and the dashboard
// provider, each built from a typed model of Grafana's documented settings.
import type { Cluster } from '../../../config/model.js';
import { toYaml } from '../../k8s/common.js';
import { grafanaIniValue, iniName } from '../../text-values.js';
import { COMPONENTS, serviceUrl } from '../names.js';
import { DATASOURCES, HOME_DASHBOARD_FILE } from './dashboards.js';

export const GRAFANA_PATHS = {
  config: '/etc/grafana/grafana.ini',
  provisioning: '/etc/grafana/provisioning',
  dashboards: '/var/lib/grafana-dashboards',
  data: '/var/lib/grafana',
} as const;

type IniValue = string | number | boolean;
/** grafana.ini: sections in order, keys in order. */
export type GrafanaIni = Array<[section: string, entries: Array<[key: string, value: IniValue]>]>;

export function grafanaIni(cluster: Cluster): GrafanaIni {
  const g = cluster.spec.monitoring.grafana;
  return [
    ['paths', [['data', GRAFANA_PATHS.data], ['provisioning', GRAFANA_PATHS.provisioning], ['logs', '/var/log/grafana']]],
    ['server', [['http_port', COMPONENTS.grafana.port], ['enable_gzip', true]]],
    // Offline by default: the original crash-looped downloading a plugin without internet.
    [
      'analytics',
      [
        ['reporting_enabled', false],
        ['check_for_updates', false],
        ['check_for_plugin_updates', false],
        ['feedback_links_enabled', false],
      ],
    ],
    ['plugins', [['preinstall_disabled', true], ['plugin_admin_enabled', false], ['public_key_retrieval_disabled', true]]],
    ['news', [['news_feed_enabled', false]]],
    ['snapshots', [['external_enabled', false]]],
    ['security', [['admin_user', g.adminUser], ['disable_gravatar', true], ['cookie_samesite', 'lax']]],
    ['users', [['allow_sign_up', false], ['allow_org_create', false]]],
    // Anonymous access is also set through GF_AUTH_ANONYMOUS_* in the Deployment (same values).
    ['auth.anonymous', g.anonymousRole === 'None' ? [['enabled', false]] : [['enabled', true], ['org_name', 'Main Org.'], ['org_role', g.anonymousRole]]],
    ['dashboards', [['default_home_dashboard_path', `${GRAFANA_PATHS.dashboards}/${HOME_DASHBOARD_FILE}`]]],
    ['log', [['mode', 'console'], ['level', 'info']]],
  ];
}

export function iniText(ini: GrafanaIni, header: string): string {
  const lines = [`; ${header}`];
  for (const [section, entries] of ini) {
    lines.push('', `[${iniName(section, 'grafana.ini section')}]`);
    for (const [k, v] of entries) lines.push(`${iniName(k, `grafana.ini [${section}]`)} = ${grafanaIniValue(v, `grafana.ini [${section}] ${k}`)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Datasource provisioning file (apiVersion 1), uids fixed so dashboards can name them. */
export function datasourcesProvisioning(cluster: Cluster) {
  return {
    apiVersion: 1,
    prune: true,
    datasources: [
      {
        name: 'Prometheus',
        type: DATASOURCES.prometheus.type,
        uid: DATASOURCES.prometheus.uid,
        access: 'proxy',
        url: serviceUrl(cluster, COMPONENTS.prometheus),
        isDefault: true,
        editable: false,
        jsonData: { httpMethod: 'POST', timeInterval: cluster.spec.monitoring.prometheus.scrapeInterval, prometheusType: 'Prometheus' },
      },
      {
        name: 'Loki',
        type: DATASOURCES.loki.type,
        uid: DATASOURCES.loki.uid,
        access: 'proxy',
        url: serviceUrl(cluster, COMPONENTS.loki),
        editable: false,
        jsonData: { maxLines: 1000 },
      },
      {
        name: 'Alertmanager',
        type: DATASOURCES.alertmanager.type,
        uid: DATASOURCES.alertmanager.uid,
        access: 'proxy',
        url: serviceUrl(cluster, COMPONENTS.alertmanager),
        editable: false,
        jsonData: { implementation: 'prometheus', handleGrafanaManagedAlerts: false },
      },
    ],
  };
}

export function dashboardProvisioning() {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'vmstation',
        orgId: 1,
        folder: 'VMStation',
        folderUid: 'vmstation',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_PATHS.dashboards, foldersFromFilesStructure: false },
      },
    ],
  };
}

export function provisioningText(value: unknown, header: string): string {
  return `# ${header}\n${toYaml(value)}`;
}
