// The power manager's own SSH key on the sleeping nodes (issue 17 §4): it may run one program,
// the node's suspend program, and nothing else. authorized_keys options from sshd(8), "AUTHORIZED_KEYS
// FILE FORMAT": `restrict` turns off port, agent and X11 forwarding, PTY allocation and ~/.ssh/rc
// (and any restriction added later); `command=` replaces whatever the client asks to run (the
// request is only passed in SSH_ORIGINAL_COMMAND, which the program ignores); `from=` accepts the
// key only from the control-plane nodes, where the power manager runs with the host's network.
import { hasRole, type Cluster, type ClusterNode } from '../../config/model.js';
import { shellQuote } from '../../util/shell-quote.js';

/** The forced command: `sync`, then the node's suspend command. Installed by the power role. */
export const POWER_SUSPEND_SCRIPT_PATH = '/usr/local/libexec/vmstation/power-suspend';
/** Comment of the key's public half; the power role finds its authorized_keys line by it. */
export const POWER_KEY_COMMENT = 'vmstation-power-manager';
/** Name of the private key in the secrets file (created by the host layer when missing). */
export const POWER_KEY_SECRET = 'power-ssh-key';

/** Where the power manager connects from: the control-plane nodes' addresses. */
export function powerKeySources(cluster: Cluster): string[] {
  return cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane')).map((n) => n.address);
}

/** The options in front of the key in authorized_keys (addresses are validated IPv4, the path is ours). */
export function powerKeyOptions(cluster: Cluster, script = POWER_SUSPEND_SCRIPT_PATH): string {
  return `restrict,from="${powerKeySources(cluster).join(',')}",command="${script}"`;
}

/** The whole authorized_keys line for a public key (`ssh-ed25519 AAAA... comment`). */
export function powerAuthorizedKeyLine(cluster: Cluster, publicKey: string, script = POWER_SUSPEND_SCRIPT_PATH): string {
  return `${powerKeyOptions(cluster, script)} ${publicKey.trim()}`;
}

/**
 * The suspend program of one node. `suspendCommand` is one line of printable ASCII (the schema's
 * CommandLine), written as the program's last line: it is a command the file's author chose.
 */
export function renderPowerSuspendScript(node: ClusterNode): string {
  return [
    '#!/bin/sh',
    `# Rendered by VMStation for ${node.name}: the forced command of the power manager's SSH key`,
    "# (command= in the suspend user's authorized_keys). Whatever the client asks for, this runs.",
    '# Flush the disks first, so a node that never resumes loses nothing.',
    'sync',
    // The node's suspendCommand is the file's text: quoted as one word for sh -c, so whatever it
    // holds (a stray quote included) is never syntax of this script.
    `exec /bin/sh -c ${shellQuote(node.power.suspendCommand)}`,
    '',
  ].join('\n');
}
