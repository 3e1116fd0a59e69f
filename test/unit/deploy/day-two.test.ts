// Day two as pure planner functions: the cluster file against what the cluster reports, for each
// method. Every procedure below is the method's documented one; the source is named at each test.
import { describe, expect, it } from 'vitest';
import { planChanges, upgradeProgress } from '../../../src/deploy/changes/index.js';
import { versionStep, parseKubeVersion } from '../../../src/deploy/changes/versions.js';
import { planDeploy, type DeployedNode, type ObservedCluster } from '../../../src/deploy/plan.js';
import { exampleWith, loadClusterFile } from './helpers.js';

const example = loadClusterFile('examples/vmstation.yaml');
const kubeadm = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm'));
const rke2 = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');

const NODE4 = `    - name: node4
      address: 192.168.4.64
      mac: "02:00:c0:a8:04:40"
      os: debian-12
      roles: [ROLES]
      power:
        autoSleep: false
`;
/** The example with a fourth node (roles as given) appended to spec.nodes. */
const withNode4 = (roles: string, method = 'kubespray') =>
  exampleWith((t) => t.replace('method: kubespray', `method: ${method}`).replace('  monitoring:\n', `${NODE4.replace('ROLES', roles)}  monitoring:\n`));

const ready = (name: string, version = 'v1.35.4', roles: string[] = [], address?: string) => ({ name, ready: true, version, roles, ...(address ? { address } : {}) });
/** What the example's cluster reports: masternode (control plane) and two workers, all on `version`. */
const exampleCluster = (version = 'v1.35.4'): ObservedCluster => ({
  version,
  nodes: [ready('masternode', version, ['control-plane'], '192.168.4.63'), ready('storagenodet3500', version, ['worker'], '192.168.4.61'), ready('homelab', version, ['worker'], '192.168.4.62')],
});
const ids = (steps: ReadonlyArray<{ id: string }>) => steps.map((s) => s.id.replace(/^kubernetes\//, ''));
const deployed = (name: string, address: string, roles: DeployedNode['roles'], etcd = false): DeployedNode => ({ name, address, roles, etcd, ssh: { user: 'root', port: 22, privateKey: '~/.ssh/id_ed25519' } });

describe('versions (pure)', () => {
  it('one minor at a time; patches any time; no downgrade', () => {
    const v = (s: string) => parseKubeVersion(s)!;
    expect(parseKubeVersion('v1.35.4+rke2r1')).toEqual({ major: 1, minor: 35, patch: 4 });
    expect(parseKubeVersion('latest')).toBeUndefined();
    expect(versionStep(v('1.35.4'), v('1.35.4')).kind).toBe('same');
    expect(versionStep(v('1.35.1'), v('1.35.4')).kind).toBe('patch');
    expect(versionStep(v('1.34.7'), v('1.35.4')).kind).toBe('minor');
    expect(versionStep(v('1.35.4'), v('1.34.7')).kind).toBe('downgrade');
    // kubernetes.io kubeadm-upgrade: "Skipping MINOR versions when upgrading is unsupported".
    expect(versionStep(v('1.33.2'), v('1.35.4'))).toMatchObject({ kind: 'skips-minor', path: ['1.33', '1.34', '1.35'] });
  });
});

describe('nothing to change', () => {
  it('says so, for every method', () => {
    for (const c of [example, kubeadm]) {
      const plan = planChanges(c, exampleCluster());
      expect(plan.steps).toEqual([]);
      expect(plan.refusals).toEqual([]);
      expect(plan.changes.map((x) => x.reason)).toEqual(['nothing to change: the cluster runs Kubernetes 1.35.4 on masternode, storagenodet3500, homelab, as the file says']);
    }
  });

  it('a node that is there but not Ready (asleep) is not a change', () => {
    const observed = exampleCluster();
    const plan = planChanges(example, { ...observed, nodes: observed.nodes.map((n) => (n.name === 'homelab' ? { ...n, ready: false } : n)) });
    expect(plan.steps).toEqual([]);
    expect(plan.changes.map((c) => c.kind)).toEqual(['nothing', 'not-ready']);
    expect(plan.changes[1]!.reason).toMatch(/^homelab is in the cluster but not Ready \(asleep or down\): not a change/);
  });
});

describe('adding nodes', () => {
  it('Kubespray: a worker joins with playbooks/facts.yml (no limit), then scale.yml --limit NODE, then Ready', () => {
    // kubespray@v2.31.0:docs/operations/nodes.md "Adding/replacing a worker node": run scale.yml with
    // --limit=NODE_NAME; "Before using --limit run playbook facts.yml without the limit".
    const plan = planChanges(withNode4('worker'), exampleCluster());
    expect(plan.changes.map((c) => c.reason)).toEqual(['node4 is in the file but not in the cluster: it joins as a worker node (Kubespray scale.yml --limit node4)']);
    expect(ids(plan.steps)).toEqual(['kubespray-facts', 'add-workers', 'add-node4-ready']);
    expect(plan.steps[0]!.action).toEqual({ kind: 'kubespray-playbook', playbook: 'playbooks/facts.yml', inventory: 'kubespray/inventory.yaml' });
    expect(plan.steps[0]!.hosts).toEqual(['masternode', 'storagenodet3500', 'homelab', 'node4']);
    expect(plan.steps[1]!.action).toEqual({ kind: 'kubespray-playbook', playbook: 'scale.yml', inventory: 'kubespray/inventory.yaml', limit: 'node4' });
    expect(plan.steps[1]!.hosts).toEqual(['node4', 'masternode']);
    expect(plan.steps[2]!.action).toEqual({ kind: 'wait-node', node: 'node4', version: 'v1.35.4' });
  });

  it('Kubespray: a control-plane node needs cluster.yml, an etcd member cluster.yml and upgrade-cluster.yml limited to etcd,kube_control_plane', () => {
    // kubespray@v2.31.0:docs/operations/nodes.md: "Adding/replacing a control plane node ... run
    // cluster.yml. You can NOT use scale.yml for that"; "Adding an etcd node ... cluster.yml passing
    // --limit=etcd,kube_control_plane -e ignore_assert_errors=yes ... Run upgrade-cluster.yml also
    // passing --limit=etcd,kube_control_plane -e ignore_assert_errors=yes".
    const withEtcd = (roles: string) => exampleWith((t) => t.replace('roles: [control-plane]', 'roles: [control-plane, etcd]').replace('  monitoring:\n', `${NODE4.replace('ROLES', roles)}  monitoring:\n`));
    const cp = planChanges(withEtcd('control-plane, worker'), exampleCluster());
    expect(ids(cp.steps)).toEqual(['add-control-plane', 'add-node4-ready']);
    expect(cp.steps[0]!.action).toEqual({ kind: 'kubespray-playbook', playbook: 'cluster.yml', inventory: 'kubespray/inventory.yaml' });
    const etcd = planChanges(
      exampleWith((t) => t.replace('roles: [control-plane]', 'roles: [control-plane, etcd]').replace('  monitoring:\n', `${NODE4.replace('ROLES', 'etcd')}${NODE4.replace('ROLES', 'etcd').replace(/node4/g, 'node5').replace('.64', '.65').replace(':40"', ':41"')}  monitoring:\n`)),
      exampleCluster(),
    );
    expect(ids(etcd.steps)).toEqual(['add-etcd-cluster', 'add-etcd-upgrade', 'add-node4-ready', 'add-node5-ready']);
    expect(etcd.steps[0]!.action).toMatchObject({ playbook: 'cluster.yml', limit: 'etcd,kube_control_plane', extraVars: { ignore_assert_errors: 'yes' } });
    expect(etcd.steps[1]!.action).toMatchObject({ playbook: 'upgrade-cluster.yml', limit: 'etcd,kube_control_plane', extraVars: { ignore_assert_errors: 'yes' } });
  });

  it('kubeadm: prepare and kubeadm join on the new node only; RKE2: a server or an agent', () => {
    // kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-join; docs.rke2.io/install/ha ("server: https://<first>:9345").
    const k = planChanges(withNode4('worker', 'kubeadm'), exampleCluster());
    expect(k.changes[0]!.reason).toBe('node4 is in the file but not in the cluster: it joins as a worker node (kubeadm join)');
    expect(k.steps[0]).toMatchObject({ hosts: ['node4'], action: { kind: 'playbook', playbook: 'kubeadm/cluster.yml', tags: ['prepare', 'join'] } });
    const r = planChanges(
      rke2,
      { version: 'v1.34.2', nodes: ['s1', 's2', 's3'].map((n) => ready(n, 'v1.34.2', ['control-plane', 'etcd'])) },
    );
    expect(ids(r.steps)).toEqual(['add-rke2-agents', 'add-w1-ready']);
    expect(r.steps[0]).toMatchObject({ hosts: ['w1'], action: { playbook: 'rke2/cluster.yml', tags: ['prepare', 'agent'], secrets: ['rke2-token'] } });
  });
});

describe('removing nodes', () => {
  const observed4 = (): ObservedCluster => ({ ...exampleCluster(), nodes: [...exampleCluster().nodes, ready('node4', 'v1.35.4', ['worker'], '192.168.4.64')] });

  it('Kubespray: drain through the Eviction API, remove-node.yml -e node=NODE with the node still in the inventory, Node deleted', () => {
    // kubespray@v2.31.0:docs/operations/nodes.md "Remove an old node with remove-node.yml ... pass -e
    // node=NODE_NAME"; playbooks/remove_node.yml skips its "Confirm Execution" pause when
    // skip_confirmation is true, and asserts `node` is set.
    const plan = planChanges(example, observed4(), [deployed('node4', '192.168.4.64', ['worker'])]);
    expect(plan.changes.map((c) => c.reason)).toEqual(['node4 is in the cluster but no longer in the file: it is drained, then removed (address and roles from the last deploy)']);
    expect(ids(plan.steps)).toEqual(['remove-node4-drain', 'remove-node4-kubespray', 'remove-node4-delete']);
    expect(plan.steps[0]!.action).toEqual({ kind: 'drain', node: 'node4' });
    expect(plan.steps[1]!.action).toEqual({
      kind: 'kubespray-playbook',
      playbook: 'remove-node.yml',
      inventory: 'kubespray/inventory.yaml',
      extraVars: { node: 'node4', skip_confirmation: true },
      leaving: [{ name: 'node4', address: '192.168.4.64', roles: ['worker'], etcd: false, ssh: { user: 'root', port: 22, privateKey: '~/.ssh/id_ed25519' } }],
    });
  });

  it('Kubespray: a node that is not Ready is removed without drain or reset (reset_nodes=false, allow_ungraceful_removal=true)', () => {
    // kubespray@v2.31.0:docs/operations/nodes.md: "If the node you want to remove is not online, you
    // should add reset_nodes=false and allow_ungraceful_removal=true to your extra-vars".
    const o = observed4();
    const plan = planChanges(example, { ...o, nodes: o.nodes.map((n) => (n.name === 'node4' ? { ...n, ready: false } : n)) });
    expect(ids(plan.steps)).toEqual(['remove-node4-kubespray', 'remove-node4-delete']);
    expect(plan.steps[0]!.action).toMatchObject({ extraVars: { node: 'node4', skip_confirmation: true, reset_nodes: false, allow_ungraceful_removal: true } });
    expect(plan.changes[0]!.reason).toMatch(/not Ready, so it is removed without drain or reset \(address and role from its Node object: no record of the last deploy\)/);
  });

  it('kubeadm: drain, kubeadm reset on it (reset.yml limited to it), delete the Node; RKE2: rke2-uninstall.sh', () => {
    // kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-reset ("Remove the node": drain,
    // kubeadm reset, kubectl delete node); docs.rke2.io/install/uninstall (rke2-uninstall.sh).
    const k = planChanges(kubeadm, observed4());
    expect(ids(k.steps)).toEqual(['remove-node4-drain', 'remove-node4-kubeadm', 'remove-node4-delete']);
    expect(k.steps[1]).toMatchObject({ hosts: ['node4'], action: { kind: 'playbook', playbook: 'kubeadm/reset.yml', leaving: [{ name: 'node4', address: '192.168.4.64' }] } });
    const r = planChanges(rke2, { version: 'v1.34.2', nodes: [...['s1', 's2', 's3'].map((n) => ready(n, 'v1.34.2', ['control-plane'])), ready('w1', 'v1.34.2', ['worker']), ready('w2', 'v1.34.2', ['worker'], '10.10.0.22')] });
    expect(ids(r.steps)).toEqual(['remove-w2-drain', 'remove-w2-rke2', 'remove-w2-delete']);
    expect(r.steps[1]!.action).toMatchObject({ playbook: 'rke2/reset.yml' });
  });

  it('a renamed node is one removal plus one addition, said so, old name first', () => {
    const renamed = exampleWith((t) => t.replace('- name: homelab', '- name: homelab2'));
    const plan = planChanges(renamed, exampleCluster(), [deployed('homelab', '192.168.4.62', ['worker'])]);
    expect(plan.changes.map((c) => c.kind)).toEqual(['rename']);
    expect(plan.changes[0]!.reason).toBe('homelab is now called homelab2 (same address 192.168.4.62): that is one removal plus one addition — homelab is drained and reset, then the machine joins again as homelab2');
    expect(ids(plan.steps)).toEqual(['remove-homelab-drain', 'remove-homelab-kubespray', 'remove-homelab-delete', 'kubespray-facts', 'add-workers', 'add-homelab2-ready']);
  });

  it('refuses: the last control plane, an even etcd count, Kubespray\'s first control plane, a role change, an unknown address', () => {
    const renamedCp = exampleWith((t) => t.replace('- name: masternode', '- name: master2').replace(/node: masternode/g, 'node: master2').replace(/server: masternode/g, 'server: master2'));
    const lastCp = planChanges(renamedCp, exampleCluster());
    expect(lastCp.refusals.map((r) => r.code)).toContain('last-control-plane');
    expect(lastCp.refusals.find((r) => r.code === 'last-control-plane')!.hint).toMatch(/cannot be renamed in place/);
    expect(lastCp.steps).toEqual([]);

    // Three etcd members (rke2: s1..s3); the file keeps s1 and s3 only: two would be left.
    const two = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
    const without = { ...two, spec: { ...two.spec, nodes: two.spec.nodes.filter((n) => n.name !== 's2') } };
    const even = planChanges(without, { version: 'v1.34.2', nodes: [...['s1', 's2', 's3'].map((n) => ready(n, 'v1.34.2', ['control-plane'], '10.10.0.1' + n.slice(1))), ready('w1', 'v1.34.2', ['worker'])] });
    expect(even.refusals.map((r) => r.code)).toEqual(['etcd-even-after-removal']);
    expect(even.refusals[0]!.message).toBe('removing etcd member(s) s2 would leave 2 etcd member(s) (s1, s3): etcd needs an odd number to keep quorum');

    // kubespray@v2.31.0:docs/operations/nodes.md: "Currently you can't remove the first node in your kube_control_plane and etcd-master list".
    const twoCp = exampleWith((t) => t.replace('roles: [control-plane]', 'roles: [control-plane]').replace('- name: masternode', '- name: cp2').replace('192.168.4.63', '192.168.4.70').replace(/node: masternode/g, 'node: cp2').replace(/server: masternode/g, 'server: cp2'));
    const first = planChanges(twoCp, { version: 'v1.35.4', nodes: [...exampleCluster().nodes, ready('cp2', 'v1.35.4', ['control-plane'], '192.168.4.70')] }, [deployed('masternode', '192.168.4.63', ['control-plane'], true), deployed('cp2', '192.168.4.70', ['control-plane'], true)]);
    expect(first.refusals.map((r) => r.code)).toContain('kubespray-first-control-plane');

    const role = planChanges(example, { ...exampleCluster(), nodes: exampleCluster().nodes.map((n) => (n.name === 'homelab' ? { ...n, roles: ['control-plane'] } : n)) });
    expect(role.refusals.map((r) => r.code)).toEqual(['role-change']);

    const ghost = planChanges(example, { ...exampleCluster(), nodes: [...exampleCluster().nodes, ready('ghost')] });
    expect(ghost.refusals.map((r) => r.code)).toEqual(['leaving-node-unknown']);
  });
});

describe('upgrades', () => {
  const mixed = (versions: Record<string, string>): ObservedCluster => ({ version: versions['api'] ?? 'v1.34.3', nodes: exampleCluster().nodes.map((n) => ({ ...n, version: versions[n.name] ?? 'v1.34.3' })) });

  it('Kubespray: facts, the control plane and etcd (--limit kube_control_plane:etcd), then each worker with its own --limit, one at a time', () => {
    // kubespray@v2.31.0:docs/operations/upgrades.md "Node-based upgrade": facts.yml without --limit,
    // then upgrade-cluster.yml --limit "kube_control_plane:etcd", then the other nodes; "Setting
    // serial=1 would mean upgrade one node at a time". playbooks/upgrade_cluster.yml: the
    // control-plane play has `serial: 1`; roles/upgrade/pre-upgrade cordons and drains.
    const plan = planChanges(example, mixed({}));
    expect(plan.changes.map((c) => c.reason)).toEqual(['the cluster runs 1.34.3 and the file asks for 1.35.4: masternode, storagenodet3500, homelab are upgraded, control plane first, one node at a time']);
    expect(ids(plan.steps)).toEqual(['kubespray-facts', 'upgrade-control-plane', 'upgrade-masternode-ready', 'upgrade-storagenodet3500-kubespray', 'upgrade-storagenodet3500-ready', 'upgrade-homelab-kubespray', 'upgrade-homelab-ready']);
    expect(plan.steps[1]!.action).toEqual({ kind: 'kubespray-playbook', playbook: 'upgrade-cluster.yml', inventory: 'kubespray/inventory.yaml', limit: 'kube_control_plane:etcd', extraVars: { serial: '1' } });
    expect(plan.steps[3]!.action).toMatchObject({ playbook: 'upgrade-cluster.yml', limit: 'storagenodet3500', extraVars: { serial: '1' } });
    expect(plan.steps[6]!.action).toEqual({ kind: 'wait-node', node: 'homelab', version: 'v1.35.4' });
    expect(plan.steps.filter((s) => s.upgrades).map((s) => s.upgrades)).toEqual([['masternode'], ['storagenodet3500'], ['homelab']]);
  });

  it('a run that stopped half-way is resumed by planning again: only the nodes still behind', () => {
    const plan = planChanges(example, mixed({ api: 'v1.35.4', masternode: 'v1.35.4', storagenodet3500: 'v1.35.4' }));
    expect(ids(plan.steps)).toEqual(['kubespray-facts', 'upgrade-homelab-kubespray', 'upgrade-homelab-ready']);
    const all = planChanges(example, mixed({})).steps;
    expect(upgradeProgress(all, new Set(['kubernetes/kubespray-facts', 'kubernetes/upgrade-control-plane', 'kubernetes/upgrade-masternode-ready', 'kubernetes/upgrade-storagenodet3500-kubespray', 'kubernetes/upgrade-storagenodet3500-ready']))).toEqual({
      done: ['masternode', 'storagenodet3500'],
      notDone: ['homelab'],
    });
  });

  it('Kubespray: a worker left cordoned (a stopped run) is upgraded with upgrade_node_always_cordon, so it is uncordoned after', () => {
    // kubespray@v2.31.0:roles/upgrade/pre-upgrade/tasks/main.yml: needs_cordoning = (Ready and not unschedulable)
    // or upgrade_node_always_cordon; roles/upgrade/post-upgrade uncordons only when needs_cordoning.
    const o = mixed({ api: 'v1.35.4', masternode: 'v1.35.4', storagenodet3500: 'v1.35.4' });
    const plan = planChanges(example, { ...o, nodes: o.nodes.map((n) => (n.name === 'homelab' ? { ...n, unschedulable: true } : n)) });
    expect(plan.steps.find((s) => s.id === 'kubernetes/upgrade-homelab-kubespray')!.action).toMatchObject({ extraVars: { serial: '1', upgrade_node_always_cordon: true } });
  });

  it('refuses a skipped minor with the path to take, and a downgrade', () => {
    const skip = planChanges(example, mixed({ api: 'v1.33.5', masternode: 'v1.33.5', storagenodet3500: 'v1.33.5', homelab: 'v1.33.5' }));
    expect(skip.steps).toEqual([]);
    expect(skip.refusals).toEqual([
      {
        code: 'upgrade-skips-minor',
        message: 'the API server runs 1.33.5 and the file asks for 1.35.4: Kubernetes upgrades one minor version at a time (1.33 → 1.34 → 1.35)',
        // The newest 1.34 Kubespray v2.31.0 installs (kubespray-versions.ts, from its checksums).
        hint: 'set spec.kubernetes.version to 1.34.7, deploy, then go on to the next minor',
      },
    ]);
    const down = planChanges(exampleWith((t) => t.replace('version: "1.35.4"', 'version: "1.34.7"')), exampleCluster());
    expect(down.refusals.map((r) => [r.code, r.message])).toEqual([['downgrade-refused', 'the API server runs Kubernetes 1.35.4 and the file asks for 1.34.7: Kubernetes cannot be downgraded']]);
    const plan = planDeploy({ cluster: example, manifests: [], observed: { nodes: {}, cluster: mixed({ api: 'v1.33.5', masternode: 'v1.33.5' }) } });
    expect(plan.phases.find((p) => p.id === 'kubernetes')!.skipped).toMatch(/^refused: /);
  });

  it('kubeadm: upgrade apply on the first control plane, upgrade node elsewhere; drain, kubelet, uncordon per node', () => {
    // kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade: first control plane
    // "kubeadm upgrade plan" and "kubeadm upgrade apply"; other nodes "kubeadm upgrade node"; then
    // "Drain the node", upgrade kubelet and kubectl, restart the kubelet, "Uncordon the node".
    const plan = planChanges(kubeadm, mixed({}));
    expect(ids(plan.steps)).toEqual([
      'upgrade-masternode-upgrade-apply', 'upgrade-masternode-drain', 'upgrade-masternode-upgrade-kubelet', 'upgrade-masternode-uncordon', 'upgrade-masternode-ready',
      'upgrade-storagenodet3500-upgrade-node', 'upgrade-storagenodet3500-drain', 'upgrade-storagenodet3500-upgrade-kubelet', 'upgrade-storagenodet3500-uncordon', 'upgrade-storagenodet3500-ready',
      'upgrade-homelab-upgrade-node', 'upgrade-homelab-drain', 'upgrade-homelab-upgrade-kubelet', 'upgrade-homelab-uncordon', 'upgrade-homelab-ready',
    ]);
    expect(plan.steps[0]).toMatchObject({ hosts: ['masternode'], action: { kind: 'playbook', playbook: 'kubeadm/upgrade.yml', tags: ['upgrade-apply'] } });
  });

  it('RKE2: servers first, one at a time, then agents; each drained, upgraded and uncordoned', () => {
    // docs.rke2.io/upgrades/manual: "Upgrade the server nodes first, one at a time. Once all servers
    // have been upgraded, you may then upgrade agent nodes."
    const r = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
    const newer = { ...r, spec: { ...r.spec, kubernetes: { ...r.spec.kubernetes, version: '1.35.4' } } };
    const plan = planChanges(newer, { version: 'v1.34.2', nodes: [...['s1', 's2', 's3'].map((n) => ready(n, 'v1.34.2', ['control-plane'])), ready('w1', 'v1.34.2', ['worker'])] });
    expect(ids(plan.steps).filter((i) => i.endsWith('-rke2'))).toEqual(['upgrade-s1-rke2', 'upgrade-s2-rke2', 'upgrade-s3-rke2', 'upgrade-w1-rke2']);
    expect(ids(plan.steps).slice(0, 4)).toEqual(['upgrade-s1-drain', 'upgrade-s1-rke2', 'upgrade-s1-uncordon', 'upgrade-s1-ready']);
    expect(plan.steps[1]!.action).toMatchObject({ playbook: 'rke2/upgrade.yml' });
  });

  it('removals first, then the upgrade, then additions (a renamed machine is reset before it joins)', () => {
    const file = withNode4('worker');
    const observed = mixed({});
    const plan = planChanges(file, { ...observed, nodes: [...observed.nodes, ready('old', 'v1.34.3', ['worker'], '192.168.4.80')] });
    const order = ids(plan.steps);
    expect(order.indexOf('remove-old-kubespray')).toBeLessThan(order.indexOf('upgrade-control-plane'));
    expect(order.indexOf('upgrade-homelab-ready')).toBeLessThan(order.indexOf('add-workers'));
    expect(order.filter((i) => i === 'kubespray-facts')).toHaveLength(1);
  });
});
