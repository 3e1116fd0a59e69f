// The wake loop's exact backoff sequence, driven by a manual clock (no real waiting on timers),
// against the Kubernetes API stand-in, with drivers that record what they are asked to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandin, type Standin } from '../../../lab/kube-apiserver-standin/index.js';
import { KubeClient } from '../../../src/adapters/kube/client.js';
import { validateText } from '../../../src/config/validate.js';
import { requestPower } from '../../../src/power/api/requests.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { DEFAULT_TUNING, PowerController } from '../../../src/power/controller/controller.js';
import { silentLogger } from '../../../src/power/controller/log.js';
import type { PowerDrivers } from '../../../src/power/drivers/index.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CLUSTER = `apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: backoff }
spec:
  network: { subnet: 127.0.0.0/8 }
  nodes:
    - { name: masternode, address: 127.0.0.63, os: debian-12, roles: [control-plane] }
    - name: w1
      address: 127.0.0.99
      mac: "02:00:7f:00:00:99"
      os: debian-12
      roles: [worker]
      power: { autoSleep: true, wake: [wol, ipmi], bmc: { address: 127.0.0.199, username: { secret: u }, password: { secret: p } }, watts: { awake: 100, asleep: 5 } }
  power: { wakeTimeout: 4s, wakeAttempts: 4, idleAfter: 1h }
`;

describe('wake attempts', () => {
  let standin: Standin;
  let kube: KubeClient;
  beforeAll(async () => {
    // w1 never answers (nothing listens on 127.0.0.99:9), so it stays NotReady.
    standin = await startStandin({ nodes: [{ name: 'masternode', probe: false }, { name: 'w1', address: '127.0.0.99', sshPort: 9 }], kubelet: { probeIntervalMs: 100, notReadyGraceMs: 200 } });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-backoff-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, standin.kubeconfig());
    kube = new KubeClient({ kubeconfig });
  });
  afterAll(async () => standin?.stop());

  it('tries WoL then IPMI in each attempt, backs off 1.5 s, 2.5 s, 2.5 s (capped) between attempts, then records failed', async () => {
    const clock = new ManualClock(Date.now());
    const calls: string[] = [];
    const drivers: PowerDrivers = {
      wakeOnLan: async (n) => void calls.push(`wol:${n}@${clock.now()}`),
      ipmiPowerOn: async (n) => void calls.push(`ipmi:${n}@${clock.now()}`),
      reachable: async () => false,
      sshCheck: async () => {
        throw new Error('unreachable');
      },
      suspend: async () => undefined,
    };
    await kube.patchNode('w1', { metadata: { annotations: { [POWER_ANNOTATIONS.state]: 'asleep', [POWER_ANNOTATIONS.since]: new Date(clock.now() - 3_600_000).toISOString(), [POWER_ANNOTATIONS.reason]: 'test' } } });
    const cluster = validateText({ file: 'backoff.yaml', text: CLUSTER }).cluster!;
    const ctl = new PowerController({
      cluster,
      kube,
      drivers,
      clock,
      log: silentLogger,
      identity: 'backoff-test',
      namespace: 'default',
      tuning: { ...DEFAULT_TUNING, tickMs: 60_000, leaseRenewMs: 1000, wakeBackoff: { initialMs: 1500, factor: 2, maxMs: 2500 }, probeBackoff: { initialMs: 100, factor: 2, maxMs: 400 } },
    });
    await ctl.start();
    await requestPower(kube, 'w1', 'wake', 'manual', 'test', clock.now());
    const state = async () => (await kube.getNode('w1'))?.metadata?.annotations?.[POWER_ANNOTATIONS.state];
    // Drive time: 200 ms steps of the manual clock, letting real I/O (the stand-in) run between them.
    for (let i = 0; i < 2000 && (await state()) !== 'failed'; i++) {
      await clock.advance(200);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await state()).toBe('failed');
    const backoffs = clock.sleeps.filter((ms) => ms === 1500 || ms === 2500);
    expect(backoffs).toEqual([1500, 2500, 2500]);
    // Each attempt: WoL first, IPMI as the fallback 2 x bootSeconds later at most (here the attempt deadline).
    const kinds = calls.map((c) => c.split('@')[0]);
    expect(kinds).toEqual(['wol:w1', 'ipmi:w1', 'wol:w1', 'ipmi:w1', 'wol:w1', 'ipmi:w1', 'wol:w1', 'ipmi:w1']);
    const node = await kube.getNode('w1');
    expect(node?.metadata?.annotations?.[POWER_ANNOTATIONS.reason]).toMatch(/not Ready after 4 wake attempts \(TCP 22 did not answer after wol, then ipmi\)/);
    expect(await ctl.metrics.text()).toContain('vmstation_power_failures_total{node="w1",kind="wake"} 1');
    await ctl.close();
  });
});
