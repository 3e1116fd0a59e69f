// Issue 13 section 4 end to end on the loopback power lab (real sshd hosts, real magic packets, the
// Kubernetes API stand-in) with the real controller (runController: informers, Lease, HTTP API):
//  - `vmstation power hold` through the HTTP API: the hold is on every Node, the controller's
//    /metrics shows vmstation_power_hold with its reason, each Node gets a PowerHold Event, a sleep
//    request is refused with the hold as the reason, `power status` shows it; `power release`
//    through the kubeconfig: PowerHoldReleased on each Node, the series gone, the request path open.
//  - deploy's own hold (the CLI's maintenanceHolds, through the kubeconfig, as `vmstation deploy`
//    takes it) around a run whose step fails: the controller sees the hold while the step runs and
//    the hold is released after the failure (PowerHoldReleased; nothing left on the Nodes).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { maintenanceHolds } from '../../../src/cli/maintenance-hold.js';
import { runDeploy } from '../../../src/deploy/run.js';
import { ensureNodeAwake } from '../../../src/deploy/wake.js';
import { VmstationError } from '../../../src/errors.js';
import { requestPower } from '../../../src/power/api/requests.js';
import { parseHolds, POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { createDrivers } from '../../../src/power/drivers/index.js';
import { mapSecrets } from '../../../src/power/drivers/secrets.js';
import { renderCluster } from '../../../src/render/index.js';
import { kubeFor, nodeEvents, startTestController, TEST_TOKEN, type TestController } from './harness.js';
import { eventually, resetLab, startLoopbackLab, type LoopbackLab } from './loopback-lab.js';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'cli-entry.ts'), ...args], { timeout: 60_000 });
const NODES = ['homelab', 'masternode', 'storagenodet3500'];

describe('maintenance hold on the loopback lab with the real controller', () => {
  let lab: LoopbackLab;
  let ctl: TestController | undefined;
  beforeAll(async () => {
    lab = await startLoopbackLab();
  });
  beforeEach(async () => {
    await resetLab(lab);
    const kube = kubeFor(lab.kubeconfigPath);
    for (const node of NODES) await kube.patchNode(node, { metadata: { annotations: { [POWER_ANNOTATIONS.holds]: null } } });
  });
  afterAll(async () => lab?.stop());
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && ctl) console.log(ctl.logs().split('\n').slice(-60).join('\n'));
    await ctl?.close();
    ctl = undefined;
  });

  const metrics = async () => (await fetch(`${ctl!.url}/metrics`)).text();
  const holdEvents = async (node: string, reason: string) => (await nodeEvents(kubeFor(lab.kubeconfigPath), node)).filter((e) => e.reason === reason).map((e) => e.message ?? '');

  it('power hold via the API: metric, Events, a refused sleep, status; power release via the kubeconfig: Events, the series gone', async () => {
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath });
    const kube = kubeFor(lab.kubeconfigPath);
    await eventually('leading', () => ctl!.controller.leader.isLeader(), 15_000);
    const tokenFile = path.join(lab.dir, 'hold-token');
    writeFileSync(tokenFile, TEST_TOKEN, { mode: 0o600 });
    const viaApi = ['-f', lab.clusterPath, '--url', ctl.url, '--token-file', tokenFile];
    const viaKube = ['-f', lab.clusterPath, '--kubeconfig', lab.kubeconfigPath];

    const held = await cli(['power', 'hold', '--for', '10m', '--reason', 'UPS battery test', ...viaApi]);
    expect(held.stdout).toMatch(/^maintenance hold on every managed node until \S+Z: UPS battery test/);
    // The reason as recorded: the CLI adds who asked, the API where from.
    const reason = parseHolds((await kube.getNode('homelab'))?.metadata?.annotations)[0]?.reason ?? '';
    expect(reason).toMatch(/^UPS battery test \(by .+\) \(from 127\.0\.0\.1\)$/);
    for (const node of NODES) await eventually(`PowerHold on ${node}`, async () => ((await holdEvents(node, 'PowerHold')).some((m) => m.startsWith(`maintenance hold manual: ${reason}, until `)) ? true : undefined), 15_000);
    const text = await metrics();
    for (const node of NODES) {
      expect(text).toContain(`vmstation_power_hold{node="${node}",id="manual",reason="${reason}"} 1`);
      expect(text).toMatch(new RegExp(`^vmstation_power_hold_expiry_timestamp_seconds\\{node="${node}",id="manual"\\} \\d+(\\.\\d+)?$`, 'm'));
    }

    // While held, a person's sleep request is refused with the hold as the reason (a Warning Event).
    await requestPower(kube, 'homelab', 'sleep', 'manual', 'test', Date.now());
    const refused = await eventually('the sleep refused', async () => (await nodeEvents(kube, 'homelab')).find((e) => e.reason === 'PowerSleepRefused'), 15_000);
    expect(refused.message).toContain(`maintenance hold (${reason})`);
    expect(lab.host('homelab').suspends).toBe(0);

    const status = (await cli(['power', 'status', ...viaKube])).stdout;
    expect(status.split('\n')).toContainEqual(expect.stringMatching(/^maintenance hold manual: UPS battery test .*, until \S+ \(homelab, masternode, storagenodet3500: woken, none put to sleep\)$/));

    const released = await cli(['power', 'release', ...viaKube]);
    expect(released.stdout.trim()).toBe('maintenance hold manual released');
    for (const node of NODES) await eventually(`PowerHoldReleased on ${node}`, async () => ((await holdEvents(node, 'PowerHoldReleased')).some((m) => m.startsWith(`maintenance hold manual: ${reason}: released`)) ? true : undefined), 15_000);
    expect(await metrics()).not.toMatch(/^vmstation_power_hold(_expiry_timestamp_seconds)?\{/m);
    for (const node of NODES) expect((await kube.getNode(node))?.metadata?.annotations?.[POWER_ANNOTATIONS.holds]).toBeUndefined();
    // Announced once each, however many rounds ran.
    expect(await holdEvents('homelab', 'PowerHold')).toHaveLength(1);
  });

  it("a deploy whose step fails releases its hold: the controller saw it during the step, and PowerHoldReleased after", async () => {
    ctl = await startTestController({ cluster: lab.cluster, kubeconfig: lab.kubeconfigPath });
    const kube = kubeFor(lab.kubeconfigPath);
    await eventually('leading', () => ctl!.controller.leader.isLeader(), 15_000);
    const drivers = createDrivers(lab.cluster, { secrets: mapSecrets({}) });
    const hold = await maintenanceHolds(lab.cluster, lab.kubeconfigPath, (node) => ensureNodeAwake(lab.cluster, node, { drivers, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: Date.now }), 'deploy');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-hold-deploy-'));
    const seenDuringStep: string[] = [];
    const out = new PassThrough();
    let printed = '';
    out.on('data', (d: Buffer) => (printed += d.toString()));
    const result = await runDeploy({
      cluster: lab.cluster,
      artifacts: renderCluster(lab.cluster),
      renderDir: path.join(dir, 'render'),
      stateFile: path.join(dir, 'state.json'),
      logsDir: path.join(dir, 'logs'),
      selection: { phase: 'kubernetes' },
      yes: true,
      dryRun: false,
      out,
      input: new PassThrough(),
      tty: false,
      observed: { nodes: {}, cluster: { version: `v${lab.cluster.spec.kubernetes.version}`, nodes: [] } },
      hold,
      runStep: async (step) => {
        // The first step: the controller sees the run's hold (metric and Event) before the step fails.
        const ids = parseHolds((await kube.getNode('homelab'))?.metadata?.annotations).map((h) => h.id);
        expect(ids).toHaveLength(1);
        const id = ids[0]!;
        expect(id).toMatch(/^deploy-\d+-[0-9a-z]+$/);
        await eventually('the deploy hold in the metrics', async () => ((await metrics()).includes(`id="${id}",reason="vmstation deploy of ${lab.cluster.metadata.name}`) ? true : undefined), 15_000);
        await eventually('the deploy hold in an Event', async () => ((await holdEvents('homelab', 'PowerHold')).some((m) => m.startsWith(`maintenance hold ${id}: vmstation deploy of`)) ? true : undefined), 15_000);
        seenDuringStep.push(`${step.id} ${id}`);
        throw new VmstationError({ code: 'kubespray-task-failed', message: 'injected failure in the first step', exitCode: 3 });
      },
    }).catch((e: unknown) => e);
    expect(result).toBeInstanceOf(VmstationError);
    expect((result as VmstationError).message).toContain('injected failure');
    expect(seenDuringStep).toHaveLength(1);
    const id = seenDuringStep[0]!.split(' ')[1]!;
    expect(printed).toContain(`hold: maintenance hold ${id} taken`);
    // Released although the run failed: nothing on the Nodes, the Events, no series.
    for (const node of NODES) expect(parseHolds((await kube.getNode(node))?.metadata?.annotations)).toEqual([]);
    for (const node of NODES) await eventually(`PowerHoldReleased on ${node}`, async () => ((await holdEvents(node, 'PowerHoldReleased')).some((m) => m.startsWith(`maintenance hold ${id}:`)) ? true : undefined), 15_000);
    expect(await metrics()).not.toMatch(/^vmstation_power_hold\{/m);
  });
});
