// Kerberos: krb5.conf for every node, kdc.conf and kadm5.acl for the KDC node (paths of its OS).
// No passwords here: the master and admin passwords reach the playbook at run time only.
import type { Cluster } from '../../config/model.js';
import { KERBEROS_ADMIN_PRINCIPAL, hostPlan, nodeByName } from './host-plan.js';

export function renderKrb5Conf(cluster: Cluster): string {
  const k = cluster.spec.infrastructure.kerberos;
  const kdc = nodeByName(cluster, k.kdc);
  const domain = cluster.spec.network.domain;
  return [
    `# Rendered by VMStation for realm ${k.realm} (KDC and kadmin on ${kdc.name}). Do not edit: re-render instead.`,
    '[libdefaults]',
    `    default_realm = ${k.realm}`,
    '    dns_lookup_realm = false',
    '    dns_lookup_kdc = false',
    '    rdns = false',
    '    ticket_lifetime = 24h',
    '    renew_lifetime = 7d',
    '    forwardable = true',
    '',
    '[realms]',
    `    ${k.realm} = {`,
    `        kdc = ${kdc.address}:88`,
    `        admin_server = ${kdc.address}:749`,
    '    }',
    '',
    '[domain_realm]',
    `    .${domain} = ${k.realm}`,
    `    ${domain} = ${k.realm}`,
    '',
  ].join('\n');
}

export function renderKdcConf(cluster: Cluster): string {
  const k = cluster.spec.infrastructure.kerberos;
  const plan = hostPlan(cluster, nodeByName(cluster, k.kdc));
  const dir = plan.os.krb5KdcDir;
  return [
    `# Rendered by VMStation for the KDC of ${k.realm} on ${plan.node.name} (${plan.node.os}).`,
    '[kdcdefaults]',
    '    kdc_ports = 88',
    '    kdc_tcp_ports = 88',
    '',
    '[realms]',
    `    ${k.realm} = {`,
    `        database_name = ${plan.os.krb5DatabaseDir}/principal`,
    `        admin_keytab = FILE:${dir}/kadm5.keytab`,
    `        acl_file = ${dir}/kadm5.acl`,
    `        key_stash_file = ${dir}/stash`,
    '        kadmind_port = 749',
    '        max_life = 24h 0m 0s',
    '        max_renewable_life = 7d 0h 0m 0s',
    '        master_key_type = aes256-cts-hmac-sha1-96',
    '        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
    '    }',
    '',
  ].join('\n');
}

export function renderKadmAcl(cluster: Cluster): string {
  const k = cluster.spec.infrastructure.kerberos;
  return [`# Rendered by VMStation: the admin principal may do everything.`, `${KERBEROS_ADMIN_PRINCIPAL}@${k.realm} *`, ''].join('\n');
}
