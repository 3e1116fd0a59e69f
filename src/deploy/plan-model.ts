// The plan's vocabulary: what was observed, the steps a deploy can take, where the rendered
// files are. Shared by the first-deploy planner (plan.ts) and the day-two planners (changes/);
// types and constants only, so neither imports the other's logic.
import type { Method, Role } from '../config/schema.js';
import type { PhaseId } from './phases.js';
import type { SideLoadImage } from './side-load.js';

/** Where the host layer's playbook and inventory are in the render tree (rendered by src/render/ansible). */
export const HOST_LAYER = { inventory: 'ansible/inventory.yaml', playbook: 'ansible/site.yaml', cwd: 'ansible' } as const;
/** Where each method's rendered files are. */
export const METHOD_FILES = {
  kubespray: { inventory: 'kubespray/inventory.yaml', playbook: 'cluster.yml', reset: 'reset.yml', upgrade: 'upgrade-cluster.yml' },
  kubeadm: { inventory: 'kubeadm/inventory.yaml', playbook: 'kubeadm/cluster.yml', reset: 'kubeadm/reset.yml', upgrade: 'kubeadm/upgrade.yml' },
  rke2: { inventory: 'rke2/inventory.yaml', playbook: 'rke2/cluster.yml', reset: 'rke2/reset.yml', upgrade: 'rke2/upgrade.yml' },
} as const satisfies Record<Method, { inventory: string; playbook: string; reset: string; upgrade: string }>;
/** The scheduled etcd snapshots (src/render/etcd): playbook and inventory in the render tree. */
export const ETCD_FILES = { playbook: 'etcd/snapshots.yml', inventory: 'etcd/inventory.yaml' } as const;

export type NodePower = 'awake' | 'asleep' | 'unreachable' | 'unknown';

/** What preflight (or `power status`) saw on one node. */
export interface ObservedNode {
  power: NodePower;
  /** Kubernetes components already installed on the host (e.g. `kubelet 1.35.4`, `rke2`, `k3s`). */
  runtimes?: readonly string[];
}

/** One Node as the Kubernetes API reported it. */
export interface ObservedKubeNode {
  name: string;
  ready: boolean;
  /** status.nodeInfo.kubeletVersion, e.g. `v1.35.4`. */
  version: string;
  /** From the `node-role.kubernetes.io/<role>` labels. */
  roles?: readonly string[];
  /** status.addresses InternalIP. */
  address?: string | undefined;
  unschedulable?: boolean;
}

/** What the Kubernetes API reported, when a kubeconfig existed and the API answered. */
export interface ObservedCluster {
  /** The API server's /version gitVersion. */
  version: string;
  nodes: readonly ObservedKubeNode[];
}

/** A node as the last successful Kubernetes phase deployed it (kept in the state folder). */
export interface DeployedNode {
  name: string;
  address: string;
  roles: readonly Role[];
  /** Member of etcd (Kubespray's etcd group, kubeadm's and RKE2's stacked etcd on servers). */
  etcd: boolean;
  ssh: { user: string; port: number; privateKey: string };
}

export interface Observed {
  nodes: Readonly<Record<string, ObservedNode>>;
  cluster?: ObservedCluster | undefined;
  /** The nodes the last deploy recorded (deployed-nodes.json), when there is a record. */
  deployed?: readonly DeployedNode[] | undefined;
}

/** A rendered manifest file (`manifests/<component>.yaml`). */
export interface RenderedManifest {
  path: string;
  component: string;
}

/** Kubespray's entry points vmstation runs (Kubespray v2.31.0: cluster.yml, scale.yml, ... at the top of the repository). */
export type KubesprayPlaybook = 'cluster.yml' | 'scale.yml' | 'remove-node.yml' | 'upgrade-cluster.yml' | 'playbooks/facts.yml';

/**
 * A node being removed: no longer in the cluster file, so the inventory its removal runs with
 * gets it added back (Kubespray: "With the old node still in the inventory, run remove-node.yml").
 */
export interface LeavingNode {
  name: string;
  address: string;
  roles: readonly Role[];
  etcd: boolean;
  ssh: { user: string; port: number; privateKey: string };
}

export type StepAction =
  | { kind: 'wake'; node: string; drivers: readonly string[] }
  | { kind: 'preflight'; nodes: readonly string[] }
  | { kind: 'host-layer'; playbook: string }
  | { kind: 'playbook'; playbook: string; inventory: string; tags?: readonly string[]; secrets?: readonly string[]; leaving?: readonly LeavingNode[] }
  | { kind: 'kubespray-obtain'; version: string }
  | { kind: 'kubespray-environment' }
  | { kind: 'kubespray-inventory-checks' }
  | {
      kind: 'kubespray-playbook';
      playbook: KubesprayPlaybook;
      inventory: string;
      /** `--limit`; none runs on every host of the inventory. */
      limit?: string;
      /** Extra variables (`-e`), passed through a 0600 vars file. */
      extraVars?: Readonly<Record<string, string | boolean>>;
      leaving?: readonly LeavingNode[];
    }
  | { kind: 'fetch-kubeconfig'; method: Method; server: string }
  | { kind: 'drain'; node: string }
  | { kind: 'uncordon'; node: string }
  | { kind: 'delete-node'; node: string }
  /** Waits until the Node is Ready (and runs `version` when given). */
  | { kind: 'wait-node'; node: string; version?: string }
  /** Records the deployed nodes (deployed-nodes.json) for later removals. */
  | { kind: 'record-nodes' }
  | { kind: 'apply-manifests'; files: readonly string[] }
  | { kind: 'prune'; keep: readonly string[] }
  /** The power manager's image into the control-plane nodes' containerd; `image` is undefined when it was not built. */
  | { kind: 'side-load-image'; reference: string; image?: SideLoadImage | undefined }
  | { kind: 'verify' };

export interface PlanStep {
  /** Stable id, `phase/name` (state file and logs use it). */
  id: string;
  title: string;
  /** Hosts the step touches (empty for steps on the local machine or the Kubernetes API). */
  hosts: readonly string[];
  action: StepAction;
  /** Nodes this step brings to the new Kubernetes version (for "upgraded / not yet" when a run stops). */
  upgrades?: readonly string[];
}

export const step = (phase: PhaseId, name: string, title: string, hosts: readonly string[], action: StepAction, extra: Pick<PlanStep, 'upgrades'> = {}): PlanStep => ({
  id: `${phase}/${name}`,
  title,
  hosts,
  action,
  ...extra,
});
