// chrony.conf per node: the NTP server syncs from the upstream sources and serves the LAN (and
// keeps serving from its own clock if the upstream is unreachable); every other node prefers the
// server and falls back to the upstream.
import type { Cluster } from '../../config/model.js';
import { chronyWord } from '../text-values.js';
import { nodeByName, type NodeHostPlan } from './host-plan.js';

/** `pool` for names that are pools (several addresses), `server` for single hosts. */
function sourceLine(name: string, extra: string): string {
  const directive = /(^|\.)pool\./.test(name) ? 'pool' : 'server';
  return `${directive} ${chronyWord(name, 'spec.infrastructure.ntp.upstream')} ${extra}`.trimEnd();
}

export function renderChronyConf(cluster: Cluster, plan: NodeHostPlan): string {
  const ntp = cluster.spec.infrastructure.ntp;
  const server = nodeByName(cluster, ntp.server);
  const lines = [`# Rendered by VMStation for ${plan.node.name} (${plan.node.os}). Do not edit: re-render instead.`];
  if (plan.isNtpServer) {
    lines.push(`# This node is the LAN's NTP server: it follows the upstream sources and serves ${cluster.spec.network.subnet}.`);
    for (const u of ntp.upstream) lines.push(sourceLine(u, 'iburst'));
    lines.push(
      '',
      `allow ${chronyWord(cluster.spec.network.subnet, 'spec.network.subnet')}`,
      '# Keep serving the LAN from the local clock when no upstream source is reachable.',
      'local stratum 10 orphan',
    );
  } else {
    lines.push(`# The LAN's NTP server is ${server.name}; the upstream sources are the fallback.`);
    lines.push(`server ${chronyWord(server.address, 'NTP server address')} iburst prefer`);
    for (const u of ntp.upstream) lines.push(sourceLine(u, 'iburst'));
  }
  lines.push(
    '',
    `driftfile ${plan.os.chronyDriftFile}`,
    `keyfile ${plan.os.chronyKeyFile}`,
    '# Step the clock on the first updates after boot (or wake), slew afterwards.',
    'makestep 1 3',
    'rtcsync',
    'logdir /var/log/chrony',
    '',
  );
  return lines.join('\n');
}
