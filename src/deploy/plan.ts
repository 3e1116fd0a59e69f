// The deploy plan: a pure function from (cluster, what was observed on the hosts and in the
// cluster, what was rendered) to ordered phases and steps. Nothing here touches the network,
// the disk or the clock; `deploy` executes the plan, `plan` prints it, `deploy --dry-run` is it.
import { KUBESPRAY_VERSION } from '../config/data/kubespray-versions.js';
import { METHOD_SUPPORT } from '../config/methods.js';
import { etcdMembers, hasRole, type Cluster } from '../config/model.js';
import type { Method } from '../config/schema.js';
import { formatSize } from '../image/metadata.js';
import type { ControllerImage } from '../image/reference.js';
import { planChanges, type Change, type Refusal } from './changes/index.js';
import { PHASE_TITLES, PHASES, type PhaseId } from './phases.js';
import type { SideLoadImage } from './side-load.js';
import { ETCD_FILES, HOST_LAYER, METHOD_FILES, step, type Observed, type ObservedCluster, type PlanStep, type RenderedManifest } from './plan-model.js';

export { HOST_LAYER, METHOD_FILES, ETCD_FILES, step } from './plan-model.js';
export type { NodePower, ObservedNode, ObservedKubeNode, ObservedCluster, Observed, DeployedNode, RenderedManifest, KubesprayPlaybook, LeavingNode, StepAction, PlanStep } from './plan-model.js';

export interface PlanPhase {
  id: PhaseId;
  title: string;
  steps: PlanStep[];
  /** Why the whole phase does nothing, when it does nothing. */
  skipped?: string;
}

export interface DeployPlan {
  cluster: string;
  method: Method;
  kubernetesVersion: string;
  phases: PlanPhase[];
  /** Things the user should know before confirming (never blocking by themselves). */
  notes: string[];
  /** With an observed cluster: what changes in it, each with why (day two). */
  changes?: Change[];
  /** Changes the file asks for that are refused (deploy stops before doing anything). */
  refusals?: Refusal[];
}

export interface PlanInput {
  cluster: Cluster;
  observed?: Observed | undefined;
  manifests: readonly RenderedManifest[];
  /** The power manager's image (src/image/reference.ts); without it no side-load step is planned. */
  powerImage?: ControllerImage | undefined;
}

// Which phase applies which manifest, by component name. Anything not listed is infrastructure
// (apps, wake gateway, ...), so a new renderer never falls through the cracks.
const ADDON_COMPONENTS = /^(local-path|local-path-provisioner|storage|storage-provisioner)$/;
const MONITORING_COMPONENTS =
  /^(monitoring|monitoring-namespace|namespace|network-policies|prometheus|alertmanager|grafana|loki|alloy|promtail|node-exporter|kube-state-metrics|blackbox-exporter|ipmi-exporter|log-shipper)$/;
const POWER_COMPONENTS = /^(power|power-manager|vmstation-power-manager)$/;

export function manifestPhase(component: string): Extract<PhaseId, 'addons' | 'monitoring' | 'infrastructure' | 'power'> {
  if (ADDON_COMPONENTS.test(component)) return 'addons';
  if (MONITORING_COMPONENTS.test(component)) return 'monitoring';
  if (POWER_COMPONENTS.test(component)) return 'power';
  return 'infrastructure';
}

function controlPlaneServer(cluster: Cluster): string {
  const cp = cluster.spec.nodes.find((n) => hasRole(n, 'control-plane'));
  const endpoint = cluster.spec.kubernetes.controlPlaneEndpoint;
  if (endpoint) return endpoint.includes(':') ? `https://${endpoint}` : `https://${endpoint}:6443`;
  return `https://${cp?.address ?? '127.0.0.1'}:6443`;
}

function kubernetesSteps(cluster: Cluster): PlanStep[] {
  const { method } = cluster.spec.kubernetes;
  const all = cluster.spec.nodes.map((n) => n.name);
  const cps = cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane')).map((n) => n.name);
  const workers = all.filter((n) => !cps.includes(n));
  const files = METHOD_FILES[method];
  const fetch = step('kubernetes', 'kubeconfig', 'fetch the admin kubeconfig', cps.slice(0, 1), { kind: 'fetch-kubeconfig', method, server: controlPlaneServer(cluster) });
  switch (method) {
    case 'kubespray':
      return [
        ...kubesprayPrep(),
        step('kubernetes', 'kubespray-cluster', `run Kubespray cluster.yml (Kubernetes ${cluster.spec.kubernetes.version})`, all, {
          kind: 'kubespray-playbook',
          playbook: 'cluster.yml',
          inventory: files.inventory,
        }),
        fetch,
      ];
    case 'kubeadm':
      return [
        step('kubernetes', 'kubeadm-prepare', 'containerd (systemd cgroups), kernel modules, sysctls, pkgs.k8s.io packages held at the version', all, {
          kind: 'playbook',
          playbook: files.playbook,
          inventory: files.inventory,
          tags: ['prepare'],
        }),
        step('kubernetes', 'kubeadm-init', 'kubeadm init with the rendered ClusterConfiguration', cps.slice(0, 1), { kind: 'playbook', playbook: files.playbook, inventory: files.inventory, tags: ['init'] }),
        step('kubernetes', 'kubeadm-join', 'join the other control-plane nodes and the workers', [...cps.slice(1), ...workers], {
          kind: 'playbook',
          playbook: files.playbook,
          inventory: files.inventory,
          tags: ['join'],
        }),
        step('kubernetes', 'kubeadm-cni', `install the CNI (${cluster.spec.kubernetes.cni}) and wait for every node Ready`, cps.slice(0, 1), {
          kind: 'playbook',
          playbook: files.playbook,
          inventory: files.inventory,
          tags: ['cni', 'wait'],
        }),
        fetch,
      ];
    case 'rke2':
      return [
        step('kubernetes', 'rke2-servers', 'install and start rke2-server (token from the vault)', cps, {
          kind: 'playbook',
          playbook: files.playbook,
          inventory: files.inventory,
          tags: ['prepare', 'server'],
          secrets: ['rke2-token'],
        }),
        step('kubernetes', 'rke2-agents', 'install and start rke2-agent on the workers', workers, {
          kind: 'playbook',
          playbook: files.playbook,
          inventory: files.inventory,
          tags: ['prepare', 'agent'],
          secrets: ['rke2-token'],
        }),
        fetch,
      ];
  }
}

/** Kubespray itself, its Python environment and its inventory checks: before any of its playbooks. */
function kubesprayPrep(): PlanStep[] {
  return [
    step('kubernetes', 'kubespray-obtain', `obtain Kubespray ${KUBESPRAY_VERSION} (cache or --kubespray-dir)`, [], { kind: 'kubespray-obtain', version: KUBESPRAY_VERSION }),
    step('kubernetes', 'kubespray-environment', "prepare Kubespray's Python environment (venv + requirements.txt)", [], { kind: 'kubespray-environment' }),
    step('kubernetes', 'kubespray-inventory-checks', "run Kubespray's inventory checks on the rendered inventory", [], { kind: 'kubespray-inventory-checks' }),
  ];
}

/** After Kubernetes: the scheduled etcd snapshots on every etcd node, and the record of the deployed nodes. */
function afterKubernetes(cluster: Cluster): PlanStep[] {
  const servers = cluster.spec.kubernetes.method === 'rke2' ? cluster.spec.nodes.filter((n) => hasRole(n, 'control-plane')) : etcdMembers(cluster.spec.nodes);
  const s = cluster.spec.kubernetes.etcd.snapshots;
  const how = cluster.spec.kubernetes.method === 'rke2' ? "RKE2's own schedule; copies and the age metric by vmstation" : 'a systemd timer running etcdctl snapshot save';
  // The copy target node runs a play of its own (the receive command and the keys).
  const target = s.copyTo && !s.copyTo.startsWith('/') && !servers.some((n) => n.name === s.copyTo) ? [s.copyTo] : [];
  return [
    step('kubernetes', 'etcd-snapshots', `scheduled etcd snapshots (${s.schedule}, keep ${s.keep}${s.copyTo ? `, copied to ${s.copyTo}` : ''}): ${how}`, [...servers.map((n) => n.name), ...target], {
      kind: 'playbook',
      playbook: ETCD_FILES.playbook,
      inventory: ETCD_FILES.inventory,
    }),
    step('kubernetes', 'record-nodes', 'record the deployed nodes (addresses and roles, for later removals)', [], { kind: 'record-nodes' }),
  ];
}

interface KubernetesPhase {
  steps: PlanStep[];
  changes?: Change[];
  refusals?: Refusal[];
}

/** The Kubernetes phase: the first install, or (when the cluster answered) the changes day two needs. */
function kubernetesPhase(cluster: Cluster, observed: ObservedCluster | undefined, deployed: Observed['deployed']): KubernetesPhase {
  if (!observed) return { steps: [...kubernetesSteps(cluster), ...afterKubernetes(cluster)] };
  const plan = planChanges(cluster, observed, deployed);
  if (plan.refusals.length > 0) return { steps: [], changes: plan.changes, refusals: plan.refusals };
  const usesKubespray = plan.steps.some((s) => s.action.kind === 'kubespray-playbook');
  return { steps: [...(usesKubespray ? kubesprayPrep() : []), ...plan.steps, ...afterKubernetes(cluster)], changes: plan.changes, refusals: [] };
}

const refusedReason = (refusals: readonly Refusal[] | undefined) => (refusals && refusals.length > 0 ? `refused: ${refusals.map((r) => r.message).join('; ')}` : undefined);

function dayTwoFields(kube: KubernetesPhase): Pick<DeployPlan, 'changes' | 'refusals'> {
  return { ...(kube.changes ? { changes: kube.changes } : {}), ...(kube.refusals && kube.refusals.length > 0 ? { refusals: kube.refusals } : {}) };
}

/** The side-load step of the power phase (before the manifest is applied), or a note why none. */
function sideLoadSteps(spec: Cluster['spec'], image: ControllerImage | undefined, rendered: boolean, notes: string[]): PlanStep[] {
  if (!image || !rendered) return [];
  if (image.kind === 'configured') {
    notes.push(`the power manager's image is pulled from ${image.reference} (spec.power.controller.image)`);
    return [];
  }
  const cps = spec.nodes.filter((n) => hasRole(n, 'control-plane')).map((n) => n.name);
  if (image.kind === 'not-built') {
    notes.push(`the power manager's image is not built: run \`vmstation image build\` before deploying (the power phase stops at its side-load step)`);
    return [step('power', 'side-load-image', `side-load ${image.reference} into containerd (NOT BUILT: run \`vmstation image build\`)`, cps, { kind: 'side-load-image', reference: image.reference })];
  }
  const b = image.image;
  const load: SideLoadImage = { repository: b.repository, tag: b.tag, digest: b.nodeDigest, archive: b.dockerArchive.file, size: b.dockerArchive.size, sha256: b.dockerArchive.sha256 };
  return [step('power', 'side-load-image', `side-load ${b.repository}:${b.tag} ${b.nodeDigest} (docker-archive ${formatSize(b.dockerArchive.size)}) into containerd (k8s.io), unless present`, cps, { kind: 'side-load-image', reference: image.reference, image: load })];
}

export function planDeploy(input: PlanInput): DeployPlan {
  const { cluster, observed } = input;
  const { spec } = cluster;
  const notes: string[] = [];
  const support = METHOD_SUPPORT[spec.kubernetes.method];
  const nodeNames = spec.nodes.map((n) => n.name);

  // preflight: wake sleepers first, then check every node
  const wakes: PlanStep[] = [];
  for (const n of spec.nodes) {
    const seen = observed?.nodes[n.name];
    if (seen?.power === 'asleep' || seen?.power === 'unreachable') {
      wakes.push(step('preflight', `wake-${n.name}`, `wake ${n.name} (${n.power.wake.join(', then ')}) — it is ${seen.power}`, [n.name], { kind: 'wake', node: n.name, drivers: n.power.wake }));
    }
    const ours = spec.kubernetes.method === 'rke2' ? 'rke2' : 'kubelet';
    for (const rt of seen?.runtimes ?? []) {
      if (rt.split(' ')[0] !== ours)
        notes.push(`${n.name} has ${rt} installed, which ${support.title} does not manage: run \`vmstation reset\` with the old method or remove it first`);
    }
  }
  const phases: PlanPhase[] = [];
  const add = (id: PhaseId, steps: PlanStep[], skipped?: string) => phases.push({ id, title: id === 'kubernetes' ? `Kubernetes ${spec.kubernetes.version} via ${support.title}` : PHASE_TITLES[id], steps: skipped ? [] : steps, ...(skipped ? { skipped } : {}) });

  add('preflight', [...wakes, step('preflight', 'checks', 'check OS, resources, swap, ports, clock, SELinux, modules, leftovers, sudo, WoL and suspend', nodeNames, { kind: 'preflight', nodes: nodeNames })]);
  add('host', [step('host', 'site', 'apply the host layer playbook (src/host: known_hosts, Kerberos secrets, site.yaml)', nodeNames, { kind: 'host-layer', playbook: HOST_LAYER.playbook })]);
  const kube = kubernetesPhase(cluster, observed?.cluster, observed?.deployed);
  add('kubernetes', kube.steps, refusedReason(kube.refusals));

  const sorted = [...input.manifests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const byPhase = (p: ReturnType<typeof manifestPhase>) => sorted.filter((m) => manifestPhase(m.component) === p).map((m) => m.path);
  const applyStep = (p: 'addons' | 'monitoring' | 'infrastructure' | 'power', files: string[]): PlanStep[] =>
    files.length === 0 ? [] : [step(p, 'apply', `server-side apply ${files.length} manifest file(s), secrets from the vault, wait for rollouts`, [], { kind: 'apply-manifests', files })];

  const addons = byPhase('addons');
  add('addons', applyStep('addons', addons), addons.length === 0 ? 'no storage provisioner is rendered (PersistentVolumeClaims need one: enable monitoring.storage.mode local-path)' : undefined);
  const monitoring = byPhase('monitoring');
  add('monitoring', applyStep('monitoring', monitoring), !spec.monitoring.enabled ? 'monitoring.enabled is false' : monitoring.length === 0 ? 'no monitoring manifests were rendered' : undefined);
  const infra = byPhase('infrastructure');
  add('infrastructure', applyStep('infrastructure', infra), infra.length === 0 ? 'nothing to run in the cluster besides monitoring and power' : undefined);
  const power = byPhase('power');
  const pruneStep = step('power', 'prune', 'remove objects labelled app.kubernetes.io/managed-by=vmstation that are no longer rendered', [], { kind: 'prune', keep: sorted.map((m) => m.path) });
  add('power', [...sideLoadSteps(spec, input.powerImage, power.length > 0, notes), ...applyStep('power', power), pruneStep]);
  if (spec.power.enabled && power.length === 0) notes.push('power.enabled is true but no power manager manifest was rendered');
  add('verify', [step('verify', 'checks', 'nodes Ready, workloads rolled out, Prometheus targets, Grafana and Loki health, NTP offsets, syslog', [], { kind: 'verify' })]);

  const sleepers = spec.nodes.filter((n) => n.power.autoSleep).map((n) => n.name);
  if (sleepers.length > 0 && spec.power.enabled) notes.push(`the power manager may put ${sleepers.join(', ')} to sleep after the deploy; later deploys wake them first`);
  if (phases.map((p) => p.id).join() !== PHASES.join()) throw new Error('plan phases out of order');
  return { cluster: cluster.metadata.name, method: spec.kubernetes.method, kubernetesVersion: spec.kubernetes.version, phases, notes, ...dayTwoFields(kube) };
}

/** The plan as readable text (what `plan` and `deploy --dry-run` print). */
export function formatPlan(plan: DeployPlan): string {
  const lines = [`Plan for ${plan.cluster}: Kubernetes ${plan.kubernetesVersion} via ${plan.method}`, ''];
  if (plan.changes) {
    lines.push('Changes (the file compared with what the cluster reports):');
    for (const c of plan.changes) lines.push(`  - ${c.reason}`);
    lines.push('');
  }
  if (plan.refusals && plan.refusals.length > 0) {
    lines.push('Refused (nothing will run until the file is fixed):');
    for (const r of plan.refusals) lines.push(`  - error[${r.code}]: ${r.message}`, `    hint: ${r.hint}`);
    lines.push('');
  }
  plan.phases.forEach((p, i) => {
    lines.push(`${i + 1}. ${p.id} — ${p.title}${p.skipped ? ` (skipped: ${p.skipped})` : ''}`);
    for (const s of p.steps) lines.push(`   - ${s.title}${s.hosts.length > 0 ? ` [${s.hosts.join(', ')}]` : ''}`);
  });
  if (plan.notes.length > 0) {
    lines.push('', 'Notes:');
    for (const n of plan.notes) lines.push(`  - ${n}`);
  }
  return lines.join('\n');
}
