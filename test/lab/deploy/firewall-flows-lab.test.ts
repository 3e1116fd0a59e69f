// Real packets through the rendered host firewall (nftables, Debian) between lab hosts, for each
// method x CNI: the flows clusterFlows() derives from the upstream tables (src/render/network/
// requirements.ts) must all pass, and a sample of what the node does not open must be refused.
// The rendered ruleset of each combination is loaded on two receivers (masternode: control plane
// and etcd; homelab: worker). A receiver listens on every port of the flows and of the sample
// (TCP and UDP sockets, raw sockets for IP-in-IP = IP protocol 4 and GRE = 47) and prints what
// reaches it; storagenodet3500 sends one probe each. A required flow passes when the receiver saw
// it (and the sender saw the connection or the UDP echo); a closed one when the receiver saw
// nothing although it listened (and the sender saw a TCP reset or ICMP unreachable). Port ranges
// are probed at both ends. kubeadm + Cilium is refused by validate and has no row. Each
// receiver's ruleset is restored afterwards.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labFixture, sshOk } from '../../../lab/test/lab-fixture.js';
import { etcdMembers, hasRole, type Cluster } from '../../../src/config/model.js';
import type { Method } from '../../../src/config/schema.js';
import { validateText } from '../../../src/config/validate.js';
import { renderNftables } from '../../../src/render/ansible/firewall.js';
import { firewallPorts, hostPlan, type PortRule } from '../../../src/render/ansible/host-plan.js';
import { IP_PROTOCOL_NUMBER, clusterFlows, receives, type Cni } from '../../../src/render/network/requirements.js';

const SENDER = 'storagenodet3500';
const RECEIVERS = ['masternode', 'homelab'] as const;
const WORK = '/root/vmstation-flows-test';
const TOKEN = 'vmstation-flow-probe';
const SCRIPTS = ['receiver.py', 'sender.py'];

interface Probe {
  protocol: 'tcp' | 'udp' | 'raw';
  port: number;
}
const key = (p: Probe) => `${p.protocol}/${p.port}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const sh = async (host: string, command: string) => (await sshOk(host, command)).trim();

/** The lab's cluster file with the method and CNI of one row (RKE2's OS check set aside: it does not change the firewall). */
function labCluster(method: Method, cni: Cni): Cluster {
  const lab = labFixture();
  const text = readFileSync(lab.clusterFile, 'utf8').replace('cni: calico', `cni: ${cni}`);
  const r = validateText({ file: lab.clusterFile, text });
  if (!r.cluster) throw new Error(r.problems.map((p) => p.message).join('; '));
  return { ...r.cluster, spec: { ...r.cluster.spec, kubernetes: { ...r.cluster.spec.kubernetes, method } } };
}

function probesOf(rule: Pick<PortRule, 'protocol' | 'port'>): Probe[] {
  if (rule.port === undefined) return [{ protocol: 'raw', port: IP_PROTOCOL_NUMBER[rule.protocol] }];
  const ends = Array.isArray(rule.port) ? rule.port : [rule.port];
  return ends.map((port) => ({ protocol: rule.protocol as 'tcp' | 'udp', port }));
}

/** Flows the receiver must accept: the method x CNI flows aimed at its roles. */
function requiredProbes(cluster: Cluster, node: string): Probe[] {
  const n = cluster.spec.nodes.find((x) => x.name === node)!;
  const role = { isControlPlane: hasRole(n, 'control-plane'), isEtcd: etcdMembers(cluster.spec.nodes).some((m) => m.name === node) };
  return clusterFlows(cluster.spec.kubernetes.method, cluster.spec.kubernetes.cni)
    .filter((f) => receives(f.to, role))
    .flatMap(probesOf);
}

const SAMPLE: Probe[] = [
  { protocol: 'tcp', port: 179 }, { protocol: 'tcp', port: 2379 }, { protocol: 'tcp', port: 4240 }, { protocol: 'tcp', port: 5473 },
  { protocol: 'tcp', port: 6443 }, { protocol: 'tcp', port: 9345 }, { protocol: 'tcp', port: 12345 }, { protocol: 'udp', port: 4789 },
  { protocol: 'udp', port: 8472 }, { protocol: 'udp', port: 12345 }, { protocol: 'raw', port: 4 }, { protocol: 'raw', port: 47 },
];

/** The sample minus whatever the node's whole firewall opens (cluster flows and the host layer's own services). */
function closedProbes(cluster: Cluster, node: string): Probe[] {
  const open = new Set(firewallPorts(cluster, cluster.spec.nodes.find((x) => x.name === node)!).flatMap((r) => {
    if (r.port === undefined) return [`raw/${IP_PROTOCOL_NUMBER[r.protocol]}`];
    const [lo, hi] = Array.isArray(r.port) ? r.port : [r.port, r.port];
    return SAMPLE.filter((p) => p.protocol === r.protocol && p.port >= lo && p.port <= hi).map(key);
  }));
  return SAMPLE.filter((p) => !open.has(key(p)));
}

async function probe(cluster: Cluster, receiver: string, required: Probe[], closed: Probe[]) {
  const node = cluster.spec.nodes.find((n) => n.name === receiver)!;
  await sh(receiver, `echo ${b64(renderNftables(cluster, hostPlan(cluster, node)))} | base64 -d > ${WORK}/rules.nft && nft -f ${WORK}/rules.nft`);
  const all = [...required, ...closed];
  const spec = {
    token: TOKEN,
    tcp: [...new Set(all.filter((p) => p.protocol === 'tcp').map((p) => p.port))],
    udp: [...new Set(all.filter((p) => p.protocol === 'udp').map((p) => p.port))],
    raw: [...new Set(all.filter((p) => p.protocol === 'raw').map((p) => p.port))],
    ready: `${WORK}/ready`,
    stop: `${WORK}/stop`,
    seconds: 120,
  };
  await sh(receiver, `rm -f ${WORK}/ready ${WORK}/stop ${WORK}/seen; nohup python3 ${WORK}/receiver.py "$(echo ${b64(JSON.stringify(spec))} | base64 -d)" > ${WORK}/seen 2> ${WORK}/receiver.err < /dev/null & for i in $(seq 100); do [ -e ${WORK}/ready ] && exit 0; sleep 0.1; done; cat ${WORK}/receiver.err; exit 1`);
  const address = node.address;
  const sent = (await sh(SENDER, `python3 ${WORK}/sender.py "$(echo ${b64(JSON.stringify({ target: address, token: TOKEN, probes: all }))} | base64 -d)"`))
    .split('\n')
    .map((l) => JSON.parse(l) as Probe & { result: string });
  await sh(receiver, `touch ${WORK}/stop; sleep 0.5`);
  const seen = (await sh(receiver, `cat ${WORK}/seen`)).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Probe & { from: string });
  const sender = labFixture().nodes.find((n) => n.name === SENDER)!.address;
  const arrived = new Set(seen.filter((s) => s.from === sender).map(key));
  const result = new Map(sent.map((s) => [key(s), s.result]));
  return {
    requiredMissing: required.filter((p) => !arrived.has(key(p)) || !['connected', 'echoed', 'sent'].includes(result.get(key(p))!)).map((p) => `${key(p)} ${result.get(key(p))}`),
    closedPassed: closed.filter((p) => arrived.has(key(p))).map(key),
    closedNotRefused: closed.filter((p) => p.protocol !== 'raw' && result.get(key(p)) !== 'refused').map((p) => `${key(p)} ${result.get(key(p))}`),
  };
}

const ROWS: Array<[Method, Cni]> = [
  ['kubespray', 'calico'], ['kubespray', 'flannel'], ['kubespray', 'cilium'],
  ['kubeadm', 'calico'], ['kubeadm', 'flannel'],
  ['rke2', 'calico'], ['rke2', 'flannel'], ['rke2', 'cilium'],
];

describe('the rendered nftables firewall between lab hosts, every method x CNI', () => {
  const saved = new Map<string, string>();

  beforeAll(async () => {
    for (const h of [SENDER, ...RECEIVERS]) {
      await sh(h, `mkdir -p ${WORK}`);
      for (const s of SCRIPTS) await sh(h, `echo ${b64(readFileSync(path.join(import.meta.dirname, 'flows', s), 'utf8'))} | base64 -d > ${WORK}/${s}`);
    }
    for (const h of RECEIVERS) {
      saved.set(h, await sh(h, 'nft list ruleset'));
      await sh(h, `nft list ruleset > ${WORK}/ruleset.before`);
    }
  }, 60_000);

  afterAll(async () => {
    for (const h of RECEIVERS) {
      await sh(h, `nft flush ruleset && nft -f ${WORK}/ruleset.before`);
      expect(await sh(h, 'nft list ruleset')).toBe(saved.get(h));
    }
    for (const h of [SENDER, ...RECEIVERS]) await sh(h, `touch ${WORK}/stop; sleep 0.3; rm -rf ${WORK}`);
  }, 60_000);

  it.each(ROWS)('%s + %s: every required flow passes, the closed sample is refused', async (method, cni) => {
    const cluster = labCluster(method, cni);
    for (const receiver of RECEIVERS) {
      const required = requiredProbes(cluster, receiver);
      const closed = closedProbes(cluster, receiver);
      expect(closed.length, `${receiver}: a closed sample to try`).toBeGreaterThanOrEqual(4);
      const r = await probe(cluster, receiver, required, closed);
      expect(r, `${method} + ${cni} -> ${receiver}`).toEqual({ requiredMissing: [], closedPassed: [], closedNotRefused: [] });
    }
  }, 180_000);

  it('covers TCP, UDP and IP-in-IP, and each receiver role', () => {
    const all = ROWS.flatMap(([m, c]) => RECEIVERS.flatMap((r) => requiredProbes(labCluster(m, c), r)));
    expect(new Set(all.map((p) => p.protocol))).toEqual(new Set(['tcp', 'udp', 'raw']));
    expect(all.some((p) => p.protocol === 'raw' && p.port === 4)).toBe(true);
    expect(requiredProbes(labCluster('rke2', 'flannel'), 'masternode').map(key)).toContain('tcp/9345');
    expect(requiredProbes(labCluster('rke2', 'flannel'), 'homelab').map(key)).not.toContain('tcp/9345');
  });
});
