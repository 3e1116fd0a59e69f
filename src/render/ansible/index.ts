// The `ansible` renderer: the host layer as an Ansible project (`ansible/`) plus every service
// config it installs as a plain file (`configs/`), so each can be checked by its real tool and
// read by a person. The playbooks copy these files; they never template their own.
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import type { Renderer } from '../registry.js';
import { renderChronyConf } from './chrony.js';
import { renderFirewalldTrustedZone, renderFirewalldZone, renderNftables } from './firewall.js';
import { hostPlans } from './host-plan.js';
import { renderKadmAcl, renderKdcConf, renderKrb5Conf } from './krb5.js';
import { KERNEL_MODULES, SYSCTLS, ansibleProjectArtifacts } from './project.js';
import { renderPowerSuspendScript } from './power-key.js';
import { POWER_READINESS_SCRIPT, renderPowerReadinessUnit } from './power-readiness.js';
import { renderRsyslogConf, renderSyslogLogrotate } from './rsyslog.js';

export const CONFIGS_DIR = 'configs';

function clusterHostsBlock(cluster: Cluster): string {
  return cluster.spec.nodes.map((n) => `${n.address} ${n.name}.${cluster.spec.network.domain} ${n.name}\n`).join('');
}

export function renderHostConfigs(cluster: Cluster): Artifact[] {
  const infra = cluster.spec.infrastructure;
  const out: Artifact[] = [];
  const c = (path: string, content: string, component: string, checker: Artifact['checker'], mode?: number): void => {
    out.push({ path: `${CONFIGS_DIR}/${path}`, content, component, checker, ...(mode === undefined ? {} : { mode }) });
  };
  c('modules-load/vmstation-kubernetes.conf', `# Rendered by VMStation: kernel modules Kubernetes needs.\n${KERNEL_MODULES.map((m) => m.name).join('\n')}\n`, 'prep', 'golden');
  c('sysctl/99-vmstation-kubernetes.conf', `# Rendered by VMStation: kernel settings Kubernetes needs.\n${SYSCTLS.map((s) => `${s.name} = ${s.value}`).join('\n')}\n`, 'prep', 'golden');
  c('hosts/cluster-nodes', clusterHostsBlock(cluster), 'prep', 'golden');
  const plans = hostPlans(cluster);
  if (plans.some((p) => p.node.power.autoSleep)) c('power/power-readiness.py', POWER_READINESS_SCRIPT, 'power', 'golden', 0o755);
  for (const p of plans) {
    const name = p.node.name;
    if (p.node.power.autoSleep) c(`power/${name}.service`, renderPowerReadinessUnit(p), 'power', 'systemd-analyze');
    if (p.node.power.autoSleep && cluster.spec.power.enabled) c(`power/${name}-suspend.sh`, renderPowerSuspendScript(p.node), 'power', 'shellcheck', 0o755);
    if (infra.ntp.enabled) c(`chrony/${name}.conf`, renderChronyConf(cluster, p), 'chrony', 'chronyd');
    if (infra.syslog.enabled) c(`rsyslog/${name}.conf`, renderRsyslogConf(cluster, p), 'rsyslog', 'rsyslogd');
    if (infra.firewall.enabled) {
      if (p.os.firewall === 'nftables') c(`firewall/${name}.nft`, renderNftables(cluster, p), 'firewall', 'nft', 0o755);
      else c(`firewall/${name}.xml`, renderFirewalldZone(cluster, p), 'firewall', 'firewall-offline-cmd');
    }
  }
  // One trusted zone (pod and Service ranges) for every RHEL node: see renderFirewalldTrustedZone.
  if (infra.firewall.enabled && plans.some((p) => p.os.firewall === 'firewalld')) c('firewall/trusted.xml', renderFirewalldTrustedZone(cluster), 'firewall', 'firewall-offline-cmd');
  if (infra.syslog.enabled) {
    c('logrotate/vmstation-syslog', renderSyslogLogrotate(cluster), 'rsyslog', 'golden');
    c('journald/vmstation.conf', '# Rendered by VMStation: rsyslog reads the journal itself (imjournal), so no copy through the syslog socket.\n[Journal]\nForwardToSyslog=no\n', 'rsyslog', 'golden');
  }
  if (infra.kerberos.enabled) {
    c('krb5/krb5.conf', renderKrb5Conf(cluster), 'kerberos', 'golden');
    c('krb5/kdc.conf', renderKdcConf(cluster), 'kerberos', 'golden');
    c('krb5/kadm5.acl', renderKadmAcl(cluster), 'kerberos', 'golden');
  }
  return out;
}

export const ansibleRenderer: Renderer = {
  name: 'ansible',
  render: (cluster) => [...ansibleProjectArtifacts(cluster), ...renderHostConfigs(cluster)],
};
