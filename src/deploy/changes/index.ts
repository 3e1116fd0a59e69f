// Day two (pure): what to change in a running cluster so it matches the cluster file, each change
// with the sentence saying why, and what is refused. Order: removals first (a renamed machine
// must be reset before it joins under its new name), then the upgrade of the nodes that stay,
// then additions (installed at the new version). Everything one node at a time.
import { KUBESPRAY_KUBE_VERSIONS } from '../../config/data/kubespray-versions.js';
import { hasRole, type Cluster } from '../../config/model.js';
import type { DeployedNode, ObservedCluster, PlanStep } from '../plan-model.js';
import { diffNodes, keptControlPlanes, keptEtcdMembers, type NodeDiff } from './diff.js';
import { planAdditions, planRemoval } from './nodes.js';
import { highestObserved, lowestObserved, nodesBehind, apiServerBehind, planUpgrade } from './upgrade.js';
import { compareVersions, minorText, parseKubeVersion, versionStep, versionText } from './versions.js';

export interface Change {
  kind: 'add' | 'remove' | 'rename' | 'upgrade' | 'not-ready' | 'nothing';
  nodes: string[];
  /** The sentence saying why. */
  reason: string;
}

export interface Refusal {
  code: string;
  message: string;
  hint: string;
}

export interface ChangePlan {
  changes: Change[];
  steps: PlanStep[];
  refusals: Refusal[];
}

const list = (xs: readonly string[]) => xs.join(', ');

/** Example patch release to stop at on a minor (Kubespray: the newest it installs). */
function stopAt(cluster: Cluster, minor: string): string {
  if (cluster.spec.kubernetes.method === 'kubespray') return KUBESPRAY_KUBE_VERSIONS.find((v) => v.startsWith(`${minor}.`)) ?? `${minor}.x`;
  return `${minor}.x`;
}

function versionRefusals(cluster: Cluster, observed: ObservedCluster): Refusal[] {
  const target = parseKubeVersion(cluster.spec.kubernetes.version);
  if (!target) return [];
  const high = highestObserved(cluster, observed);
  if (high && compareVersions(high.version, target) > 0)
    return [
      {
        code: 'downgrade-refused',
        message: `${high.where} runs Kubernetes ${versionText(high.version)} and the file asks for ${versionText(target)}: Kubernetes cannot be downgraded`,
        hint: `keep spec.kubernetes.version at ${versionText(high.version)} or later (Kubespray, kubeadm and RKE2 have no downgrade; going back means a new cluster and an etcd snapshot taken before the upgrade)`,
      },
    ];
  const low = lowestObserved(cluster, observed);
  if (!low) return [];
  const s = versionStep(low.version, target);
  if (s.kind !== 'skips-minor') return [];
  const next = s.path[1] ?? minorText(target);
  return [
    {
      code: 'upgrade-skips-minor',
      message: `${low.where} runs ${versionText(low.version)} and the file asks for ${versionText(target)}: Kubernetes upgrades one minor version at a time (${s.path.join(' → ')})`,
      hint: `set spec.kubernetes.version to ${stopAt(cluster, next)}, deploy, then go on to the next minor`,
    },
  ];
}

function removalRefusals(cluster: Cluster, observed: ObservedCluster, diff: NodeDiff, deployed: readonly DeployedNode[] | undefined): Refusal[] {
  const out: Refusal[] = [];
  const method = cluster.spec.kubernetes.method;
  const leavingCps = diff.leaving.filter((l) => l.roles.includes('control-plane'));
  const keptCps = keptControlPlanes(cluster, observed);
  if (leavingCps.length > 0 && keptCps.length === 0)
    out.push({
      code: 'last-control-plane',
      message: `removing ${list(leavingCps.map((l) => l.name))} would leave the cluster without a control-plane node (${list(cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane')).map((n) => n.name))} has not joined yet)`,
      hint: diff.renamed.some((r) => leavingCps.some((l) => l.name === r.from))
        ? 'a control-plane node cannot be renamed in place: keep its old name in the file (a new name for the only control plane means a new cluster)'
        : 'add the new control-plane node first (deploy with both nodes in the file), then remove the old one in a second deploy',
    });
  const leavingEtcd = diff.leaving.filter((l) => l.etcd);
  const keptEtcd = keptEtcdMembers(cluster, observed, deployed);
  if (leavingEtcd.length > 0 && keptEtcd.length % 2 === 0)
    out.push({
      code: 'etcd-even-after-removal',
      message: `removing etcd member(s) ${list(leavingEtcd.map((l) => l.name))} would leave ${keptEtcd.length} etcd member(s)${keptEtcd.length > 0 ? ` (${list(keptEtcd)})` : ''}: etcd needs an odd number to keep quorum`,
      hint: keptEtcd.length === 0 ? 'keep at least one etcd member in the file' : 'remove etcd members so that an odd number stays (e.g. 5 → 3), or keep this one until another member has joined',
    });
  if (method === 'kubespray') {
    const firstRecorded = deployed?.find((d) => d.roles.includes('control-plane'))?.name;
    const first = leavingCps.find((l) => l.name === firstRecorded);
    if (first)
      out.push({
        code: 'kubespray-first-control-plane',
        message: `${first.name} is the first node of kube_control_plane and etcd, which Kubespray cannot remove`,
        hint: 'follow Kubespray docs/operations/nodes.md ("Adding/Removal of first kube_control_plane and etcd-master"): move it out of the first place and run upgrade-cluster.yml first',
      });
  } else {
    for (const l of diff.leaving.filter((x) => !x.ready && x.roles.includes('control-plane')))
      out.push({ code: 'control-plane-unreachable', message: `${l.name} is a control-plane node and is not Ready: it cannot be reset, and its etcd member would stay`, hint: `bring ${l.name} back (vmstation power wake ${l.name}) and plan again` });
  }
  for (const name of diff.unknownAddress)
    out.push({ code: 'leaving-node-unknown', message: `the cluster has a Node ${name} that the file does not list, and neither the last deploy nor the Node records its address`, hint: `add ${name} back to the file, or remove it by hand (drain it, reset it, kubectl delete node ${name})` });
  for (const r of diff.roleChanges)
    out.push({ code: 'role-change', message: `${r.node} is a ${r.cluster} node in the cluster and a ${r.file} node in the file: a node's role is not changed in place`, hint: `deploy without ${r.node} (it is removed), then add it back with the new role` });
  return out;
}

function describe(cluster: Cluster, observed: ObservedCluster, diff: NodeDiff): Change[] {
  const method = cluster.spec.kubernetes.method;
  const out: Change[] = [];
  const renamedFrom = new Set(diff.renamed.map((r) => r.from));
  const renamedTo = new Set(diff.renamed.map((r) => r.to));
  for (const r of diff.renamed)
    out.push({ kind: 'rename', nodes: [r.from, r.to], reason: `${r.from} is now called ${r.to} (same address ${r.address}): that is one removal plus one addition — ${r.from} is drained and reset, then the machine joins again as ${r.to}` });
  for (const l of diff.leaving.filter((x) => !renamedFrom.has(x.name)))
    out.push({
      kind: 'remove',
      nodes: [l.name],
      reason: `${l.name} is in the cluster but no longer in the file: it is ${l.ready ? 'drained, then removed' : 'not Ready, so it is removed without drain or reset'} (${l.source === 'last deploy' ? 'address and roles from the last deploy' : 'address and role from its Node object: no record of the last deploy'})`,
    });
  const added = diff.added.filter((n) => !renamedTo.has(n.name));
  for (const n of added) {
    const how = method === 'kubespray' ? (hasRole(n, 'control-plane') || hasRole(n, 'etcd') ? 'Kubespray cluster.yml' : `Kubespray scale.yml --limit ${n.name}`) : method === 'kubeadm' ? 'kubeadm join' : hasRole(n, 'control-plane') ? 'an RKE2 server' : 'an RKE2 agent';
    out.push({ kind: 'add', nodes: [n.name], reason: `${n.name} is in the file but not in the cluster: it joins as a ${n.roles.join(' and ')} node (${how})` });
  }
  const behind = nodesBehind(cluster, observed);
  if (behind.length > 0 || apiServerBehind(cluster, observed)) {
    const low = lowestObserved(cluster, observed);
    const from = low ? versionText(low.version) : observed.version;
    out.push({ kind: 'upgrade', nodes: behind.map((n) => n.name), reason: `the cluster runs ${from} and the file asks for ${cluster.spec.kubernetes.version}: ${behind.length > 0 ? list(behind.map((n) => n.name)) : 'the control plane'} ${behind.length === 1 ? 'is' : 'are'} upgraded, control plane first, one node at a time` });
  }
  if (diff.notReady.length > 0)
    out.push({ kind: 'not-ready', nodes: diff.notReady, reason: `${list(diff.notReady)} ${diff.notReady.length === 1 ? 'is' : 'are'} in the cluster but not Ready (asleep or down): not a change; a step that needs ${diff.notReady.length === 1 ? 'it' : 'them'} wakes ${diff.notReady.length === 1 ? 'it' : 'them'} first` });
  if (out.every((c) => c.kind === 'not-ready'))
    out.unshift({ kind: 'nothing', nodes: [], reason: `nothing to change: the cluster runs Kubernetes ${cluster.spec.kubernetes.version} on ${list(cluster.spec.nodes.map((n) => n.name))}, as the file says` });
  return out;
}

export function planChanges(cluster: Cluster, observed: ObservedCluster, deployed?: readonly DeployedNode[]): ChangePlan {
  const diff = diffNodes(cluster, observed, deployed);
  const changes = describe(cluster, observed, diff);
  const refusals = [...versionRefusals(cluster, observed), ...removalRefusals(cluster, observed, diff, deployed)];
  if (refusals.length > 0) return { changes, steps: [], refusals };
  const steps: PlanStep[] = diff.leaving.flatMap((l) => planRemoval(cluster, l));
  const upgrade = planUpgrade(cluster, observed, { factsPlanned: false });
  steps.push(...upgrade);
  const factsPlanned = upgrade.some((s) => s.id === 'kubernetes/kubespray-facts');
  steps.push(...planAdditions(cluster, diff.added, { factsPlanned }));
  return { changes, steps, refusals };
}

/** After a failed run: which nodes the plan's upgrade steps finished and which they did not. */
export function upgradeProgress(steps: readonly PlanStep[], finished: ReadonlySet<string>): { done: string[]; notDone: string[] } | undefined {
  const upgrading = steps.filter((s) => (s.upgrades ?? []).length > 0);
  if (upgrading.length === 0) return undefined;
  const done = upgrading.filter((s) => finished.has(s.id)).flatMap((s) => s.upgrades ?? []);
  const notDone = upgrading.filter((s) => !finished.has(s.id)).flatMap((s) => s.upgrades ?? []);
  return { done, notDone };
}
