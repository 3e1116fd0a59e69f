// `vmstation reset`: the method's own reset (Kubespray reset.yml, kubeadm reset plus CNI state
// and interfaces, rke2-uninstall.sh), after the user types the cluster name. Forgets the deploy
// state and the fetched kubeconfig afterwards, so the next deploy starts from the beginning.
import { rm, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { requireSuccess, runPlaybook } from '../adapters/ansible/index.js';
import type { Cluster } from '../config/model.js';
import { userError } from '../errors.js';
import type { Artifact } from '../render/artifact.js';
import { writeRenderTree } from '../render/write.js';
import { obtainKubespray, prepareKubesprayEnvironment, runKubesprayPlaybook, strictSshEnv, type KubesprayLocation } from './kubespray.js';
import { METHOD_FILES } from './plan.js';
import { readLine } from './run.js';
import { runProcess } from '../adapters/process/index.js';

export interface ResetOptions {
  cluster: Cluster;
  artifacts: Artifact[];
  renderDir: string;
  knownHosts: string;
  kubespray: { loc: KubesprayLocation; python: string; env?: NodeJS.ProcessEnv };
  stateFile: string;
  kubeconfig: string;
  logFile: string;
  yes: boolean;
  out: Writable;
  input: Readable;
  ansibleEnv?: NodeJS.ProcessEnv;
}

export async function runReset(opts: ResetOptions): Promise<string> {
  const { cluster } = opts;
  const method = cluster.spec.kubernetes.method;
  if (!opts.yes) {
    opts.out.write(`This removes Kubernetes (${method}) from ${cluster.spec.nodes.map((n) => n.name).join(', ')}: every workload and its data on the nodes.\nType the cluster name (${cluster.metadata.name}) to confirm: `);
    const answer = await readLine(opts.input);
    if (answer !== cluster.metadata.name) throw userError('not-confirmed', `reset cancelled: "${answer}" is not the cluster name`, `type ${cluster.metadata.name}, or pass --yes in scripts`);
  }
  await writeRenderTree('/', opts.renderDir, opts.artifacts);
  if (method === 'kubespray') {
    await obtainKubespray(opts.kubespray.loc, runProcess);
    await prepareKubesprayEnvironment(opts.kubespray.loc, runProcess, opts.kubespray.python);
    // Kubespray's reset.yml prompts for reset_confirmation; answering it through a vars file keeps the run non-interactive.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vmstation-reset-'));
    const vars = path.join(dir, 'confirm.yaml');
    await writeFile(vars, 'reset_confirmation: "yes"\n', { mode: 0o600 });
    try {
      await runKubesprayPlaybook({ loc: opts.kubespray.loc, renderDir: opts.renderDir, playbook: 'reset.yml', knownHosts: opts.knownHosts, logFile: opts.logFile, extraVarsFiles: [vars], env: { ...opts.ansibleEnv, ...opts.kubespray.env } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  } else {
    const files = METHOD_FILES[method];
    const result = await runPlaybook({
      cwd: path.join(opts.renderDir, method),
      playbook: path.basename(files.reset),
      inventory: path.join(opts.renderDir, files.inventory),
      logFile: opts.logFile,
      env: { ...opts.ansibleEnv, ...strictSshEnv(opts.knownHosts) },
    });
    requireSuccess(result);
  }
  await rm(opts.stateFile, { force: true });
  await rm(opts.kubeconfig, { force: true });
  return `${cluster.metadata.name}: ${method} reset on ${cluster.spec.nodes.length} node(s); deploy state forgotten`;
}
