// rsyslog.conf per node (the whole file, so what runs is exactly what `rsyslogd -N1` checked).
// Every node reads the journal (imjournal keeps a cursor, so a restart loses nothing). Clients
// forward over TCP through a disk-assisted queue that survives a server outage, a restart and a
// suspend; the server receives TCP and UDP from the LAN, writes one file per host and forwards
// everything to the log shipper's syslog receiver, through a disk-assisted queue as well.
import type { Cluster } from '../../config/model.js';
import { LOG_SHIPPER_RECEIVER, SYSLOG_HOSTS_DIR, nodeByName, type NodeHostPlan } from './host-plan.js';

const FORWARD_TEMPLATE = 'RSYSLOG_SyslogProtocol23Format';

/** A forwarding action that never drops: in-memory queue spilling to disk, kept across restarts, retried forever. */
function reliableForward(target: string, port: number, queueName: string, comment: string): string[] {
  return [
    `# ${comment}`,
    'action(',
    '  type="omfwd"',
    `  target="${target}"`,
    `  port="${port}"`,
    '  protocol="tcp"',
    '  TCP_Framing="octet-counted"',
    `  template="${FORWARD_TEMPLATE}"`,
    '  queue.type="LinkedList"',
    `  queue.filename="${queueName}"`,
    '  queue.size="100000"',
    '  queue.maxDiskSpace="1g"',
    '  queue.saveOnShutdown="on"',
    '  queue.timeoutEnqueue="0"',
    '  action.resumeRetryCount="-1"',
    '  action.resumeInterval="5"',
    ')',
  ];
}

function common(plan: NodeHostPlan): string[] {
  return [
    `global(workDirectory="${plan.os.rsyslogWorkDir}" maxMessageSize="64k")`,
    '',
    '# Local messages come from the journal; the cursor in the state file means nothing is read twice or lost across restarts.',
    'module(load="imuxsock" SysSock.Use="off")',
    'module(load="imjournal" StateFile="vmstation-imjournal.state" Ratelimit.Interval="0" IgnorePreviousMessages="off")',
    '',
    '# The usual local files.',
    'module(load="builtin:omfile" fileOwner="root" fileGroup="adm" fileCreateMode="0640" dirCreateMode="0755")',
    `auth,authpriv.* ${plan.os.localAuthFile}`,
    `*.*;auth,authpriv.none -${plan.os.localSyslogFile}`,
    '*.emerg :omusrmsg:*',
    '',
  ];
}

export function renderRsyslogConf(cluster: Cluster, plan: NodeHostPlan): string {
  const syslog = cluster.spec.infrastructure.syslog;
  const server = nodeByName(cluster, syslog.server);
  const head = [`# Rendered by VMStation for ${plan.node.name} (${plan.node.os}). Do not edit: re-render instead.`];
  if (!plan.isSyslogServer) {
    return [
      ...head,
      `# Client: forwards everything to the central syslog server ${server.name} (${server.address}:${syslog.port}/tcp).`,
      ...common(plan),
      ...reliableForward(server.address, syslog.port, 'vmstation-forward', 'To the central syslog server; queued on disk while it is unreachable, sent later.'),
      '',
      'include(file="/etc/rsyslog.d/*.conf" mode="optional")',
      '',
    ].join('\n');
  }
  return [
    ...head,
    `# Server: receives syslog from ${cluster.spec.network.subnet} on ${syslog.port}/tcp and ${syslog.port}/udp, one file per host under ${SYSLOG_HOSTS_DIR},`,
    `# and forwards everything to the log shipper's receiver (${LOG_SHIPPER_RECEIVER.host}:${LOG_SHIPPER_RECEIVER.port}/tcp).`,
    ...common(plan),
    'module(load="imtcp" MaxSessions="500")',
    'module(load="imudp")',
    `input(type="imtcp" port="${syslog.port}" ruleset="vmstation-remote")`,
    `input(type="imudp" port="${syslog.port}" ruleset="vmstation-remote")`,
    '',
    `template(name="VmstationPerHost" type="string" string="${SYSLOG_HOSTS_DIR}/%HOSTNAME:::secpath-replace%/syslog.log")`,
    '',
    'ruleset(name="vmstation-ship") {',
    ...reliableForward(LOG_SHIPPER_RECEIVER.host, LOG_SHIPPER_RECEIVER.port, 'vmstation-shipper', "To the log shipper's syslog receiver; queued on disk until it listens.").map((l) => `  ${l}`),
    '}',
    '',
    '# Remote messages: the host\'s own file, then the log shipper.',
    'ruleset(name="vmstation-remote") {',
    '  action(type="omfile" dynaFile="VmstationPerHost" fileCreateMode="0640" dirCreateMode="0750")',
    '  call vmstation-ship',
    '}',
    '',
    '# This node\'s own messages: its per-host file too, then the log shipper.',
    'action(type="omfile" dynaFile="VmstationPerHost" fileCreateMode="0640" dirCreateMode="0750")',
    'call vmstation-ship',
    '',
    'include(file="/etc/rsyslog.d/*.conf" mode="optional")',
    '',
  ].join('\n');
}

/** logrotate for the per-host files on the syslog server: daily, kept `keepDays` days. */
export function renderSyslogLogrotate(cluster: Cluster): string {
  const days = cluster.spec.infrastructure.syslog.keepDays;
  return [
    '# Rendered by VMStation: rotation of the per-host files written by the central syslog server.',
    `${SYSLOG_HOSTS_DIR}/*/*.log {`,
    '    daily',
    `    rotate ${days}`,
    `    maxage ${days}`,
    '    missingok',
    '    notifempty',
    '    compress',
    '    delaycompress',
    '    dateext',
    '    sharedscripts',
    '    postrotate',
    '        systemctl kill --kill-whom=main --signal=HUP rsyslog.service',
    '    endscript',
    '}',
    '',
  ].join('\n');
}
