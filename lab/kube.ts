// The Kubernetes API stand-in (lab/kube-apiserver-standin/, see its README) as a background
// process of the lab: on 127.0.0.1, a kubelet emulator per lab host (probing its SSH port), and
// the lab's kubeconfig. `down` stops it by the PID recorded in state.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_DIR, REPO_ROOT, type LabPaths } from './paths.js';
import { LabError, sleep } from './run.js';

export interface StandinProcess {
  pid: number;
  child: ChildProcess;
  infoFile: string;
}

export function standinFiles(paths: LabPaths): { infoFile: string; pidFile: string; logFile: string } {
  return { infoFile: join(paths.stateDir, 'kube-standin.json'), pidFile: join(paths.stateDir, 'kube-standin.pid'), logFile: join(paths.logsDir, 'kube-standin.log') };
}

/** Starts the stand-in (returns at once; `waitForKubeStandin` waits until it listens). */
export function startKubeStandin(paths: LabPaths, clusterFile: string, log: (line: string) => void): StandinProcess | undefined {
  const entry = join(LAB_DIR, 'kube-apiserver-standin', 'main.ts');
  if (!existsSync(entry)) {
    log('no Kubernetes API stand-in (lab/kube-apiserver-standin/main.ts): no kubeconfig written');
    return undefined;
  }
  const files = standinFiles(paths);
  const out = openSync(files.logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, '--cluster-file', clusterFile, '--host', '127.0.0.1', '--port', '0', '--kubeconfig-out', paths.kubeconfig, '--pid-file', files.pidFile, '--info-file', files.infoFile],
    { cwd: REPO_ROOT, detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new LabError('could not start the Kubernetes API stand-in');
  return { pid: child.pid, child, infoFile: files.infoFile };
}

export async function waitForKubeStandin(p: StandinProcess, paths: LabPaths, timeoutMs = 30_000): Promise<string> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (p.child.exitCode !== null) break;
    if (existsSync(p.infoFile) && existsSync(paths.kubeconfig)) {
      try {
        return (JSON.parse(readFileSync(p.infoFile, 'utf8')) as { url: string }).url;
      } catch {
        // being written
      }
    }
    await sleep(100);
  }
  throw new LabError('the Kubernetes API stand-in did not start', `see ${standinFiles(paths).logFile}`);
}
