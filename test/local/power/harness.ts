// Starting controllers against the loopback lab (or the full lab) with fast test timings.
import { PassThrough } from 'node:stream';
import type { CoreV1Event, V1Node } from '@kubernetes/client-node';
import type { Cluster } from '../../../src/config/model.js';
import type { KubeClient } from '../../../src/adapters/kube/client.js';
import { testKube, type TestKube } from '../../helpers/kube-test-client.js';
import { POWER_ANNOTATIONS, parsePowerAnnotations } from '../../../src/power/controller/annotations.js';
import { DEFAULT_TUNING, type ControllerTuning } from '../../../src/power/controller/controller.js';
import { runController, type RunControllerOptions, type RunningController } from '../../../src/power/controller/run.js';
import { jsonLogger } from '../../../src/power/controller/log.js';
import { mapSecrets } from '../../../src/power/drivers/secrets.js';
import type { PowerDrivers } from '../../../src/power/drivers/index.js';
import { eventually } from './loopback-lab.js';

export const TEST_TOKEN = 'test-token-for-the-power-api-0123456789';

export const FAST_TUNING: Partial<ControllerTuning> = {
  tickMs: 300,
  wakeBackoff: { initialMs: 200, factor: 2, maxMs: 1000 },
  probeBackoff: { initialMs: 50, factor: 2, maxMs: 200 },
  apiBackoff: { initialMs: 50, factor: 2, maxMs: 500 },
  drainTimeoutMs: 15_000,
  suspendConfirmMs: 5_000,
  sshStepMs: 5_000,
  probeTimeoutMs: 300,
  leaseDurationSeconds: 2,
  leaseRenewMs: 300,
};

export interface TestController extends RunningController {
  logs(): string;
}

export async function startTestController(opts: {
  cluster: Cluster;
  kubeconfig: string;
  identity?: string;
  secrets?: Record<string, string>;
  drivers?: PowerDrivers;
  tuning?: Partial<ControllerTuning>;
  gateway?: RunControllerOptions['gateway'];
}): Promise<TestController> {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const running = await runController({
    cluster: opts.cluster,
    kube: { kubeconfig: opts.kubeconfig },
    token: TEST_TOKEN,
    listen: '127.0.0.1:0',
    ...(opts.drivers ? { drivers: opts.drivers } : { driverOptions: { secrets: mapSecrets(opts.secrets ?? {}) } }),
    identity: opts.identity ?? 'controller-a',
    namespace: 'default',
    log: jsonLogger(stream, { level: 'debug', base: { identity: opts.identity ?? 'controller-a' } }),
    tuning: { ...DEFAULT_TUNING, ...FAST_TUNING, ...opts.tuning },
    ...(opts.gateway ? { gateway: opts.gateway } : {}),
  });
  return { ...running, logs: () => text };
}

export function kubeFor(kubeconfig: string): TestKube {
  return testKube(kubeconfig);
}

export async function powerOf(kube: KubeClient, node: string) {
  const n = (await kube.getNode(node)) as V1Node;
  return { ...parsePowerAnnotations(n.metadata?.annotations, 0), unschedulable: n.spec?.unschedulable === true, ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false, request: n.metadata?.annotations?.[POWER_ANNOTATIONS.request] };
}

export async function waitForState(kube: KubeClient, node: string, state: string, timeoutMs = 30_000) {
  return eventually(`${node} to be ${state}`, async () => {
    const p = await powerOf(kube, node);
    return p.state === state ? p : undefined;
  }, timeoutMs);
}

export async function nodeEvents(kube: TestKube, node: string): Promise<CoreV1Event[]> {
  const list = await kube.core.listNamespacedEvent({ namespace: 'default' });
  return list.items.filter((e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === node).sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/** A pod owned by a ReplicaSet (so it may be evicted), bound or pending. */
export function testPod(name: string, opts: { node?: string; nodeSelector?: Record<string, string>; labels?: Record<string, string>; namespace?: string; bare?: boolean } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: opts.namespace ?? 'default',
      labels: opts.labels ?? { app: name },
      ...(opts.bare ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-rs`, uid: `uid-${name}`, controller: true }] }),
    },
    spec: {
      ...(opts.node ? { nodeName: opts.node } : {}),
      ...(opts.nodeSelector ? { nodeSelector: opts.nodeSelector } : {}),
      containers: [{ name: 'c', image: 'docker.io/library/busybox:1.37.0', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
    },
  };
}
