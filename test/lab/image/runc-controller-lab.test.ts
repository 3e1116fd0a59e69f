// The power manager image under a real OCI runtime (Debian's runc) against the lab: the
// rendered Deployment's command, arguments and mount paths, run as 65532 on a read-only root
// with no capabilities in the host's network namespace (hostNetwork), in-cluster credentials
// (a service-account folder and KUBERNETES_SERVICE_* pointing at the Kubernetes API stand-in).
// The containerized controller takes the Lease, serves /healthz and /metrics, puts idle
// storagenodet3500 to sleep over SSH (host key checked) and wakes it for a pending pod with a
// real magic packet; ipmitool inside the image talks to homelab's ipmi_sim BMC.
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { ensureAllAwake, events, labFixture, labSecrets, nodeStatus, waitForPower } from '../../../lab/test/lab-fixture.js';
import { validateText } from '../../../src/config/validate.js';
import type { Cluster } from '../../../src/config/model.js';
import { readBuiltImage, type BuiltImage } from '../../../src/image/metadata.js';
import { controllerImage } from '../../../src/image/reference.js';
import { POWER_ANNOTATIONS } from '../../../src/power/controller/annotations.js';
import { driverSecretNames, powerObjects } from '../../../src/render/power/index.js';
import { freePort } from '../../helpers/net.js';
import { buildTestImage, cleanupTestImages, runcStart, unpackBundle, writePodShape, type RunningContainer } from '../../helpers/oci-runtime.js';
import { kubeFor, powerOf, testPod, waitForState, TEST_TOKEN } from '../../local/power/harness.js';
import { eventually } from '../../local/power/loopback-lab.js';

const POD = 'vmstation-power-manager-runc-test';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
let container: RunningContainer | undefined;
let port = 0;
let image: BuiltImage;
let cluster: Cluster;
const kube = () => kubeFor(labFixture().kubeconfig!);

/** The lab's cluster file, timed for a test: storagenodet3500 idles out after 20 s, homelab never sleeps, no wake-gateway apps. */
function testCluster(): Cluster {
  const lab = labFixture();
  const doc = parseDocument(readFileSync(lab.clusterFile, 'utf8'));
  doc.setIn(['spec', 'power', 'idleAfter'], '20s');
  doc.setIn(['spec', 'power', 'minAwake'], '1s');
  doc.setIn(['spec', 'power', 'wakeTimeout'], '60s');
  doc.deleteIn(['spec', 'apps']);
  const nodes = doc.getIn(['spec', 'nodes']) as { items: Array<{ get(k: string): unknown; setIn(p: string[], v: unknown): void }> };
  for (const n of nodes.items) {
    if (n.get('name') === 'homelab') n.setIn(['power', 'autoSleep'], false);
    if (n.get('name') === 'storagenodet3500') n.setIn(['power', 'bootSeconds'], 5);
  }
  const r = validateText({ file: 'runc-test.yaml', text: doc.toString() });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.cluster;
}

/** A folder of files as a Secret volume with fsGroup 65532 and defaultMode 0440 mounts it. */
function secretVolume(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-volume-'));
  chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), content);
    chownSync(path.join(dir, name), 0, 65532);
    chmodSync(path.join(dir, name), 0o440);
  }
  return dir;
}

interface Container {
  command: string[];
  args: string[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
}

describe('the power manager image under runc, against the lab', () => {
  beforeAll(async () => {
    await ensureAllAwake();
    cluster = testCluster();
    image = (await readBuiltImage((await buildTestImage()).outDir))!;
    const bundle = await unpackBundle(image.ociArchive.file, image.tag);
    // What the render puts in the cluster: the Deployment and its ConfigMap, pinned to this image.
    const ref = controllerImage(cluster, image, image.version);
    const objects = powerObjects(cluster, ref.reference);
    const dep = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Container[] } } } };
    const c = dep.spec.template.spec.containers[0]!;
    const clusterText = (objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> }).data['vmstation.yaml']!;
    const lab = labFixture();
    const secrets = labSecrets();
    const kc = parse(readFileSync(lab.kubeconfig!, 'utf8')) as { clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }> };
    const server = new URL(kc.clusters[0]!.cluster.server);
    const volumes: Record<string, string> = {
      cluster: secretVolume({ 'vmstation.yaml': clusterText }),
      ssh: secretVolume({ id: readFileSync(lab.privateKey, 'utf8'), known_hosts: readFileSync(lab.knownHosts, 'utf8') }),
      token: secretVolume({ token: TEST_TOKEN }),
      drivers: secretVolume(Object.fromEntries(driverSecretNames(cluster).map((n) => [n, secrets[n]!]))),
    };
    const sa = secretVolume({ token: 'stand-in-ignores-it', 'ca.crt': Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(), namespace: 'vmstation-system' });
    const binds: Record<string, string> = { [SA_DIR]: sa };
    for (const m of c.volumeMounts) if (volumes[m.name]) binds[m.mountPath] = volumes[m.name]!;
    expect(Object.keys(binds).sort()).toEqual(['/etc/vmstation/cluster', '/etc/vmstation/drivers', '/etc/vmstation/ssh', '/etc/vmstation/token', SA_DIR].sort());
    // The rendered arguments, except the listen port (host network: 8080 may be taken here).
    port = await freePort('0.0.0.0');
    const args = [...c.command, ...c.args];
    args[args.indexOf('--listen') + 1] = `0.0.0.0:${port}`;
    expect(args.slice(0, 4)).toEqual(['vmstation', 'power', 'controller', '--in-cluster']);
    writePodShape(bundle, { args, binds, env: { POD_NAME: POD, HOME: '/tmp', KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port } });
    // The rendered Namespace first, as deploy applies it (the Lease lives there).
    const ns = objects.find((o) => o.kind === 'Namespace')!;
    await kube().core.createNamespace({ body: { metadata: { name: ns.metadata.name } } }).catch(() => undefined);
    container = runcStart(bundle, `vmstation-controller-${process.pid}`);
  }, 1_800_000);

  afterAll(async () => {
    await cleanupTestImages();
    if (container) {
      const out = container.output();
      await container.stop();
      if (process.env.VMSTATION_TEST_VERBOSE) console.log(out.split('\n').slice(-60).join('\n'));
    }
    const k = kube();
    await k.core.deleteNamespacedPod({ name: 'runc-media-1', namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
    await ensureAllAwake(120_000);
    const clear = Object.fromEntries(Object.values(POWER_ANNOTATIONS).map((key) => [key, null]));
    for (const n of ['storagenodet3500', 'homelab']) await k.patchNode(n, { metadata: { annotations: clear }, spec: { unschedulable: null } });
    await k.core.deleteNamespace({ name: cluster.spec.power.controller.namespace }).catch(() => undefined);
  }, 300_000);

  it('syncs its informers, takes the Lease, answers /healthz and /metrics', async () => {
    await eventually('/healthz 200', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined), 90_000, 500);
    const metrics = await eventually('leader', async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return /^vmstation_power_leader 1$/m.test(text) ? text : undefined;
    }, 60_000, 500);
    expect(metrics).toMatch(/^vmstation_node_power_state\{node="storagenodet3500",state="awake"\} 1$/m);
    expect(container!.output()).toContain(`"identity":"${POD}"`);
  });

  it('puts idle storagenodet3500 to sleep over SSH (host key checked) and wakes it for a pending pod with a real magic packet', async () => {
    const k = kube();
    const from = (await events()).last;
    const asleep = await waitForState(k, 'storagenodet3500', 'asleep', 240_000);
    expect(asleep.reason).toMatch(/idle/);
    expect((await nodeStatus('storagenodet3500')).power).toBe('asleep');
    expect((await events(from)).events.find((e) => e.node === 'storagenodet3500' && e.kind === 'power:asleep')?.detail?.['reason']).toBe('suspend command');
    // homelab has autoSleep false in this file: left alone.
    expect((await powerOf(k, 'homelab')).state).not.toBe('asleep');

    await k.core.createNamespacedPod({ namespace: 'default', body: testPod('runc-media-1', { nodeSelector: { 'vmstation.io/storage': 'true' } }) as never });
    await waitForPower('storagenodet3500', 'on', 120_000);
    expect((await events(from)).events.filter((e) => e.node === 'storagenodet3500' && e.kind === 'power:booting').at(-1)?.detail?.['source']).toBe('wol');
    const awake = await waitForState(k, 'storagenodet3500', 'awake', 180_000);
    expect(awake.unschedulable).toBe(false);
    expect(awake.reason).toContain('woken (pending-pod)');
    const pod = await eventually('runc-media-1 bound', async () => {
      const p = await k.core.readNamespacedPod({ name: 'runc-media-1', namespace: 'default' });
      return p.spec?.nodeName ? p : undefined;
    }, 120_000, 500);
    expect(pod.spec?.nodeName).toBe('storagenodet3500');
  });

  it("ipmitool inside the image drives homelab's BMC (ipmi_sim), password in the environment", async () => {
    const bmc = labFixture().nodes.find((n) => n.name === 'homelab')!.bmc!;
    const secrets = labSecrets();
    const r = await container!.exec({
      args: ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', bmc.address, '-p', String(bmc.port), '-U', secrets['homelab-bmc-user']!, '-E', 'chassis', 'power', 'status'],
      env: [`PATH=/usr/local/bin:/usr/bin:/bin`, `IPMI_PASSWORD=${secrets['homelab-bmc-password']!}`],
      user: { uid: 65532, gid: 65532 },
      cwd: '/',
      noNewPrivileges: true,
    });
    expect(r).toMatchObject({ code: 0, stdout: 'Chassis Power is on\n' });
  });
});
