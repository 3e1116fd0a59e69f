// Applies the host layer: render the Ansible project, make sure every node's host key is in the
// managed known_hosts file, pass the Kerberos passwords and the power manager's public key (when
// needed) through a 0600 variables file, and run site.yaml with the one ansible-playbook runner. Used by `vmstation host` and by
// the deploy's host phase.
import path from 'node:path';
import { ensureAnsibleVersion, requireSuccess, runPlaybook, withSecretVarsFile, type AnsibleEvent, type PlaybookRunResult, type SpawnFn } from '../adapters/ansible/index.js';
import { describeTrust, ensureKnownHosts, type KeyScanner } from '../adapters/ssh/host-trust.js';
import type { Cluster } from '../config/model.js';
import { userError } from '../errors.js';
import { ansibleRenderer } from '../render/ansible/index.js';
import { ANSIBLE_DIR, HOST_LAYER_TAGS, MIN_ANSIBLE_VERSION, PLAYBOOK } from '../render/ansible/project.js';
import { renderAll } from '../render/registry.js';
import { POWER_KEY_SECRET } from '../render/ansible/power-key.js';
import { ensurePowerKey } from './power-key.js';
import { writeRenderTree } from '../render/write.js';

export interface SecretReader {
  get(name: string): string | undefined;
  /** Stores a value in the secrets file (the power manager's key, when the host layer creates it). */
  put?(name: string, value: string): Promise<void>;
}

export interface HostApplyOptions {
  cluster: Cluster;
  /** Folder for the rendered project and logs (default `<cluster file folder>/.vmstation`). */
  workDir: string;
  tags?: readonly string[];
  /** Only these nodes (Ansible --limit). */
  nodes?: readonly string[];
  check?: boolean;
  /** Show file differences in the log (ansible-playbook --diff). */
  diff?: boolean;
  /** Opens the secrets file; called only when Kerberos is part of the run. */
  secrets?: () => Promise<SecretReader>;
  onEvent?: (event: AnsibleEvent) => void;
  /** Wakes a sleeping node and resolves once it answers (or says why not); called for every node first. */
  ensureAwake?: (node: string) => Promise<{ reachable: boolean; wasAwake: boolean; message: string }>;
  /** Lines for the user (first contacts, unreachable hosts). */
  notice?: (line: string) => void;
  now?: () => Date;
  spawn?: SpawnFn;
  keyScanner?: KeyScanner;
}

export interface HostApplyResult {
  run: PlaybookRunResult;
  projectDir: string;
  knownHosts: string;
}

/** Which of the layer's parts a `--tags` list selects (all when empty). */
export function selectedTags(tags: readonly string[] | undefined): string[] {
  const chosen = (tags ?? []).map((t) => t.trim()).filter(Boolean);
  const unknown = chosen.filter((t) => !(HOST_LAYER_TAGS as readonly string[]).includes(t));
  if (unknown.length > 0) throw userError('unknown-tag', `unknown host-layer tag ${unknown.join(', ')}`, `tags are: ${HOST_LAYER_TAGS.join(', ')}`);
  return chosen;
}

async function kerberosVars(opts: HostApplyOptions, tags: readonly string[]): Promise<Record<string, string> | undefined> {
  const k = opts.cluster.spec.infrastructure.kerberos;
  if (!k.enabled || (tags.length > 0 && !tags.includes('kerberos'))) return undefined;
  if (!opts.secrets) throw userError('vault-password-missing', 'Kerberos is enabled: its master and admin passwords come from the secrets file', 'pass --vault-password-file FILE (or set VMSTATION_VAULT_PASSWORD_FILE)');
  const store = await opts.secrets();
  const master = store.get(k.masterPassword.secret);
  const admin = store.get(k.adminPassword.secret);
  const missing = [master === undefined ? k.masterPassword.secret : undefined, admin === undefined ? k.adminPassword.secret : undefined].filter((x): x is string => Boolean(x));
  if (missing.length > 0 || master === undefined || admin === undefined)
    throw userError('secret-missing', `the secrets file has no ${missing.join(' or ')}`, `set it with \`vmstation secrets set ${missing[0]}\``);
  return { vmstation_kerberos_master_password: master, vmstation_kerberos_admin_password: admin };
}

/**
 * The power manager's key (src/host/power-key.ts): its public half for the power role, which
 * authorizes it on the sleepers. Created in the secrets file when missing.
 */
async function powerKeyVars(opts: HostApplyOptions, tags: readonly string[]): Promise<Record<string, string> | undefined> {
  const { spec } = opts.cluster;
  if (!spec.power.enabled || !spec.nodes.some((n) => n.power.autoSleep) || (tags.length > 0 && !tags.includes('power'))) return undefined;
  if (!opts.secrets) throw userError('vault-password-missing', "the power manager's SSH key is kept in the secrets file", 'pass --vault-password-file FILE (or set VMSTATION_VAULT_PASSWORD_FILE)');
  const store = await opts.secrets();
  const put = store.put?.bind(store);
  const key = await ensurePowerKey({
    get: (name) => store.get(name),
    put: async (name, value) => {
      if (!put) throw userError('secrets-read-only', `cannot store the power manager's new key: this secrets file was opened read-only`, `run vmstation host with --vault-password-file to create ${name}`);
      await put(name, value);
    },
  });
  if (key.created) opts.notice?.(`created the power manager's SSH key (${key.publicKey.split(' ')[0]}) in the secrets file as ${POWER_KEY_SECRET}`);
  return { vmstation_power_ssh_public_key: key.publicKey };
}

export async function applyHostLayer(opts: HostApplyOptions): Promise<HostApplyResult> {
  const { cluster } = opts;
  const tags = selectedTags(opts.tags);
  const nodes = opts.nodes ?? [];
  const unknown = nodes.filter((n) => !cluster.spec.nodes.some((x) => x.name === n));
  if (unknown.length > 0) throw userError('unknown-node', `no node named ${unknown.join(', ')} in the cluster file`, `nodes are: ${cluster.spec.nodes.map((n) => n.name).join(', ')}`);

  await ensureAnsibleVersion(MIN_ANSIBLE_VERSION, opts.spawn ? { spawn: opts.spawn } : {});
  const kerberos = await kerberosVars(opts, tags);
  const power = await powerKeyVars(opts, tags);
  const secretVars = kerberos || power ? { ...kerberos, ...power } : undefined;

  const renderDir = path.join(opts.workDir, 'host-layer');
  await writeRenderTree(opts.workDir, 'host-layer', renderAll(cluster, [ansibleRenderer]));
  const projectDir = path.join(renderDir, ANSIBLE_DIR);

  const inScope = cluster.spec.nodes.filter((n) => nodes.length === 0 || nodes.includes(n.name));
  if (opts.ensureAwake) {
    const woken = await Promise.all(inScope.map(async (n) => ({ n, r: await opts.ensureAwake!(n.name) })));
    for (const { n, r } of woken) if (!r.wasAwake) opts.notice?.(`${n.name}: ${r.reachable ? 'woken' : `not reachable: ${r.message}`}`);
  }
  const targets = cluster.spec.nodes.filter((n) => nodes.length === 0 || nodes.includes(n.name)).map((n) => ({ name: n.name, address: n.address, port: n.ssh.port }));
  const trust = await ensureKnownHosts(cluster.spec.ssh.knownHosts, targets, opts.keyScanner);
  for (const line of describeTrust(trust)) opts.notice?.(line);

  const stamp = (opts.now ?? (() => new Date()))().toISOString().replace(/[:.]/g, '-');
  const logFile = path.join(opts.workDir, 'logs', `host-${stamp}.log`);
  const run = (extraVarsFiles: string[]) =>
    runPlaybook({
      cwd: projectDir,
      playbook: PLAYBOOK,
      extraVarsFiles,
      tags,
      ...(nodes.length > 0 ? { limit: nodes.join(',') } : {}),
      ...(opts.check ? { check: true, diff: true } : {}),
      ...(opts.diff ? { diff: true } : {}),
      logFile,
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
      ...(opts.spawn ? { spawn: opts.spawn } : {}),
    });
  const result = secretVars ? await withSecretVarsFile(secretVars, (file) => run([file])) : await run([]);
  requireSuccess(result);
  return { run: result, projectDir, knownHosts: trust.file };
}
