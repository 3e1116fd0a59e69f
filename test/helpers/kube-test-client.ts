// Tests drive the cluster (create pods, read events, clean up) with @kubernetes/client-node, an
// independent client, next to vmstation's own KubeClient that the power manager uses.
import { CoreV1Api, KubeConfig, PolicyV1Api } from '@kubernetes/client-node';
import { KubeClient } from '../../src/adapters/kube/client.js';

export type TestKube = KubeClient & { core: CoreV1Api; policy: PolicyV1Api };

export function testKube(kubeconfig: string): TestKube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return Object.assign(new KubeClient({ kubeconfig }), { core: kc.makeApiClient(CoreV1Api), policy: kc.makeApiClient(PolicyV1Api) });
}
