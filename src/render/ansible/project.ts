// The Ansible project of the host layer: ansible.cfg, the inventory, group_vars, host_vars and
// the playbook. Values the cluster file knows live in vars files; the roles (roles.ts) only
// reference them.
import { shellQuote } from '../../util/shell-quote.js';
import type { Cluster } from '../../config/model.js';
import type { OsName } from '../../config/schema.js';
import { hasRole } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { ansibleTemplate, ansibleYaml } from '../../util/ansible-yaml.js';
import { toYaml } from '../k8s/common.js';
import { describePorts } from './firewall.js';
import {
  HOST_KEYTAB,
  KERBEROS_ADMIN_PRINCIPAL,
  LOG_SHIPPER_RECEIVER,
  OS_PROFILES,
  POWER_READINESS_FILE,
  SYSLOG_HOSTS_DIR,
  hostPlans,
  nodeByName,
  type NodeHostPlan,
  type OsFamily,
} from './host-plan.js';
import { POWER_KEY_COMMENT, POWER_SUSPEND_SCRIPT_PATH, powerKeyOptions } from './power-key.js';
import { POWER_READINESS_SCRIPT_PATH, POWER_READINESS_UNIT } from './power-readiness.js';
import { ROLE_FILES } from './roles.js';
import { commentText, configParserValue } from '../text-values.js';

export const MIN_ANSIBLE_VERSION = '2.14';
export const ANSIBLE_DIR = 'ansible';
export const PLAYBOOK = 'site.yaml';

/** Inventory group names (Ansible group names cannot contain "-"). */
export const GROUPS = {
  controlPlane: 'role_control_plane',
  worker: 'role_worker',
  etcd: 'role_etcd',
  debian: 'os_debian',
  redhat: 'os_redhat',
  sleepers: 'sleepers',
  ntpServer: 'ntp_server',
  syslogServer: 'syslog_server',
  kdc: 'kerberos_kdc',
} as const;

/** Kernel modules Kubernetes needs, with a test that passes once each is active (built in or loaded; /sys/module is not always visible). */
export const KERNEL_MODULES = [
  { name: 'overlay', active_when: 'grep -qw overlay /proc/filesystems' },
  { name: 'br_netfilter', active_when: 'test -e /proc/sys/net/bridge/bridge-nf-call-iptables' },
] as const;

export const SYSCTLS = [
  { name: 'net.bridge.bridge-nf-call-ip6tables', value: 1 },
  { name: 'net.bridge.bridge-nf-call-iptables', value: 1 },
  { name: 'net.ipv4.ip_forward', value: 1 },
] as const;

/** Tags, one per part of the layer: `vmstation host --tags ntp,syslog`. */
export const HOST_LAYER_TAGS = ['prep', 'power', 'ntp', 'syslog', 'kerberos', 'firewall'] as const;
export type HostLayerTag = (typeof HOST_LAYER_TAGS)[number];

function hostsOf(plans: readonly NodeHostPlan[], pick: (p: NodeHostPlan) => boolean): Record<string, null> {
  return Object.fromEntries(plans.filter(pick).map((p) => [p.node.name, null]));
}

export function renderInventory(cluster: Cluster): string {
  const plans = hostPlans(cluster);
  const groups: Record<string, Record<string, null>> = {
    [GROUPS.controlPlane]: hostsOf(plans, (p) => hasRole(p.node, 'control-plane')),
    [GROUPS.worker]: hostsOf(plans, (p) => hasRole(p.node, 'worker')),
    [GROUPS.etcd]: hostsOf(plans, (p) => p.isEtcd),
    [GROUPS.debian]: hostsOf(plans, (p) => p.os.family === 'debian'),
    [GROUPS.redhat]: hostsOf(plans, (p) => p.os.family === 'redhat'),
    [GROUPS.sleepers]: hostsOf(plans, (p) => p.node.power.autoSleep),
    [GROUPS.ntpServer]: hostsOf(plans, (p) => p.isNtpServer),
    [GROUPS.syslogServer]: hostsOf(plans, (p) => p.isSyslogServer),
    [GROUPS.kdc]: hostsOf(plans, (p) => p.isKdc),
  };
  const children = Object.fromEntries(Object.entries(groups).map(([name, hosts]) => [name, Object.keys(hosts).length > 0 ? { hosts } : {}]));
  return `# Rendered by VMStation from ${cluster.metadata.name}: every node, grouped by role, OS family, sleep and service.\n${ansibleYaml({ all: { hosts: hostsOf(plans, () => true), children } })}`;
}

/**
 * RHEL/Rocky 10 ship nf_conntrack, which kube-proxy and every CNI need, in kernel-modules-extra
 * (rancher/rke2-docs@9477b7b:docs/install/requirements.md:32; kubernetes-sigs/kubespray@v2.31.0:
 * docs/operating_systems/rhel.md:38, which does not install it): the host layer installs it for
 * every method, before Kubernetes. dnf installs it for the newest kernel; an older running kernel
 * needs a reboot (Kubespray's note).
 */
export const KERNEL_MODULES_EXTRA_OS: readonly OsName[] = ['rhel-10', 'rocky-10'];

function packagesFor(cluster: Cluster, plan: NodeHostPlan): string[] {
  const infra = cluster.spec.infrastructure;
  const pkgs = new Set(plan.os.basePackages);
  if (KERNEL_MODULES_EXTRA_OS.includes(plan.node.os)) pkgs.add('kernel-modules-extra');
  if (infra.firewall.enabled) for (const p of plan.os.firewallPackages) pkgs.add(p);
  if (infra.kerberos.enabled) for (const p of plan.os.krb5ClientPackages) pkgs.add(p);
  if (plan.isKdc) for (const p of plan.os.krb5KdcPackages) pkgs.add(p);
  return [...pkgs].sort();
}

export function renderHostVars(cluster: Cluster, plan: NodeHostPlan): string {
  const n = plan.node;
  const vars = {
    ansible_host: n.address,
    ansible_port: n.ssh.port,
    ansible_user: n.ssh.user,
    ansible_ssh_private_key_file: n.ssh.privateKey,
    ansible_become: n.ssh.user !== 'root',
    ansible_python_interpreter: '/usr/bin/python3',
    vmstation_node: n.name,
    vmstation_fqdn: plan.fqdn,
    vmstation_os: n.os,
    vmstation_os_family: plan.os.family,
    vmstation_mac: n.mac ?? '',
    vmstation_auto_sleep: n.power.autoSleep,
    vmstation_ntp_server: plan.isNtpServer,
    vmstation_syslog_server: plan.isSyslogServer,
    vmstation_kdc: plan.isKdc,
    vmstation_host_principal: `host/${plan.fqdn}@${cluster.spec.infrastructure.kerberos.realm}`,
    vmstation_packages: packagesFor(cluster, plan),
    vmstation_syslog_selinux_ports: plan.isSyslogServer
      ? [
          ...(cluster.spec.infrastructure.syslog.port === 514 ? [] : [`tcp/${cluster.spec.infrastructure.syslog.port}`, `udp/${cluster.spec.infrastructure.syslog.port}`]),
          `tcp/${LOG_SHIPPER_RECEIVER.port}`,
        ]
      : [],
    vmstation_open_ports: cluster.spec.infrastructure.firewall.enabled ? describePorts(plan) : [],
  };
  return `# Rendered by VMStation: ${n.name} (${n.os}, ${n.roles.join(', ')}).\n${ansibleYaml(vars)}`;
}

export function renderOsGroupVars(family: OsFamily): string {
  const os = OS_PROFILES[family];
  const vars = {
    vmstation_chrony_conf: os.chronyConf,
    vmstation_chrony_service: os.chronyService,
    vmstation_krb5_kdc_dir: os.krb5KdcDir,
    vmstation_krb5_database_dir: os.krb5DatabaseDir,
    vmstation_krb5_kdc_services: os.krb5KdcServices,
    vmstation_firewall: os.firewall,
  };
  return `# Rendered by VMStation: paths and service names on ${family === 'debian' ? 'Debian' : 'RHEL'} nodes.\n${ansibleYaml(vars)}`;
}

export function renderAllGroupVars(cluster: Cluster): string {
  const { spec } = cluster;
  const infra = spec.infrastructure;
  const vars = {
    vmstation_cluster: cluster.metadata.name,
    vmstation_min_ansible_version: MIN_ANSIBLE_VERSION,
    vmstation_domain: spec.network.domain,
    vmstation_subnet: spec.network.subnet,
    vmstation_configs_dir: ansibleTemplate('{{ playbook_dir }}/../configs'),
    vmstation_kernel_modules: KERNEL_MODULES.map((m) => ({ ...m })),
    vmstation_sysctls: SYSCTLS.map((s) => ({ ...s })),
    vmstation_ntp_server_address: nodeByName(cluster, infra.ntp.server).address,
    vmstation_syslog_server_address: nodeByName(cluster, infra.syslog.server).address,
    vmstation_syslog_port: infra.syslog.port,
    vmstation_syslog_hosts_dir: SYSLOG_HOSTS_DIR,
    vmstation_log_shipper_receiver: `${LOG_SHIPPER_RECEIVER.host}:${LOG_SHIPPER_RECEIVER.port}`,
    vmstation_kerberos_realm: infra.kerberos.realm,
    vmstation_kerberos_admin_principal: KERBEROS_ADMIN_PRINCIPAL,
    vmstation_host_keytab: HOST_KEYTAB,
    vmstation_power_readiness_file: POWER_READINESS_FILE,
    vmstation_power_readiness_script: POWER_READINESS_SCRIPT_PATH,
    vmstation_power_readiness_unit: POWER_READINESS_UNIT,
    // The power manager's key: authorized on the sleepers for the suspend program only (the
    // public half is passed at run time by `vmstation host`).
    vmstation_power_key_enabled: cluster.spec.power.enabled,
    vmstation_power_key_options: powerKeyOptions(cluster),
    vmstation_power_key_comment: POWER_KEY_COMMENT,
    vmstation_power_suspend_script: POWER_SUSPEND_SCRIPT_PATH,
  };
  return `# Rendered by VMStation from ${cluster.metadata.name}. Secrets are not here: they are passed at run time.\n${ansibleYaml(vars)}`;
}

interface Play {
  name: string;
  hosts: string;
  tags: string[];
  roles: string[];
}

export function renderPlaybook(cluster: Cluster): string {
  const infra = cluster.spec.infrastructure;
  const plays: Play[] = [{ name: 'Prepare every node for Kubernetes', hosts: 'all', tags: ['prep'], roles: ['prep'] }];
  if (cluster.spec.nodes.some((n) => n.power.autoSleep)) plays.push({ name: 'Wake-on-LAN and suspend readiness', hosts: GROUPS.sleepers, tags: ['power'], roles: ['power'] });
  if (infra.ntp.enabled) plays.push({ name: 'Time: chrony', hosts: 'all', tags: ['ntp'], roles: ['chrony'] });
  if (infra.syslog.enabled) plays.push({ name: 'Central syslog: rsyslog', hosts: 'all', tags: ['syslog'], roles: ['syslog'] });
  if (infra.kerberos.enabled) {
    plays.push({ name: 'Kerberos KDC and kadmin', hosts: GROUPS.kdc, tags: ['kerberos'], roles: ['kerberos_kdc'] });
    plays.push({ name: 'Kerberos clients and host keytabs', hosts: 'all', tags: ['kerberos'], roles: ['kerberos_client'] });
  }
  if (infra.firewall.enabled) plays.push({ name: 'Firewall', hosts: 'all', tags: ['firewall'], roles: ['firewall'] });
  const doc = plays.map((p) => ({ name: p.name, hosts: p.hosts, gather_facts: false, any_errors_fatal: false, tags: p.tags, roles: p.roles }));
  return `# Rendered by VMStation: the host layer. Run with \`vmstation host\` (or ansible-playbook ${PLAYBOOK} from this folder).\n${toYaml(doc)}`;
}

export function renderAnsibleCfg(cluster: Cluster): string {
  const knownHosts = cluster.spec.ssh.knownHosts;
  return [
    `# Rendered by VMStation. Host-key checking stays on, against the known_hosts file VMStation manages`,
    `# (${commentText(knownHosts, 'spec.ssh.knownHosts')}): \`vmstation host\` records new hosts there first and refuses changed keys.`,
    '[defaults]',
    'inventory = inventory.yaml',
    'roles_path = roles',
    'host_key_checking = True',
    'gathering = explicit',
    'forks = 20',
    'timeout = 20',
    'retry_files_enabled = False',
    'interpreter_python = /usr/bin/python3',
    'nocows = 1',
    '',
    '[ssh_connection]',
    'pipelining = True',
    `ssh_args = ${configParserValue(`-o ControlMaster=auto -o ControlPersist=120s -o StrictHostKeyChecking=yes -o ${shellQuote(`UserKnownHostsFile=${knownHosts}`)} -o HashKnownHosts=no -o BatchMode=yes`, 'ansible.cfg ssh_args')}`,
    '',
  ].join('\n');
}

/** Every file of the `ansible/` folder. */
export function ansibleProjectArtifacts(cluster: Cluster): Artifact[] {
  const plans = hostPlans(cluster);
  const a = (path: string, content: string, checker: Artifact['checker'], component = 'ansible'): Artifact => ({ path: `${ANSIBLE_DIR}/${path}`, content, component, checker });
  const out: Artifact[] = [
    a('ansible.cfg', renderAnsibleCfg(cluster), 'ansible-syntax'),
    a('inventory.yaml', renderInventory(cluster), 'ansible-inventory'),
    a('group_vars/all.yaml', renderAllGroupVars(cluster), 'ansible-inventory'),
    a(`group_vars/${GROUPS.debian}.yaml`, renderOsGroupVars('debian'), 'ansible-inventory'),
    a(`group_vars/${GROUPS.redhat}.yaml`, renderOsGroupVars('redhat'), 'ansible-inventory'),
    a(PLAYBOOK, renderPlaybook(cluster), 'ansible-syntax'),
  ];
  for (const p of plans) out.push(a(`host_vars/${p.node.name}.yaml`, renderHostVars(cluster, p), 'ansible-inventory'));
  for (const [path, content] of Object.entries(ROLE_FILES)) out.push(a(`roles/${path}`, content, 'ansible-syntax'));
  return out;
}
