// Planning a Kubernetes upgrade (pure): which nodes still run an older version, in which order
// they are upgraded, one at a time, with which method's steps. Nodes already at the version are
// left out, so a run that stopped half-way is resumed by planning again.
// - Kubespray v2.31.0 docs/operations/upgrades.md ("Node-based upgrade"): playbooks/facts.yml
//   without --limit, then `upgrade-cluster.yml --limit "kube_control_plane:etcd"`, then the other
//   nodes with their own --limit; `-e serial=1` upgrades one node at a time. Its
//   playbooks/upgrade_cluster.yml upgrades control-plane nodes with `serial: 1` and workers with
//   `serial: "{{ serial | default('20%') }}"`; roles/upgrade/pre-upgrade cordons and drains
//   (`kubectl drain`, i.e. the Eviction API) and roles/upgrade/post-upgrade uncordons.
// - kubeadm (kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade): on the first
//   control plane `kubeadm upgrade plan` and `kubeadm upgrade apply`; on the others `kubeadm
//   upgrade node`; then, node by node, drain, upgrade kubelet and kubectl, restart the kubelet,
//   uncordon. Control-plane nodes first, then workers.
// - RKE2 (docs.rke2.io/upgrades/manual): "Upgrade the server nodes first, one at a time. Once all
//   servers have been upgraded, you may then upgrade agent nodes"; the install script with
//   INSTALL_RKE2_VERSION, then a restart of rke2-server / rke2-agent.
import { hasRole, type Cluster, type ClusterNode } from '../../config/model.js';
import { METHOD_FILES, step, type ObservedCluster, type PlanStep } from '../plan-model.js';
import { compareVersions, parseKubeVersion, type KubeVersion } from './versions.js';

const K = 'kubernetes';

/** Nodes of the file that the cluster has and that run an older kubelet than the file asks for. */
export function nodesBehind(cluster: Cluster, observed: ObservedCluster): ClusterNode[] {
  const target = parseKubeVersion(cluster.spec.kubernetes.version);
  if (!target) return [];
  return cluster.spec.nodes.filter((n) => {
    const o = observed.nodes.find((x) => x.name === n.name);
    const v = o ? parseKubeVersion(o.version) : undefined;
    return v !== undefined && compareVersions(v, target) < 0;
  });
}

/** The API server runs an older version than the file asks for. */
export function apiServerBehind(cluster: Cluster, observed: ObservedCluster): boolean {
  const target = parseKubeVersion(cluster.spec.kubernetes.version);
  const api = parseKubeVersion(observed.version);
  return target !== undefined && api !== undefined && compareVersions(api, target) < 0;
}

function perNode(node: string, version: string, body: PlanStep[], drain: boolean): PlanStep[] {
  const id = (what: string) => `upgrade-${node}-${what}`;
  return [
    ...(drain ? [step(K, id('drain'), `cordon ${node} and evict its pods through the Eviction API (PodDisruptionBudgets honoured)`, [], { kind: 'drain', node })] : []),
    ...body,
    ...(drain ? [step(K, id('uncordon'), `uncordon ${node}`, [], { kind: 'uncordon', node })] : []),
    step(K, id('ready'), `wait until ${node} is Ready on ${version}`, [], { kind: 'wait-node', node, version }, { upgrades: [node] }),
  ];
}

/**
 * The upgrade steps, control plane first, then the other nodes one at a time (empty when nothing
 * is behind). `factsPlanned`: Kubespray's facts.yml is already in the plan.
 */
export function planUpgrade(cluster: Cluster, observed: ObservedCluster, opts: { factsPlanned: boolean }): PlanStep[] {
  const behind = nodesBehind(cluster, observed);
  const apiBehind = apiServerBehind(cluster, observed);
  if (behind.length === 0 && !apiBehind) return [];
  const method = cluster.spec.kubernetes.method;
  const target = cluster.spec.kubernetes.version;
  const v = `v${target}`;
  const files = METHOD_FILES[method];
  const inCluster = cluster.spec.nodes.filter((n) => observed.nodes.some((o) => o.name === n.name));
  const cps = inCluster.filter((n) => hasRole(n, 'control-plane'));
  const cpBehind = behind.filter((n) => hasRole(n, 'control-plane'));
  const others = behind.filter((n) => !hasRole(n, 'control-plane'));
  const steps: PlanStep[] = [];
  if (method === 'kubespray') {
    if (!opts.factsPlanned) steps.push(step(K, 'kubespray-facts', "refresh every node's facts (Kubespray playbooks/facts.yml, no --limit: needed before a --limit run)", inCluster.map((n) => n.name), { kind: 'kubespray-playbook', playbook: 'playbooks/facts.yml', inventory: files.inventory }));
    if (cpBehind.length > 0 || apiBehind) {
      const etcdHosts = inCluster.filter((n) => hasRole(n, 'control-plane') || hasRole(n, 'etcd')).map((n) => n.name);
      steps.push(
        step(K, 'upgrade-control-plane', `upgrade the control plane and etcd to ${target}, one node at a time: Kubespray upgrade-cluster.yml --limit kube_control_plane:etcd -e serial=1 (it cordons, drains and uncordons each)`, etcdHosts, {
          kind: 'kubespray-playbook',
          playbook: 'upgrade-cluster.yml',
          inventory: files.inventory,
          limit: 'kube_control_plane:etcd',
          extraVars: { serial: '1' },
        }),
        ...cps.map((n) => step(K, `upgrade-${n.name}-ready`, `wait until ${n.name} is Ready on ${v}`, [], { kind: 'wait-node', node: n.name, version: v }, { upgrades: [n.name] })),
      );
    }
    const cp1 = cps[0]?.name;
    for (const n of others) {
      // A node still cordoned (e.g. by a run that stopped after its drain) would be skipped by
      // Kubespray's drain and left cordoned: roles/upgrade/pre-upgrade cordons only a Ready,
      // schedulable node unless upgrade_node_always_cordon (its defaults/main.yml: false).
      const cordoned = observed.nodes.find((o) => o.name === n.name)?.unschedulable === true;
      const body = step(K, `upgrade-${n.name}-kubespray`, `upgrade ${n.name} to ${target}: Kubespray upgrade-cluster.yml --limit ${n.name} -e serial=1${cordoned ? ' -e upgrade_node_always_cordon=true (it is cordoned already)' : ''} (it cordons, drains and uncordons it)`, [n.name, ...(cp1 ? [cp1] : [])], {
        kind: 'kubespray-playbook',
        playbook: 'upgrade-cluster.yml',
        inventory: files.inventory,
        limit: n.name,
        extraVars: cordoned ? { serial: '1', upgrade_node_always_cordon: true } : { serial: '1' },
      });
      steps.push(...perNode(n.name, v, [body], false));
    }
    return steps;
  }
  if (method === 'kubeadm') {
    const first = cps[0];
    const playbook = (node: string, tag: string, what: string) => step(K, `upgrade-${node}-${tag}`, what, [node], { kind: 'playbook', playbook: files.upgrade, inventory: files.inventory, tags: [tag] });
    const ordered = [...cpBehind, ...others];
    if (first && apiBehind && !ordered.some((n) => n.name === first.name)) ordered.unshift(first);
    for (const n of ordered) {
      const isFirst = n.name === first?.name;
      const pre = isFirst
        ? playbook(n.name, 'upgrade-apply', `kubeadm ${target} on ${n.name}, then kubeadm upgrade plan and kubeadm upgrade apply ${v} (the first control plane)`)
        : playbook(n.name, 'upgrade-node', `kubeadm ${target} on ${n.name}, then kubeadm upgrade node`);
      const kubelet = playbook(n.name, 'upgrade-kubelet', `kubelet and kubectl ${target} on ${n.name}, kubelet restarted`);
      // kubeadm's order: upgrade the control-plane components first, then drain for the kubelet.
      steps.push(pre, ...perNode(n.name, v, [kubelet], true));
    }
    return steps;
  }
  const ordered = [...cpBehind, ...others];
  const apiFirst = cps[0];
  if (apiFirst && apiBehind && cpBehind.length === 0) ordered.unshift(apiFirst);
  for (const n of ordered) {
    const kind = hasRole(n, 'control-plane') ? 'rke2-server' : 'rke2-agent';
    steps.push(...perNode(n.name, v, [step(K, `upgrade-${n.name}-rke2`, `install RKE2 ${target} on ${n.name} and restart ${kind}`, [n.name], { kind: 'playbook', playbook: files.upgrade, inventory: files.inventory })], true));
  }
  return steps;
}

/** Every version the cluster reports: the API server's and those of the file's nodes (unparsed ones left out). */
function observedVersions(cluster: Cluster, observed: ObservedCluster): Array<{ version: KubeVersion; where: string }> {
  const all: Array<{ version: KubeVersion; where: string }> = [];
  const api = parseKubeVersion(observed.version);
  if (api) all.push({ version: api, where: 'the API server' });
  for (const n of cluster.spec.nodes) {
    const o = observed.nodes.find((x) => x.name === n.name);
    const v = o ? parseKubeVersion(o.version) : undefined;
    if (v) all.push({ version: v, where: n.name });
  }
  return all;
}

/** The lowest version among the file's nodes in the cluster and the API server (undefined: none parsed). */
export function lowestObserved(cluster: Cluster, observed: ObservedCluster): { version: KubeVersion; where: string } | undefined {
  return observedVersions(cluster, observed).sort((a, b) => compareVersions(a.version, b.version))[0];
}

/** The highest version among the file's nodes in the cluster and the API server. */
export function highestObserved(cluster: Cluster, observed: ObservedCluster): { version: KubeVersion; where: string } | undefined {
  return observedVersions(cluster, observed).sort((a, b) => compareVersions(b.version, a.version))[0];
}
