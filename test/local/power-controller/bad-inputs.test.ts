// The controller keeps managing the cluster when an input is bad: a quiet-hours or keep-awake
// window that cannot be evaluated (a cluster file validated by an older vmstation), a power-state
// annotation edited by hand, a request annotation that is not JSON. Each is reported (an error log
// line, a PowerInputInvalid Warning Event on the Nodes concerned, vmstation_power_bad_inputs) and
// the rest is still applied: a pending pod still wakes its sleeping node. Before the fix decide()
// threw on every reconcile and nothing was managed at all. Against the Kubernetes API stand-in,
// with drivers that record what they are asked to do.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { validateText } from '../../../src/config/validate.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { systemClock } from '../../../src/power/controller/clock.js';
import { DEFAULT_TUNING, PowerController } from '../../../src/power/controller/controller.js';
import { jsonLogger } from '../../../src/power/controller/log.js';
import type { PowerDrivers } from '../../../src/power/drivers/index.js';
import { testKube, type TestKube } from '../../helpers/kube-test-client.js';
import { waitFor as eventually } from '../kube-standin/helpers.js';

const CLUSTER = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: bad-inputs }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: masternode, address: 127.0.0.63, os: debian-12, roles: [control-plane] }
    - { name: w1, address: 127.0.0.97, mac: "02:00:7f:00:00:97", os: debian-12, roles: [worker], power: { autoSleep: true } }
    - { name: w2, address: 127.0.0.96, mac: "02:00:7f:00:00:96", os: debian-12, roles: [worker], power: { autoSleep: true } }
  power:
    idleAfter: 1h
    quietHours: [{ start: "0 1 * * *", duration: 6h }]
    keepAwake: [{ start: "0 19 * * *", duration: 2h }]
`;

describe('a controller with bad inputs', () => {
  let standin: Standin;
  let kube: TestKube;
  beforeAll(async () => {
    // Nothing listens on the workers' port 9: both are NotReady, as sleeping nodes are.
    standin = await startStandin({ nodes: [{ name: 'masternode', probe: false }, { name: 'w1', address: '127.0.0.97', sshPort: 9 }, { name: 'w2', address: '127.0.0.96', sshPort: 9 }], kubelet: { probeIntervalMs: 100, notReadyGraceMs: 200 } });
    const kubeconfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'vmstation-bad-inputs-')), 'kubeconfig');
    writeFileSync(kubeconfig, standin.kubeconfig());
    kube = testKube(kubeconfig);
  });
  afterAll(async () => standin?.stop());

  it('reports each bad input once and still wakes a sleeping node for a pending pod', async () => {
    const cluster = validateText({ file: 'bad-inputs.yaml', text: CLUSTER }).cluster!;
    // As an older vmstation's validator let through (and the hand-written check accepted).
    cluster.spec.power.quietHours[0]!.start = '0 0 31 2 *';
    cluster.spec.power.keepAwake[0]!.start = '*/0 * * * *';
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await kube.patchNode('w1', { metadata: { annotations: { [POWER_ANNOTATIONS.state]: 'asleep', [POWER_ANNOTATIONS.since]: hourAgo, [POWER_ANNOTATIONS.reason]: 'test' } } });
    await kube.patchNode('w2', { metadata: { annotations: { [POWER_ANNOTATIONS.state]: 'sleeping', [POWER_ANNOTATIONS.request]: '{not json' } } });

    const woken: string[] = [];
    const drivers: PowerDrivers = {
      wakeOnLan: async (n) => void woken.push(n),
      ipmiPowerOn: async () => undefined,
      reachable: async () => false,
      sshCheck: async () => {
        throw new Error('unreachable');
      },
      suspend: async () => undefined,
    };
    const stream = new PassThrough();
    let logs = '';
    stream.on('data', (d: Buffer) => (logs += d.toString()));
    const ctl = new PowerController({
      cluster,
      kube,
      drivers,
      clock: systemClock,
      log: jsonLogger(stream, { level: 'debug' }),
      identity: 'bad-inputs-test',
      namespace: 'default',
      tuning: { ...DEFAULT_TUNING, leaseRenewMs: 200 },
    });
    try {
      await ctl.start();
      await eventually('leading', () => ctl.leader.isLeader(), 10_000);
      standin.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'needs-w1', namespace: 'default', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'j', controller: true }] }, spec: { nodeSelector: { 'kubernetes.io/hostname': 'w1' }, containers: [{ name: 'c', image: 'x' }] } });

      // The rest still applies: the pending pod wakes w1.
      await eventually('a magic packet for w1', () => woken.includes('w1'), 15_000);
      expect(ctl.dispatched.some((d) => d.action === 'wake' && d.node === 'w1' && d.source === 'pending-pod')).toBe(true);
      expect(logs).not.toContain('"reconcile failed"');

      // Each bad input reported: the log, Warning Events on the Nodes concerned, the gauge.
      const events = await eventually('the PowerInputInvalid events', async () => {
        const list = (await kube.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.reason === 'PowerInputInvalid');
        return list.length >= 6 ? list : undefined;
      }, 15_000);
      const on = (node: string) => events.filter((e) => e.involvedObject.name === node).map((e) => e.message ?? '');
      expect(events.every((e) => e.type === 'Warning')).toBe(true);
      // The windows govern every node that may sleep: both hear of both windows.
      for (const node of ['w1', 'w2']) {
        expect(on(node)).toContainEqual(expect.stringMatching(/^spec\.power\.quietHours\[0\]: window "0 0 31 2 \*" for 6h cannot be evaluated, so it never opens: .*never fires/));
        expect(on(node)).toContainEqual(expect.stringMatching(/^spec\.power\.keepAwake\[0\]: window "\*\/0 \* \* \* \*" for 2h cannot be evaluated.*a step of 0 never repeats/));
      }
      expect(on('w2')).toContainEqual(expect.stringMatching(/^node w2: vmstation\.io\/power-state "sleeping" is not a power state/));
      expect(on('w2')).toContainEqual(expect.stringMatching(/^node w2: vmstation\.io\/power-request is not a request .*ignored: \{not json/));
      expect(on('masternode')).toEqual([]);
      const metrics = await ctl.metrics.text();
      expect(metrics).toContain('vmstation_power_bad_inputs{kind="window"} 2');
      expect(metrics).toContain('vmstation_power_bad_inputs{kind="node"} 2');
      expect(logs.match(/"msg":"bad input left out; everything else is still managed"/g)).toHaveLength(4);

      // Reported once, not on every reconcile: more rounds add no event.
      const before = events.length;
      await kube.patchNode('masternode', { metadata: { labels: { touched: 'yes' } } });
      await eventually('another reconcile', () => (logs.match(/"msg":"left alone"/g) ?? []).length > 10, 10_000);
      const after = (await kube.core.listNamespacedEvent({ namespace: 'default' })).items.filter((e) => e.reason === 'PowerInputInvalid');
      expect(after).toHaveLength(before);
    } finally {
      await ctl.close();
    }
  });
});
