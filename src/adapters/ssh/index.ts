// SSH with host-key checking against known_hosts (StrictHostKeyChecking stays on, always).
export { parseKnownHosts, verifyHostKey, hostKeyName, entryMatches, type KnownHostEntry, type HostKeyVerdict } from './known-hosts.js';
export { expandHome } from '../../util/home.js';
export { SshConnection, SshError, sshRun, type SshTarget, type SshExecResult, type SshExecOptions, type SshErrorKind } from './client.js';
