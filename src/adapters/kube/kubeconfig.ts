// Reads a kubeconfig (or the in-cluster service account) into one resolved connection: server,
// TLS material and credentials. The power manager talks to the API server through this and
// rest.ts instead of @kubernetes/client-node, whose KubeConfig alone costs ~75 MiB of RSS (it
// loads every generated API class and auth provider) against a 100 MB budget for the controller.
// What kubectl does is the reference: relative paths resolve against the kubeconfig's folder,
// $KUBECONFIG may list several files (the first to set a name wins), in-cluster is the fallback.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { userError } from '../../errors.js';
import { describeFailure, runProcess } from '../process/index.js';
import { homeDir } from '../../util/home.js';

export interface KubeConnectOptions {
  kubeconfig?: string | undefined;
  inCluster?: boolean | undefined;
  context?: string | undefined;
  /** Where KUBECONFIG, HOME and KUBERNETES_SERVICE_* come from (default process.env). */
  env?: NodeJS.ProcessEnv | undefined;
}

/** Where in-cluster credentials live (a parameter so tests can point at a temp folder). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConnection {
  /** Where it came from, for messages: a kubeconfig path and context, or "in-cluster". */
  source: string;
  server: string;
  namespace: string;
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  insecureSkipTlsVerify: boolean;
  /** The Authorization header value for the next request, if any (tokens may rotate). */
  authorization(): Promise<string | undefined>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

interface Named {
  name: string;
  value: Obj;
  /** The file it came from: relative paths in it resolve against this file's folder. */
  file: string;
}

interface KubeconfigDocs {
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  currentContext: string | undefined;
  files: string[];
}

function kubeconfigError(file: string, message: string, hint: string): Error {
  return userError('kubeconfig-invalid', `${file}: ${message}`, hint);
}

function readDocs(files: string[]): KubeconfigDocs {
  const out: KubeconfigDocs = { clusters: [], users: [], contexts: [], currentContext: undefined, files };
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') throw userError('kubeconfig-missing', `kubeconfig ${file} does not exist`, 'pass --kubeconfig FILE (deploy writes one to .vmstation/<cluster>/kubeconfig), or set KUBECONFIG');
      throw kubeconfigError(file, `not a readable YAML kubeconfig: ${e.message}`, 'check the file, e.g. with `kubectl --kubeconfig FILE config view`');
    }
    if (doc === null || doc === undefined) continue;
    if (!isObj(doc)) throw kubeconfigError(file, 'not a kubeconfig (expected a mapping with clusters, users, contexts)', 'check the file with `kubectl --kubeconfig FILE config view`');
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      const list = doc[section];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) throw kubeconfigError(file, `${section} must be a list`, 'check the file with `kubectl --kubeconfig FILE config view`');
      const inner = section === 'clusters' ? 'cluster' : section === 'users' ? 'user' : 'context';
      for (const entry of list as unknown[]) {
        const name = isObj(entry) ? str(entry['name']) : undefined;
        if (!name || !isObj(entry)) continue;
        // With several files, the first to define a name wins (kubectl's merge rule).
        if (out[section].some((n) => n.name === name)) continue;
        out[section].push({ name, value: isObj(entry[inner]) ? entry[inner] : {}, file });
      }
    }
    out.currentContext ??= str(doc['current-context']);
  }
  return out;
}

function resolvePath(p: string, file: string): string {
  return path.isAbsolute(p) ? p : path.resolve(path.dirname(file), p);
}

/** `<key>-data` (base64) or `<key>` (a path relative to the kubeconfig). */
function material(entry: Named, key: string): Buffer | undefined {
  const data = str(entry.value[`${key}-data`]);
  if (data) return Buffer.from(data, 'base64');
  const file = str(entry.value[key]);
  if (!file) return undefined;
  const p = resolvePath(file, entry.file);
  try {
    return readFileSync(p);
  } catch {
    throw kubeconfigError(entry.file, `${key} ${p} (of "${entry.name}") cannot be read`, `fix the path or embed the file as ${key}-data`);
  }
}

/** Re-reads a token file at most once a minute: projected service-account tokens rotate. */
function tokenFileReader(file: string): () => string {
  let cached = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > 60_000) {
      cached = readFileSync(file, 'utf8').trim();
      readAt = Date.now();
    }
    return cached;
  };
}

/** An exec plugin prints one small ExecCredential; more than this is not one. */
const EXEC_PLUGIN_MAX_OUTPUT = 1024 * 1024;

/** client.authentication.k8s.io exec plugins (kubelogin, cloud CLIs): run, cache until expiry. */
function execCredential(entry: Named, exec: Obj): () => Promise<string | undefined> {
  const command = str(exec['command']);
  if (!command) throw kubeconfigError(entry.file, `user "${entry.name}": exec has no command`, 'set users[].user.exec.command');
  const args = Array.isArray(exec['args']) ? (exec['args'] as unknown[]).map(String) : [];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (Array.isArray(exec['env'])) for (const e of exec['env'] as unknown[]) if (isObj(e) && str(e['name'])) env[String(e['name'])] = String(e['value'] ?? '');
  const apiVersion = str(exec['apiVersion']) ?? 'client.authentication.k8s.io/v1';
  env['KUBERNETES_EXEC_INFO'] = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
  // A command with a slash is a path relative to the kubeconfig; a bare name is looked up in PATH.
  const cmd = command.includes('/') ? resolvePath(command, entry.file) : command;
  let cached: { token: string | undefined; until: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    const r = await runProcess(cmd, args, { env, timeoutMs: 60_000, killSignal: 'SIGTERM', maxOutputChars: EXEC_PLUGIN_MAX_OUTPUT });
    if (r.exitCode !== 0 || r.truncated) throw new Error(`exec credential plugin ${command} failed: ${r.stderr.trim() || (r.truncated ? `more than ${EXEC_PLUGIN_MAX_OUTPUT} characters of output` : describeFailure(r, 60_000))}`);
    const stdout = r.stdout;
    const status = (JSON.parse(stdout) as { status?: { token?: string; expirationTimestamp?: string } }).status ?? {};
    const expiry = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) - 10_000 : Date.now() + 5 * 60_000;
    cached = { token: status.token ? `Bearer ${status.token}` : undefined, until: expiry };
    return cached.token;
  };
}

function fromKubeconfig(files: string[], contextName: string | undefined): KubeConnection {
  const docs = readDocs(files);
  const where = files.join(':');
  const ctxName = contextName ?? docs.currentContext;
  if (!ctxName) throw kubeconfigError(where, 'no current-context is set', 'pass --context NAME or run `kubectl config use-context NAME`');
  const ctx = docs.contexts.find((c) => c.name === ctxName);
  if (!ctx) throw kubeconfigError(where, `no context named "${ctxName}"`, `contexts: ${docs.contexts.map((c) => c.name).join(', ') || 'none'}`);
  const clusterName = str(ctx.value['cluster']);
  const cluster = docs.clusters.find((c) => c.name === clusterName);
  if (!cluster) throw kubeconfigError(where, `context "${ctxName}" names cluster "${clusterName ?? ''}", which is not defined`, 'add it under clusters: or fix the context');
  const server = str(cluster.value['server']);
  if (!server) throw kubeconfigError(cluster.file, `cluster "${cluster.name}" has no server`, 'set clusters[].cluster.server, e.g. https://192.168.4.63:6443');
  const userName = str(ctx.value['user']);
  const user = userName ? docs.users.find((u) => u.name === userName) : undefined;
  if (userName && !user) throw kubeconfigError(where, `context "${ctxName}" names user "${userName}", which is not defined`, 'add it under users: or fix the context');

  let authorization: () => Promise<string | undefined> = () => Promise.resolve(undefined);
  if (user) {
    const v = user.value;
    const token = str(v['token']);
    const tokenFile = str(v['tokenFile']);
    const basic = str(v['username']) && str(v['password']) ? `Basic ${Buffer.from(`${String(v['username'])}:${String(v['password'])}`).toString('base64')}` : undefined;
    if (token) authorization = () => Promise.resolve(`Bearer ${token}`);
    else if (tokenFile) {
      const read = tokenFileReader(resolvePath(tokenFile, user.file));
      authorization = () => Promise.resolve(`Bearer ${read()}`);
    } else if (isObj(v['exec'])) authorization = execCredential(user, v['exec']);
    else if (basic) authorization = () => Promise.resolve(basic);
    else if (isObj(v['auth-provider']))
      throw kubeconfigError(user.file, `user "${user.name}" uses an auth-provider (${String(v['auth-provider']['name'] ?? '?')}), which vmstation does not support`, 'use client certificates, a token or an exec plugin (kubectl has deprecated auth-providers)');
  }
  return {
    source: `${where} (context ${ctxName})`,
    server: server.replace(/\/+$/, ''),
    namespace: str(ctx.value['namespace']) ?? 'default',
    ca: material(cluster, 'certificate-authority'),
    cert: user ? material(user, 'client-certificate') : undefined,
    key: user ? material(user, 'client-key') : undefined,
    insecureSkipTlsVerify: cluster.value['insecure-skip-tls-verify'] === true,
    authorization,
  };
}

/** The pod's service account, as client-go's rest.InClusterConfig() reads it. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConnection {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw userError('not-in-cluster', 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod', 'outside the cluster pass --kubeconfig FILE instead of --in-cluster');
  const tokenFile = path.join(dir, 'token');
  if (!existsSync(tokenFile)) throw userError('not-in-cluster', `${tokenFile} does not exist: no service account token is mounted`, 'set automountServiceAccountToken: true on the pod (the rendered Deployment does)');
  const read = tokenFileReader(tokenFile);
  const nsFile = path.join(dir, 'namespace');
  return {
    source: 'in-cluster',
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace: existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : 'default',
    ca: readFileSync(path.join(dir, 'ca.crt')),
    insecureSkipTlsVerify: false,
    authorization: () => Promise.resolve(`Bearer ${read()}`),
  };
}

/**
 * Explicit file > $KUBECONFIG (colon-separated) > ~/.kube/config > in-cluster, like kubectl and
 * client-go. `--context` overrides current-context.
 */
export function loadConnection(opts: KubeConnectOptions = {}, env: NodeJS.ProcessEnv = opts.env ?? process.env): KubeConnection {
  if (opts.inCluster) return inClusterConnection(env);
  if (opts.kubeconfig) return fromKubeconfig(opts.kubeconfig.split(path.delimiter).filter(Boolean), opts.context);
  const fromEnv = (env['KUBECONFIG'] ?? '').split(path.delimiter).filter((f) => f && existsSync(f));
  if (fromEnv.length > 0) return fromKubeconfig(fromEnv, opts.context);
  const home = path.join(homeDir(env), '.kube', 'config');
  if (existsSync(home)) return fromKubeconfig([home], opts.context);
  if (env['KUBERNETES_SERVICE_HOST']) return inClusterConnection(env);
  throw userError('kubeconfig-missing', `no kubeconfig: --kubeconfig not given, KUBECONFIG not set and ${home} does not exist`, 'pass --kubeconfig FILE (deploy writes one to .vmstation/<cluster>/kubeconfig)');
}
