// Planning node additions and removals for each method (pure). Every step follows the method's
// documented procedure:
// - Kubespray v2.31.0 docs/operations/nodes.md: workers join with `scale.yml --limit=NODE` after
//   `playbooks/facts.yml` without the limit; control-plane nodes only with cluster.yml; etcd
//   members with `cluster.yml --limit=etcd,kube_control_plane -e ignore_assert_errors=yes` then
//   `upgrade-cluster.yml` with the same limit; removal with `remove-node.yml -e node=NODE` while
//   the node is still in the inventory (`reset_nodes=false allow_ungraceful_removal=true` when it
//   is offline; playbooks/remove_node.yml asks for confirmation unless `skip_confirmation`).
// - kubeadm (kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join, kubeadm-reset):
//   `kubeadm join` on the new node; to remove one: drain, `kubeadm reset` on it, delete the Node.
// - RKE2 (docs.rke2.io/install/ha, install/uninstall): new servers and agents install and start
//   with the `server:` address and token; removal runs rke2-uninstall.sh, then the Node is deleted.
// vmstation drains (cordon, then the Eviction API, which honours PodDisruptionBudgets) before any
// method's removal, so a budget that refuses stops the removal with the pod named.
import { hasRole, type Cluster, type ClusterNode } from '../../config/model.js';
import { METHOD_FILES, step, type PlanStep } from '../plan-model.js';
import type { Leaving } from './diff.js';

const K = 'kubernetes';

function firstControlPlane(cluster: Cluster): string {
  return cluster.spec.nodes.find((n) => hasRole(n, 'control-plane'))?.name ?? '';
}

const names = (ns: readonly { name: string }[]) => ns.map((n) => n.name);

/** `playbooks/facts.yml` without a limit: Kubespray needs every node's facts before a `--limit` run. */
export function kubesprayFactsStep(cluster: Cluster): PlanStep {
  return step(K, 'kubespray-facts', "refresh every node's facts (Kubespray playbooks/facts.yml, no --limit: needed before a --limit run)", names(cluster.spec.nodes), {
    kind: 'kubespray-playbook',
    playbook: 'playbooks/facts.yml',
    inventory: METHOD_FILES.kubespray.inventory,
  });
}

/** Steps that add `added` to the cluster, then wait for each Node to be Ready. */
export function planAdditions(cluster: Cluster, added: readonly ClusterNode[], opts: { factsPlanned: boolean }): PlanStep[] {
  if (added.length === 0) return [];
  const method = cluster.spec.kubernetes.method;
  const files = METHOD_FILES[method];
  const cp1 = firstControlPlane(cluster);
  const version = cluster.spec.kubernetes.version;
  const waits = added.map((n) => step(K, `add-${n.name}-ready`, `wait until ${n.name} is Ready`, [], { kind: 'wait-node', node: n.name, version: `v${version}` }));
  if (method === 'kubespray') {
    const steps: PlanStep[] = [];
    const etcd = added.filter((n) => hasRole(n, 'etcd'));
    const controlPlanes = added.filter((n) => hasRole(n, 'control-plane') && !hasRole(n, 'etcd'));
    const workers = added.filter((n) => !hasRole(n, 'control-plane') && !hasRole(n, 'etcd'));
    if (etcd.length > 0) {
      const vars = { ignore_assert_errors: 'yes' };
      steps.push(
        step(K, 'add-etcd-cluster', `add etcd member(s) ${names(etcd).join(', ')}: Kubespray cluster.yml --limit etcd,kube_control_plane -e ignore_assert_errors=yes`, [...names(cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane') || hasRole(n, 'etcd')))], {
          kind: 'kubespray-playbook',
          playbook: 'cluster.yml',
          inventory: files.inventory,
          limit: 'etcd,kube_control_plane',
          extraVars: vars,
        }),
        step(K, 'add-etcd-upgrade', 'refresh the etcd configuration everywhere: Kubespray upgrade-cluster.yml --limit etcd,kube_control_plane -e ignore_assert_errors=yes', [...names(cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane') || hasRole(n, 'etcd')))], {
          kind: 'kubespray-playbook',
          playbook: 'upgrade-cluster.yml',
          inventory: files.inventory,
          limit: 'etcd,kube_control_plane',
          extraVars: vars,
        }),
      );
    }
    if (controlPlanes.length > 0)
      steps.push(step(K, 'add-control-plane', `add control-plane node(s) ${names(controlPlanes).join(', ')}: Kubespray cluster.yml (it cannot add control-plane nodes with scale.yml)`, names(cluster.spec.nodes), { kind: 'kubespray-playbook', playbook: 'cluster.yml', inventory: files.inventory }));
    if (workers.length > 0) {
      if (!opts.factsPlanned) steps.push(kubesprayFactsStep(cluster));
      const limit = names(workers).join(',');
      steps.push(step(K, 'add-workers', `add ${limit}: Kubespray scale.yml --limit ${limit}`, [...names(workers), cp1], { kind: 'kubespray-playbook', playbook: 'scale.yml', inventory: files.inventory, limit }));
    }
    return [...steps, ...waits];
  }
  if (method === 'kubeadm') {
    const list = names(added).join(', ');
    return [
      step(K, 'add-kubeadm', `prepare ${list} and kubeadm join (control-plane nodes with the uploaded certificate key)`, names(added), { kind: 'playbook', playbook: files.playbook, inventory: files.inventory, tags: ['prepare', 'join'] }),
      ...waits,
    ];
  }
  const servers = added.filter((n) => hasRole(n, 'control-plane'));
  const agents = added.filter((n) => !hasRole(n, 'control-plane'));
  return [
    ...(servers.length > 0
      ? [step(K, 'add-rke2-servers', `install and start rke2-server on ${names(servers).join(', ')} (joins https://<first server>:9345)`, names(servers), { kind: 'playbook' as const, playbook: files.playbook, inventory: files.inventory, tags: ['prepare', 'server'], secrets: ['rke2-token'] })]
      : []),
    ...(agents.length > 0
      ? [step(K, 'add-rke2-agents', `install and start rke2-agent on ${names(agents).join(', ')}`, names(agents), { kind: 'playbook' as const, playbook: files.playbook, inventory: files.inventory, tags: ['prepare', 'agent'], secrets: ['rke2-token'] })]
      : []),
    ...waits,
  ];
}

/** Steps that take one node out: drain (when Ready), the method's removal, the Node deleted. */
export function planRemoval(cluster: Cluster, node: Leaving): PlanStep[] {
  const method = cluster.spec.kubernetes.method;
  const files = METHOD_FILES[method];
  const cp1 = firstControlPlane(cluster);
  const id = (what: string) => `remove-${node.name}-${what}`;
  const drain = node.ready ? [step(K, id('drain'), `cordon ${node.name} and evict its pods through the Eviction API (PodDisruptionBudgets honoured)`, [], { kind: 'drain', node: node.name })] : [];
  const leaving = [{ name: node.name, address: node.address, roles: node.roles, etcd: node.etcd, ssh: node.ssh }];
  const del = step(K, id('delete'), `delete the Node ${node.name}`, [], { kind: 'delete-node', node: node.name });
  if (method === 'kubespray') {
    const extraVars: Record<string, string | boolean> = { node: node.name, skip_confirmation: true };
    if (!node.ready) Object.assign(extraVars, { reset_nodes: false, allow_ungraceful_removal: true });
    const how = node.ready ? 'it resets the node' : 'not Ready: without reset (reset_nodes=false, allow_ungraceful_removal=true)';
    return [
      ...drain,
      step(K, id('kubespray'), `Kubespray remove-node.yml -e node=${node.name} (${how}; etcd membership removed when it has one)`, [node.name, cp1], {
        kind: 'kubespray-playbook',
        playbook: 'remove-node.yml',
        inventory: files.inventory,
        extraVars,
        leaving,
      }),
      del,
    ];
  }
  if (!node.ready) return [del];
  const what = method === 'kubeadm' ? 'kubeadm reset on it (it leaves etcd when it is a member), CNI state and interfaces removed' : 'rke2-uninstall.sh on it';
  return [...drain, step(K, id(method), what, [node.name], { kind: 'playbook', playbook: files.reset, inventory: files.inventory, leaving }), del];
}
