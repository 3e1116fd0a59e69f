// Day two on the lab, through the CLI, with the Kubespray stand-in (test/fixtures/kubespray-standin,
// NOT Kubespray: same entry points, variables, limits and batches) over real SSH and the lab's
// Kubernetes API stand-in:
//  1. a fourth host from a cluster file (`lab add`): `plan --observe` shows it; `deploy` scales it in
//     (facts.yml, scale.yml --limit node4) and the host layer reaches it (chrony, syslog, firewall);
//  2. removing it: a PodDisruptionBudget that refuses stops the removal naming the pod; without it
//     the node is drained first (evictions on the API stand-in), remove-node.yml runs, the Node goes;
//  3. an upgrade 1.34.3 -> 1.35.4: control plane first, then one worker at a time, each cordoned,
//     drained and uncordoned before the next (the API's own history, ordered by resourceVersion);
//     a failure on the last worker stops with the nodes done and not done; the next run does the rest.
// The standard three-host lab is left as it was: node4 removed, versions back, test objects gone.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addHosts, removeHosts } from '../../../lab/hosts.js';
import { standinControl, type StandinControl } from '../../../lab/kube-apiserver-standin/control-client.js';
import { ensureAllAwake, labFixture, ssh, sshOk, waitFor } from '../../../lab/test/lab-fixture.js';
import { run } from '../../../src/cli/main.js';
import { SYSLOG_HOSTS_DIR } from '../../../src/render/ansible/host-plan.js';

const STANDIN = path.resolve(import.meta.dirname, '../../fixtures/kubespray-standin');
const NODE4 = { name: 'node4', address: '10.78.0.64', mac: '02:00:0a:4e:00:40' };
const WORKERS = ['storagenodet3500', 'homelab'];

let dir: string;
let file3: string;
let file4: string;
let kubeconfig: string;
let control: StandinControl;
let env: NodeJS.ProcessEnv;
const markerDir = `/var/lib/kubespray-standin-daytwo-${process.pid}`;

async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string; ms: number }> {
  let out = '';
  let err = '';
  const o = new PassThrough();
  const e = new PassThrough();
  o.on('data', (d: Buffer) => (out += d.toString()));
  e.on('data', (d: Buffer) => (err += d.toString()));
  const started = Date.now();
  const code = await run(['node', 'vmstation', ...args], { stdout: o, stderr: e, stdin: new PassThrough(), env: { ...env, ...extraEnv }, cwd: dir, isTTY: false });
  return { code, out, err, ms: Date.now() - started };
}

const deploy = (file: string, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}) =>
  cli(['deploy', '-f', file, '--phase', 'kubernetes', '--yes', '--kubespray-dir', STANDIN, '--kubespray-python', '/usr/bin/python3', '--kubeconfig', kubeconfig, '--node-timeout', '2m', ...extra], extraEnv);

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, KUBECACHEDIR: path.join(dir, 'kube-cache'), HOME: dir } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err}`))));
    child.stdin.end(input ?? '');
  });
}

interface NodeJson {
  metadata: { name: string };
  spec?: { unschedulable?: boolean };
  status: { nodeInfo: { kubeletVersion: string }; conditions: Array<{ type: string; status: string }> };
}
const nodes = async () => (JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as { items: NodeJson[] }).items;
const ready = (n: NodeJson) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');

const pod = (name: string, node: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'day-two', labels: { test: 'day-two', ...labels } },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
});

/** Watches Nodes and Pods; every change with its resourceVersion (one global order, as etcd's revision). */
function recordHistory(): { events: Array<{ rv: number; what: string }>; stop: () => void } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const events: Array<{ rv: number; what: string }> = [];
  const last = new Map<string, string>();
  const controllers: AbortController[] = [];
  const w = new Watch(kc);
  void w
    .watch('/api/v1/nodes', {}, (_type: string, n: NodeJson & { metadata: { resourceVersion: string } }) => {
      const state = `${n.spec?.unschedulable ? 'cordoned' : 'schedulable'} ${n.status.nodeInfo.kubeletVersion}`;
      if (last.get(n.metadata.name) === state) return;
      const before = last.get(n.metadata.name);
      last.set(n.metadata.name, state);
      if (before !== undefined) events.push({ rv: Number(n.metadata.resourceVersion), what: `${n.metadata.name} ${state}` });
    }, () => undefined)
    .then((c) => controllers.push(c));
  void w
    .watch('/api/v1/namespaces/day-two/pods', {}, (type: string, p: { metadata: { name: string; resourceVersion: string } }) => {
      if (type === 'DELETED') events.push({ rv: Number(p.metadata.resourceVersion), what: `pod ${p.metadata.name} evicted` });
    }, () => undefined)
    .then((c) => controllers.push(c));
  return { events, stop: () => controllers.forEach((c) => c.abort()) };
}

beforeAll(async () => {
  const lab = labFixture();
  dir = mkdtempSync(path.join(tmpdir(), 'day-two-lab-'));
  kubeconfig = lab.kubeconfig!;
  control = await standinControl(kubeconfig);
  await ensureAllAwake();
  const doc = parse(readFileSync(lab.clusterFile, 'utf8')) as { spec: { nodes: Array<Record<string, unknown>>; kubernetes: Record<string, unknown> } };
  // Snapshots are proven elsewhere (etcd-snapshots-lab): no timer left armed by this test.
  doc.spec.kubernetes['etcd'] = { snapshots: { enabled: false } };
  file3 = path.join(dir, 'vmstation.three.yaml');
  writeFileSync(file3, stringify(doc));
  doc.spec.nodes.push({ name: NODE4.name, address: NODE4.address, mac: NODE4.mac, os: 'debian-12', roles: ['worker'], power: { autoSleep: false } });
  file4 = path.join(dir, 'vmstation.four.yaml');
  writeFileSync(file4, stringify(doc));
  // The host phase keeps the power manager's SSH key in the secrets file (created beside file4);
  // only that call gets the password: the other runs' files reference secrets this one lacks.
  writeFileSync(path.join(dir, 'vault-password'), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  env = { ...process.env, VMSTATION_STATE_DIR: path.join(dir, 'state'), VMSTATION_CACHE_DIR: path.join(dir, 'cache'), STANDIN_KUBECONFIG: kubeconfig, STANDIN_STATE_DIR: markerDir, STANDIN_KUBECACHEDIR: path.join(dir, 'kube-cache-standin') };
  expect(await addHosts(file4, { log: (l) => console.log(`[lab] ${l}`) })).toEqual(['node4']);
  await kubectl(['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'day-two' } }));
}, 300_000);

afterAll(async () => {
  // Leave the standard three-host lab as it was.
  await kubectl(['delete', 'namespace', 'day-two', '--ignore-not-found']).catch(() => undefined);
  await control?.removeKubelet(NODE4.name).catch(() => undefined);
  await kubectl(['delete', 'node', NODE4.name, '--ignore-not-found']).catch(() => undefined);
  for (const n of ['masternode', ...WORKERS]) {
    await control?.setKubeletVersion(n, 'v1.35.4').catch(() => undefined);
    await kubectl(['uncordon', n]).catch(() => undefined);
  }
  await control?.setVersion('v1.35.4').catch(() => undefined);
  await removeHosts([NODE4.name], { log: (l) => console.log(`[lab] ${l}`) }).catch((e: unknown) => console.error(e));
  for (const n of ['masternode', ...WORKERS]) {
    await ssh(n, `rm -rf ${markerDir}; systemctl disable nftables >/dev/null 2>&1; nft delete table inet vmstation 2>/dev/null; systemctl disable --now vmstation-etcd-snapshot.timer >/dev/null 2>&1; rm -f /etc/systemd/system/vmstation-etcd-snapshot.* /usr/local/sbin/vmstation-etcd-snapshot /etc/vmstation/etcd-snapshot.env; systemctl daemon-reload; true`);
  }
}, 300_000);

describe('day two on the lab (Kubespray stand-in, API stand-in)', () => {
  it('plan --observe shows the fourth host to add, with why', async () => {
    const r = await cli(['plan', '-f', file4, '--observe', '--kubeconfig', kubeconfig]);
    expect(r.code, r.err).toBe(0);
    console.log(`[figure] plan --observe on the lab (4 hosts, API stand-in): ${r.ms} ms`);
    expect(r.out).toContain('node4 is in the file but not in the cluster: it joins as a worker node (Kubespray scale.yml --limit node4)');
    expect(r.out).toContain("refresh every node's facts (Kubespray playbooks/facts.yml, no --limit: needed before a --limit run) [masternode, storagenodet3500, homelab, node4]");
    expect(r.out).toContain('add node4: Kubespray scale.yml --limit node4 [node4, masternode]');
  }, 120_000);

  it('deploy scales it in (facts.yml, scale.yml --limit node4) and the host layer reaches it', async () => {
    const r = await deploy(file4);
    expect(r.code, `${r.err}\n${r.out}`).toBe(0);
    expect(r.out).toContain('add node4: Kubespray scale.yml --limit node4');
    const n4 = (await nodes()).find((n) => n.metadata.name === 'node4');
    expect(n4 && ready(n4)).toBe(true);
    expect(n4!.status.nodeInfo.kubeletVersion).toBe('v1.35.4');
    // scale.yml ran on node4 only (--limit): the other hosts have no marker from it.
    expect((await sshOk('node4', `cat ${markerDir}/node4.txt`)).trim()).toBe('kube_version=1.35.4 kube_network_plugin=calico container_manager=containerd joined_by=scale.yml');
    for (const n of ['masternode', ...WORKERS]) expect((await ssh(n, `test -e ${markerDir}/${n}.txt`)).code).not.toBe(0);

    const host = await cli(['deploy', '-f', file4, '--phase', 'host', '--yes', '--kubeconfig', kubeconfig], { VMSTATION_VAULT_PASSWORD_FILE: path.join(dir, 'vault-password') });
    expect(host.code, `${host.err}\n${host.out}`).toBe(0);
    const server = '10.78.0.63';
    await waitFor('chrony on node4 to select masternode', async () => (await sshOk('node4', 'chronyc -n sources')).split('\n').find((l) => l.startsWith('^*') && l.includes(server)), 90_000, 1000);
    const marker = `day-two-${Date.now()}`;
    await sshOk('node4', `logger -t vmstation-day-two ${marker}`);
    await waitFor('node4 syslog on masternode', async () => ((await ssh('masternode', `grep -rl ${marker} ${SYSLOG_HOSTS_DIR}/node4/`)).code === 0 ? true : undefined), 30_000, 500);
    expect(await sshOk('node4', 'nft list table inet vmstation')).toContain('tcp dport 22');
  }, 600_000);

  it('a PodDisruptionBudget that refuses stops the removal, naming the pod; without it node4 is drained, removed and its Node deleted', async () => {
    await kubectl(['apply', '-f', '-'], [pod('web-node4', 'node4', { app: 'web' }), { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'day-two' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } }].map((o) => stringify(o)).join('---\n'));
    await waitFor('web-node4 Running', async () => ((await kubectl(['get', 'pod', '-n', 'day-two', 'web-node4', '-o', 'jsonpath={.status.phase}'])) === 'Running' ? true : undefined), 30_000, 500);
    const refused = await deploy(file3, ['--drain-timeout', '5s']);
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('error[drain-blocked]');
    expect(refused.err).toContain('cannot drain node4: a PodDisruptionBudget refuses to evict day-two/web-node4');
    expect((await nodes()).find((n) => n.metadata.name === 'node4')!.spec?.unschedulable ?? false).toBe(false);

    await kubectl(['delete', 'pdb', '-n', 'day-two', 'web']);
    const since = new Date().toISOString();
    const removed = await deploy(file3);
    expect(removed.code, `${removed.err}\n${removed.out}`).toBe(0);
    expect((await nodes()).map((n) => n.metadata.name)).not.toContain('node4');
    const log = (await control.requests()).filter((q) => q.time >= since).map((q) => `${q.method} ${q.path} ${q.status}`);
    const cordon = log.findIndex((l) => l.startsWith('PATCH /api/v1/nodes/node4'));
    const evict = log.findIndex((l) => l === 'POST /api/v1/namespaces/day-two/pods/web-node4/eviction 201');
    const del = log.findIndex((l) => l.startsWith('DELETE /api/v1/nodes/node4 200'));
    console.log(`[lab] removal, as the API stand-in saw it: ${[log[cordon], log[evict], log[del]].join(' -> ')}`);
    expect(cordon).toBeGreaterThanOrEqual(0);
    expect(evict).toBeGreaterThan(cordon);
    expect(del).toBeGreaterThan(evict);
    expect((await ssh('node4', `test -e ${markerDir}/node4.txt`)).code).not.toBe(0); // reset by remove-node.yml
  }, 600_000);

  it('upgrades 1.34.3 -> 1.35.4 control plane first, one node at a time; a failure halfway stops with done/not done and the next run finishes', async () => {
    for (const n of ['masternode', ...WORKERS]) await control.setKubeletVersion(n, 'v1.34.3');
    await control.setVersion('v1.34.3');
    await kubectl(['apply', '-f', '-'], ['masternode', ...WORKERS].map((n) => stringify(pod(`upg-${n}`, n))).join('---\n'));
    await waitFor('test pods Running', async () => ((await kubectl(['get', 'pods', '-n', 'day-two', '-o', 'jsonpath={.items[*].status.phase}'])).split(' ').filter((p) => p === 'Running').length === 3 ? true : undefined), 30_000, 500);
    const history = recordHistory();
    try {
      const first = await deploy(file3, [], { STANDIN_FAIL_ON: 'homelab' });
      expect(first.code).toBe(3);
      expect(first.err).toContain('upgraded to 1.35.4: masternode, storagenodet3500');
      expect(first.err).toContain('not upgraded yet: homelab (run deploy again: it plans only these)');
      const half = await nodes();
      expect(half.map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion]).sort()).toEqual([['homelab', 'v1.34.3'], ['masternode', 'v1.35.4'], ['storagenodet3500', 'v1.35.4']]);

      const plan = await cli(['plan', '-f', file3, '--observe', '--kubeconfig', kubeconfig]);
      expect(plan.out).toContain('homelab is upgraded');
      expect(plan.out).not.toContain('upgrade-cluster.yml --limit kube_control_plane:etcd');
      const second = await deploy(file3);
      expect(second.code, `${second.err}\n${second.out}`).toBe(0);
      const after = await nodes();
      for (const n of after) expect([n.metadata.name, n.status.nodeInfo.kubeletVersion, n.spec?.unschedulable ?? false]).toEqual([n.metadata.name, 'v1.35.4', false]);
    } finally {
      await new Promise((r) => setTimeout(r, 500));
      history.stop();
    }
    const timeline = [...history.events].sort((a, b) => a.rv - b.rv).map((e) => e.what);
    console.log(`[lab] upgrade, as the API stand-in's history has it (by resourceVersion):\n  ${timeline.join('\n  ')}`);
    // Each node: cordoned, its pod evicted, its kubelet on 1.35.4, uncordoned — before the next node is cordoned.
    const at = (what: string) => timeline.indexOf(what);
    const order = ['masternode', 'storagenodet3500', 'homelab'];
    for (const [i, n] of order.entries()) {
      const cordoned = timeline.findIndex((e) => e.startsWith(`${n} cordoned`));
      const evicted = at(`pod upg-${n} evicted`);
      const upgraded = timeline.findIndex((e) => e === `${n} cordoned v1.35.4`);
      const uncordoned = at(`${n} schedulable v1.35.4`);
      expect([n, cordoned >= 0, evicted > cordoned, upgraded > evicted, uncordoned > upgraded]).toEqual([n, true, true, true, true]);
      const next = order[i + 1];
      if (next) expect(timeline.findIndex((e) => e.startsWith(`${next} cordoned`))).toBeGreaterThan(uncordoned);
    }
  }, 900_000);
});
