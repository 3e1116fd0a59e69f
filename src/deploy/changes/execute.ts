// The I/O edge of the day-two steps: drain, uncordon, delete and wait for Nodes through the
// Kubernetes API; the removal inventory and the record of deployed nodes on disk.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeClient } from '../../adapters/kube/client.js';
import type { Cluster } from '../../config/model.js';
import type { Method } from '../../config/schema.js';
import { ExitCode, VmstationError } from '../../errors.js';
import { nodeReady } from '../../power/controller/observe.js';
import { ansibleYaml, parseAnsibleYaml } from '../../util/ansible-yaml.js';
import type { DeployedNode, LeavingNode, StepAction } from '../plan-model.js';
import { drainNode, uncordon } from './drain.js';
import { deployedNodes, inventoryWithLeaving } from './inventory.js';
import { compareVersions, parseKubeVersion } from './versions.js';

export interface DayTwoEnv {
  cluster: Cluster;
  kube: () => Pick<KubeClient, 'patchNode' | 'listPodsOnNode' | 'evictPod' | 'deleteNode' | 'getNode'>;
  /** Where the deployed nodes are recorded (deployed-nodes.json in the state folder). */
  deployedNodesFile: string;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  drainTimeoutMs?: number | undefined;
  /** How long a Node may take to be Ready (at the new version) after a join or an upgrade (default 10 min). */
  nodeWaitTimeoutMs?: number | undefined;
  pollMs?: number | undefined;
}

type DayTwoAction = Extract<StepAction, { kind: 'drain' | 'uncordon' | 'delete-node' | 'wait-node' | 'record-nodes' }>;

export function isDayTwoAction(a: StepAction): a is DayTwoAction {
  return a.kind === 'drain' || a.kind === 'uncordon' || a.kind === 'delete-node' || a.kind === 'wait-node' || a.kind === 'record-nodes';
}

/** v1.35.4 and v1.35.4+rke2r1 are the same Kubernetes version (RKE2's kubelet reports its build). */
function sameVersion(a: string, b: string): boolean {
  const x = parseKubeVersion(a);
  const y = parseKubeVersion(b);
  return x !== undefined && y !== undefined && compareVersions(x, y) === 0;
}

async function waitNode(env: DayTwoEnv, node: string, version: string | undefined): Promise<string> {
  const deadline = env.now() + (env.nodeWaitTimeoutMs ?? 600_000);
  let last = 'not registered';
  for (;;) {
    const n = await env.kube().getNode(node);
    if (n) {
      const kubelet = n.status?.nodeInfo?.kubeletVersion ?? '';
      const ready = nodeReady(n);
      if (ready && (version === undefined || sameVersion(kubelet, version))) return `${node} Ready${version ? ` on ${kubelet}` : ''}`;
      last = `${ready ? 'Ready' : 'not Ready'}, kubelet ${kubelet || '?'}`;
    }
    if (env.now() >= deadline)
      throw new VmstationError({
        code: 'node-not-ready',
        message: `${node} is not Ready${version ? ` on ${version}` : ''} after ${((env.nodeWaitTimeoutMs ?? 600_000) / 1000).toFixed(0)} s (${last})`,
        hint: `look at the kubelet on ${node} (journalctl -u kubelet), then run deploy again: it plans only what is still to do`,
        exitCode: ExitCode.partial,
      });
    await env.sleep(env.pollMs ?? 2000);
  }
}

export async function runDayTwoStep(action: DayTwoAction, env: DayTwoEnv, progress: (line: string) => void): Promise<string> {
  switch (action.kind) {
    case 'drain':
      return drainNode(action.node, { kube: env.kube(), now: env.now, sleep: env.sleep, progress, ...(env.drainTimeoutMs !== undefined ? { timeoutMs: env.drainTimeoutMs } : {}) });
    case 'uncordon':
      await uncordon(action.node, { kube: env.kube() });
      return `${action.node} uncordoned`;
    case 'delete-node':
      return (await env.kube().deleteNode(action.node)) ? `Node ${action.node} deleted` : `Node ${action.node} already gone`;
    case 'wait-node':
      return waitNode(env, action.node, action.version);
    case 'record-nodes': {
      const nodes = deployedNodes(env.cluster);
      await writeJsonAtomic(env.deployedNodesFile, { version: 1, cluster: env.cluster.metadata.name, nodes });
      return `${nodes.length} node(s) recorded in ${env.deployedNodesFile}`;
    }
  }
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** The last deploy's record, when there is one (a missing or unreadable file is no record). */
export async function readDeployedNodes(file: string, cluster: string): Promise<DeployedNode[] | undefined> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as { version?: number; cluster?: string; nodes?: DeployedNode[] };
    return doc.version === 1 && doc.cluster === cluster && Array.isArray(doc.nodes) ? doc.nodes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the rendered inventory plus the leaving nodes next to it; returns its path relative to
 * renderDir. Read and written as Ansible variables: every string stays `!unsafe`, so a value
 * holding `{{ ... }}` is never templated (rendered inventories hold no template of ours).
 */
export async function writeLeavingInventory(renderDir: string, method: Method, inventory: string, leaving: readonly LeavingNode[]): Promise<string> {
  const rendered = parseAnsibleYaml(await readFile(path.join(renderDir, inventory), 'utf8'));
  const rel = path.join(path.dirname(inventory), 'inventory-with-leaving-nodes.yaml');
  await writeFile(path.join(renderDir, rel), `# The rendered inventory plus the node(s) being removed (${leaving.map((l) => l.name).join(', ')}), written by vmstation deploy.\n${ansibleYaml(inventoryWithLeaving(method, rendered, leaving))}`, { mode: 0o600 });
  return rel;
}
