// Pure renderers for every file the lab writes: text in, text out, no I/O.
import type { LabNode, LabSpec } from './lab-config.js';

/** systemd-networkd unit bind-mounted into a node: its static address and its MAC on host0. */
export function networkUnit(spec: LabSpec, node: LabNode): string {
  return [
    '# Written by the VMStation lab: the node\'s lab address and MAC.',
    '[Match]',
    'Name=host0',
    '',
    '[Link]',
    `MACAddress=${node.mac}`,
    '',
    '[Network]',
    `Address=${node.address}/${spec.prefix}`,
    `Gateway=${spec.gateway}`,
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n');
}

export function hostsFile(spec: LabSpec, self: LabNode): string {
  const lines = ['127.0.0.1\tlocalhost', `127.0.1.1\t${self.name}`, '::1\tlocalhost ip6-localhost ip6-loopback', `${spec.gateway}\tlab-host`];
  for (const n of spec.nodes) lines.push(`${n.address}\t${n.name}`);
  return lines.join('\n') + '\n';
}

/** known_hosts: each node's own host key under its name and its address. */
export function knownHosts(entries: { node: LabNode; publicKey: string }[]): string {
  return entries.map(({ node, publicKey }) => `${node.name},${node.address} ${publicKey.trim().split(/\s+/).slice(0, 2).join(' ')}`).join('\n') + '\n';
}

/** ssh_config for `ssh -F`: host-key checking stays on, against the lab's known_hosts only. */
export function sshConfig(spec: LabSpec, clientKey: string, knownHostsFile: string): string {
  const blocks = spec.nodes.map((n) =>
    [
      `Host ${n.name} ${n.address}`,
      `  HostName ${n.address}`,
      '  User root',
      `  IdentityFile ${clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHostsFile}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '  HostKeyAlias ' + n.name,
      '  CheckHostIP no',
      '  BatchMode yes',
      '  ConnectTimeout 5',
      '  LogLevel ERROR',
    ].join('\n'),
  );
  return '# Written by the VMStation lab (`npm run lab -- up`). Host-key checking is on.\n' + blocks.join('\n\n') + '\n';
}

/** ipmi_sim's LAN config: one BMC on its own lab address; power goes through chassis_control. */
export function ipmiLanConf(opts: { node: string; address: string; port: number; user: string; password: string; chassisControl: string }): string {
  const q = (s: string): string => {
    if (!/^[A-Za-z0-9._/:-]+$/.test(s)) throw new Error(`unsafe value for lan.conf: ${s}`);
    return `"${s}"`;
  };
  return [
    `name ${q(`lab-${opts.node}`)}`,
    'set_working_mc 0x20',
    'startlan 1',
    `  addr ${opts.address} ${opts.port}`,
    '  priv_limit admin',
    '  allowed_auths_callback none md2 md5 straight',
    '  allowed_auths_user md2 md5 straight',
    '  allowed_auths_operator md2 md5 straight',
    '  allowed_auths_admin md2 md5 straight',
    '  guid a123456789abcdefa123456789abcdef',
    'endlan',
    `user 2 true ${q(opts.user)} ${q(opts.password)} admin 10 md2 md5 straight`,
    `chassis_control "${opts.chassisControl} 0x20"`,
    '',
  ].join('\n');
}

/** ipmi_sim's command file: one management controller at 0x20, enabled and set as the BMC. */
export function ipmiEmu(): string {
  return ['mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02', 'mc_setbmc 0x20', 'mc_enable 0x20', ''].join('\n');
}
