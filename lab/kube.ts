// Hook for the Kubernetes API stand-in (lab/kube-apiserver-standin/, built separately): when it
// is there, `lab up` starts it on 127.0.0.1 and writes the lab's kubeconfig.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LabSpec } from './lab-config.js';
import { LAB_DIR, type LabPaths } from './paths.js';

export interface StandinProcess {
  pid: number;
}

export async function startKubeStandin(_paths: LabPaths, _spec: LabSpec, log: (line: string) => void): Promise<StandinProcess | undefined> {
  const entry = join(LAB_DIR, 'kube-apiserver-standin', 'main.ts');
  if (!existsSync(entry)) {
    log('no Kubernetes API stand-in yet (lab/kube-apiserver-standin/main.ts): no kubeconfig written');
    return undefined;
  }
  log('the Kubernetes API stand-in exists but is not wired into `lab up` yet');
  return undefined;
}
