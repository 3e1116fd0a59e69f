// Where the lab keeps things. One state folder per lab (everything `down` removes) and one
// cache folder for the root filesystem image (kept across labs: building it is the slow part).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAB_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(LAB_DIR, '..');

export interface LabPaths {
  stateDir: string;
  cacheDir: string;
  stateFile: string;
  runtimeFile: string;
  sshDir: string;
  clientKey: string;
  knownHosts: string;
  sshConfig: string;
  kubeconfig: string;
  fixtureFile: string;
  logsDir: string;
  nodesDir: string;
}

export function labPaths(env: NodeJS.ProcessEnv = process.env): LabPaths {
  const stateDir = env.VMSTATION_LAB_STATE_DIR ?? '/run/vmstation-lab';
  const cacheDir = env.VMSTATION_LAB_CACHE_DIR ?? '/var/cache/vmstation-lab';
  return {
    stateDir,
    cacheDir,
    stateFile: join(stateDir, 'state.json'),
    runtimeFile: join(stateDir, 'runtime.json'),
    sshDir: join(stateDir, 'ssh'),
    clientKey: join(stateDir, 'ssh', 'id_ed25519'),
    knownHosts: join(stateDir, 'ssh', 'known_hosts'),
    sshConfig: join(stateDir, 'ssh', 'config'),
    kubeconfig: join(stateDir, 'kubeconfig'),
    fixtureFile: join(stateDir, 'lab.json'),
    logsDir: join(stateDir, 'logs'),
    nodesDir: join(stateDir, 'nodes'),
  };
}

export function nodeDir(paths: LabPaths, node: string): string {
  return join(paths.nodesDir, node);
}

/** The cgroup folders of one node, in every hierarchy the lab uses (hybrid layout). */
export const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified', '/sys/fs/cgroup/memory'] as const;
export const CGROUP_PARENT = 'vmstation-lab';

export function nodeCgroups(node: string): string[] {
  return CGROUP_ROOTS.map((root) => join(root, CGROUP_PARENT, node));
}

export const DEFAULT_CLUSTER_FILE = join(LAB_DIR, 'vmstation.lab.yaml');
