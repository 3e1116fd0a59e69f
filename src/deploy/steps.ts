// What each kind of plan step does: the production step runner, composed from the I/O edges
// (SSH pool, power drivers, the Ansible runner, Kubespray, the Kubernetes API).
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { changedCount, formatHostResult, requireSuccess, runPlaybook, withSecretVarsFile } from '../adapters/ansible/index.js';
import { applyHostLayer, type SecretReader } from '../host/apply.js';
import { ObjectClient } from '../adapters/kube/apply.js';
import { KubeClient } from '../adapters/kube/client.js';
import { runDayTwoStep, writeLeavingInventory, type DayTwoEnv } from './changes/execute.js';
import type { Cluster } from '../config/model.js';
import { ExitCode, VmstationError, userError, errorMessage } from '../errors.js';
import type { SecretSource } from '../power/drivers/secrets.js';
import { kubesprayGroupVars, kubesprayInventory } from '../render/kubespray/vars.js';
import { runInventoryChecks } from '../render/kubespray/inventory-checks.js';
import { RKE2_TOKEN_SECRET, RKE2_TOKEN_VAR, rewriteKubeconfigServer } from '../render/rke2/index.js';
import type { NodeAccess } from './context.js';
import type { StepContext, StepRunner } from './executor.js';
import { fetchKubesprayKubeconfig, obtainKubespray, prepareKubesprayEnvironment, runKubesprayPlaybook, strictSshEnv, type KubesprayLocation } from './kubespray.js';
import { applyManifests, countOutcomes, parseManifests, pruneManifests } from './manifests.js';
import { sideLoad } from './side-load-run.js';
import type { PlanStep } from './plan.js';
import { formatPreflight, runPreflight } from './preflight/run.js';
import { formatVerify, probeNode, runVerify } from './verify.js';
import { runProcess } from '../adapters/process/index.js';

export interface StepEnv {
  cluster: Cluster;
  renderDir: string;
  access: NodeAccess;
  secrets: SecretSource;
  /** The opened secrets file (the host layer reads Kerberos passwords from it). */
  secretsStore?: SecretReader | undefined;
  /** Where the host layer renders its project and logs. */
  hostWorkDir: string;
  knownHosts: string;
  /** The kubeconfig apply, prune and verify use. */
  kubeconfig: string;
  /** Where the fetched admin kubeconfig is written (the state folder's, by default the same file). */
  kubeconfigOut: string;
  kubespray: { loc: KubesprayLocation; python: string; env?: NodeJS.ProcessEnv };
  /** Extra environment for every ansible-playbook run (tests). */
  ansibleEnv?: NodeJS.ProcessEnv;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  rolloutTimeoutMs?: number;
  httpGet?: (url: string) => Promise<{ status: number; body: string }>;
  /** deployed-nodes.json in the state folder (day two: what a later removal needs). */
  deployedNodesFile: string;
  /** How long a drain waits for PodDisruptionBudgets and evicted pods (default 120 s). */
  drainTimeoutMs?: number | undefined;
  /** How long a joined or upgraded Node may take to be Ready (default 10 min). */
  nodeWaitTimeoutMs?: number | undefined;
}

const exists = (p: string) => access(p).then(() => true, () => false);

async function wakeHosts(env: StepEnv, hosts: readonly string[], ctx: StepContext): Promise<void> {
  // A node being removed is no longer in the cluster file: nothing says how to wake it.
  const known = hosts.filter((h) => env.cluster.spec.nodes.some((n) => n.name === h));
  const results = await Promise.all(known.map((h) => env.access.ensureAwake(h)));
  for (const r of results) if (!r.wasAwake) ctx.progress(`${r.node}: ${r.message}`);
  const down = results.filter((r) => !r.reachable);
  if (down.length > 0)
    throw new VmstationError({ code: 'node-unreachable', message: `${down.map((d) => d.node).join(', ')} cannot be reached`, hint: 'power the node(s) on or check Wake-on-LAN, then run deploy again (it resumes here)', details: down.map((d) => `${d.node}: ${d.message}`), exitCode: ExitCode.partial });
}

export function kubeClient(kubeconfig: string): ObjectClient {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(kubeconfig);
  } catch (err) {
    throw userError('kubeconfig-missing', `cannot read the kubeconfig ${kubeconfig}: ${errorMessage(err)}`, 'run `vmstation deploy --phase kubernetes` first (it fetches the admin kubeconfig), or pass --kubeconfig');
  }
  return new ObjectClient(kc);
}

async function readRendered(env: StepEnv, files: readonly string[]): Promise<Array<{ path: string; content: string }>> {
  return Promise.all(files.map(async (f) => ({ path: f, content: await readFile(path.join(env.renderDir, f), 'utf8') })));
}

async function allManifestFiles(env: StepEnv): Promise<Array<{ path: string; content: string }>> {
  const index = JSON.parse(await readFile(path.join(env.renderDir, 'index.json'), 'utf8')) as { artifacts: Array<{ path: string }> };
  return readRendered(env, index.artifacts.map((a) => a.path).filter((p) => p.startsWith('manifests/')));
}

async function runGeneratedPlaybook(env: StepEnv, step: PlanStep & { action: { kind: 'playbook' } }, ctx: StepContext): Promise<string> {
  const { action } = step;
  await wakeHosts(env, step.hosts, ctx);
  const dir = path.join(env.renderDir, path.dirname(action.playbook));
  // The host layer ships its ansible.cfg (with the managed known_hosts); generated method playbooks get the same SSH settings here.
  const hasCfg = await exists(path.join(dir, 'ansible.cfg'));
  const secretVars: Record<string, string> = {};
  for (const name of action.secrets ?? []) {
    const v = await env.secrets.get(name === 'rke2-token' ? RKE2_TOKEN_SECRET : name);
    if (v === undefined) throw userError('secret-missing', `the step needs ${name} from the secrets file`, `vmstation secrets set ${name} (a long random string), and pass --vault-password-file`);
    secretVars[name === 'rke2-token' ? RKE2_TOKEN_VAR : name] = v;
  }
  const inventory = action.leaving && action.leaving.length > 0 ? await writeLeavingInventory(env.renderDir, env.cluster.spec.kubernetes.method, action.inventory, action.leaving) : action.inventory;
  const run = (files: string[]) =>
    runPlaybook({
      cwd: dir,
      playbook: path.basename(action.playbook),
      inventory: path.join(env.renderDir, inventory),
      ...(action.tags ? { tags: action.tags } : {}),
      ...(step.hosts.length > 0 ? { limit: step.hosts.join(',') } : {}),
      extraVarsFiles: files,
      logFile: ctx.log.logFileFor(step.id),
      // VMSTATION_KNOWN_HOSTS: the etcd snapshot playbook copies a copy target's host key from it.
      env: { ...env.ansibleEnv, VMSTATION_KNOWN_HOSTS: env.knownHosts, ...(hasCfg ? {} : strictSshEnv(env.knownHosts)) },
      onEvent: (e) => {
        if (e.event === 'host_result' && (e.status === 'changed' || e.status === 'failed' || e.status === 'unreachable')) ctx.progress(formatHostResult(e));
      },
    });
  const result = Object.keys(secretVars).length > 0 ? await withSecretVarsFile(secretVars, (f) => run([f])) : await run([]);
  requireSuccess(result);
  const changed = Object.values(result.stats).reduce((n, s) => n + s.changed, 0);
  return `${Object.keys(result.stats).length} host(s), ${changed} change(s)`;
}

async function fetchKubeconfig(env: StepEnv, step: PlanStep & { action: { kind: 'fetch-kubeconfig' } }): Promise<string> {
  const { method, server } = step.action;
  if (method === 'kubespray') return fetchKubesprayKubeconfig(env.renderDir, env.kubeconfigOut);
  const node = step.hosts[0]!;
  const file = method === 'kubeadm' ? '/etc/kubernetes/admin.conf' : '/etc/rancher/rke2/rke2.yaml';
  const r = await env.access.pool.exec(node, `if [ "$(id -u)" = 0 ]; then cat ${file}; else sudo -n cat ${file}; fi`, 30_000);
  if (r.exitCode !== 0) throw new VmstationError({ code: 'kubeconfig-missing', message: `cannot read ${file} on ${node}: ${r.stderr.trim()}`, hint: 'did the Kubernetes phase finish on the first control-plane node?', exitCode: ExitCode.partial });
  const text = method === 'rke2' ? rewriteKubeconfigServer(r.stdout, server) : r.stdout;
  await mkdir(path.dirname(env.kubeconfigOut), { recursive: true });
  await writeFile(env.kubeconfigOut, text, { mode: 0o600 });
  return `admin kubeconfig (${server}) saved to ${env.kubeconfigOut}`;
}

export function createStepRunner(env: StepEnv): StepRunner {
  return async (step, ctx) => {
    const a = step.action;
    switch (a.kind) {
      case 'wake': {
        await wakeHosts(env, [a.node], ctx);
        return undefined;
      }
      case 'preflight': {
        const report = await runPreflight(env.cluster, { pool: env.access.pool, ensureAwake: env.access.ensureAwake, now: env.now }, a.nodes);
        ctx.log.line(formatPreflight(report));
        if (!report.ok) {
          const failing = report.nodes.flatMap((n) => [...(n.error ? [`${n.node}: ${n.error.message}`] : []), ...n.checks.filter((c) => c.status === 'fail').map((c) => `${n.node} ${c.id}: ${c.observed} — fix: ${c.fix ?? ''}`)]);
          throw new VmstationError({ code: 'preflight-failed', message: `preflight found ${failing.length} problem(s)`, hint: 'fix them (`vmstation preflight` explains each), then run deploy again', details: failing });
        }
        return `${report.nodes.length} node(s) ready`;
      }
      case 'host-layer': {
        const store = env.secretsStore;
        const r = await applyHostLayer({
          cluster: env.cluster,
          workDir: env.hostWorkDir,
          ...(store ? { secrets: () => Promise.resolve(store) } : {}),
          ensureAwake: env.access.ensureAwake,
          notice: (line) => ctx.progress(line),
          onEvent: (e) => {
            if (e.event === 'host_result' && (e.status === 'changed' || e.status === 'failed' || e.status === 'unreachable')) ctx.progress(formatHostResult(e));
          },
        });
        return `${Object.keys(r.run.stats).length} host(s), ${changedCount(r.run)} change(s) (log ${r.run.logFile})`;
      }
      case 'playbook':
        return runGeneratedPlaybook(env, step as PlanStep & { action: typeof a }, ctx);
      case 'kubespray-obtain':
        return obtainKubespray(env.kubespray.loc, runProcess);
      case 'kubespray-environment':
        return prepareKubesprayEnvironment(env.kubespray.loc, runProcess, env.kubespray.python);
      case 'kubespray-inventory-checks': {
        const results = runInventoryChecks(kubesprayInventory(env.cluster), kubesprayGroupVars(env.cluster));
        const failed = results.filter((r) => r.status === 'fail');
        if (failed.length > 0) throw new VmstationError({ code: 'kubespray-inventory-invalid', message: `${failed.length} of Kubespray's inventory checks fail`, hint: 'fix the cluster file (vmstation validate explains)', details: failed.map((r) => `${r.name}: ${r.detail}`) });
        const count = (status: string) => results.filter((r) => r.status === status).length;
        return `${count('pass')} passed, ${count('warn')} warned, ${count('skipped')} skipped by their own conditions`;
      }
      case 'kubespray-playbook': {
        await wakeHosts(env, step.hosts, ctx);
        const inventory = a.leaving && a.leaving.length > 0 ? await writeLeavingInventory(env.renderDir, 'kubespray', a.inventory, a.leaving) : a.inventory;
        const runIt = (extraVarsFiles: string[]) =>
          runKubesprayPlaybook({
            loc: env.kubespray.loc,
            renderDir: env.renderDir,
            playbook: a.playbook,
            inventory,
            ...(a.limit ? { limit: a.limit } : {}),
            extraVarsFiles,
            knownHosts: env.knownHosts,
            logFile: ctx.log.logFileFor(step.id),
            env: { ...env.ansibleEnv, ...env.kubespray.env },
            onEvent: (e) => {
              if (e.event === 'host_result' && e.status !== 'ok' && e.status !== 'skipped') ctx.progress(formatHostResult(e));
            },
          });
        const r = a.extraVars && Object.keys(a.extraVars).length > 0 ? await withSecretVarsFile({ ...a.extraVars }, (f) => runIt([f])) : await runIt([]);
        return `${Object.keys(r.stats).length} host(s), ${Object.values(r.stats).reduce((n, s) => n + s.changed, 0)} change(s)`;
      }
      default:
        return runDayTwoStep(a, dayTwoEnv(env), ctx.progress);
      case 'fetch-kubeconfig':
        return fetchKubeconfig(env, step as PlanStep & { action: typeof a });
      case 'apply-manifests': {
        const report = await applyManifests(env.cluster, await readRendered(env, a.files), {
          client: kubeClient(env.kubeconfig),
          secrets: (name) => env.secrets.get(name),
          sleep: env.sleep,
          now: env.now,
          progress: ctx.progress,
          ...(env.rolloutTimeoutMs !== undefined ? { rolloutTimeoutMs: env.rolloutTimeoutMs } : {}),
        });
        const c = countOutcomes(report);
        return `${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged; ${report.rollouts.length} rollout(s) done`;
      }
      case 'side-load-image': {
        if (!a.image) throw userError('image-not-built', `the power manager's image ${a.reference} is not built here`, 'run `vmstation image build` (or set spec.power.controller.image to an image in your registry), then deploy again (it resumes at the power phase)');
        await wakeHosts(env, step.hosts, ctx);
        const results = await sideLoad(env.access.pool, step.hosts, env.cluster.spec.kubernetes.method, a.image, ctx.progress, env.now);
        return `${results.filter((r) => r.copied).length} copied, ${results.filter((r) => !r.copied).length} already present`;
      }
      case 'prune': {
        const pruned = await pruneManifests(env.cluster, await allManifestFiles(env), { client: kubeClient(env.kubeconfig), progress: ctx.progress });
        return `${pruned.length} object(s) pruned`;
      }
      case 'verify': {
        const report = await runVerify(env.cluster, {
          client: kubeClient(env.kubeconfig),
          rendered: parseManifests(await allManifestFiles(env)).map((o) => o.object),
          pool: env.access.pool,
          httpGet: env.httpGet ?? httpGet,
          reachable: (n) => probeNode(env.cluster, n),
          now: env.now,
        });
        ctx.log.line(formatVerify(report));
        if (!report.ok) throw new VmstationError({ code: 'verify-failed', message: `${report.checks.filter((c) => c.status === 'fail').length} verify check(s) failed`, hint: 'run `vmstation verify` for the table with hints', details: report.checks.filter((c) => c.status === 'fail').map((c) => `${c.name}: ${c.detail}`) });
        return `${report.checks.length} checks passed`;
      }
    }
  };
}

function dayTwoEnv(env: StepEnv): DayTwoEnv {
  let client: KubeClient | undefined;
  return {
    cluster: env.cluster,
    kube: () => (client ??= slimKubeClient(env.kubeconfig)),
    deployedNodesFile: env.deployedNodesFile,
    now: env.now,
    sleep: env.sleep,
    drainTimeoutMs: env.drainTimeoutMs,
    nodeWaitTimeoutMs: env.nodeWaitTimeoutMs,
  };
}

function slimKubeClient(kubeconfig: string): KubeClient {
  try {
    return new KubeClient({ kubeconfig });
  } catch (err) {
    throw userError('kubeconfig-missing', `cannot read the kubeconfig ${kubeconfig}: ${errorMessage(err)}`, 'run `vmstation deploy --phase kubernetes` first (it fetches the admin kubeconfig), or pass --kubeconfig');
  }
}

export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}
