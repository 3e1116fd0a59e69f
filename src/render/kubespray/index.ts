// The Kubespray renderer: `kubespray/inventory.yaml` and `kubespray/group_vars/...` for
// Kubespray v2.31.0 (rendered only when spec.kubernetes.method is kubespray).
import { KUBESPRAY_VERSION } from '../../config/data/kubespray-versions.js';
import type { Cluster } from '../../config/model.js';
import type { Artifact } from '../artifact.js';
import { ansibleYaml } from '../../util/ansible-yaml.js';
import type { Renderer } from '../registry.js';
import { kubesprayGroupVars, kubesprayInventory, type KubesprayInventory } from './vars.js';

export const KUBESPRAY_DIR = 'kubespray';

const header = (cluster: Cluster, what: string) =>
  `# ${what} for Kubespray ${KUBESPRAY_VERSION}, rendered by vmstation from cluster ${cluster.metadata.name}.\n# Do not edit: change the cluster file and render again.\n`;

/** Ansible YAML inventory with Kubespray's groups (k8s_cluster = control plane + nodes). */
export function inventoryDocument(inv: KubesprayInventory): unknown {
  const members = (names: readonly string[]) => ({ hosts: Object.fromEntries(names.map((n) => [n, {}])) });
  return {
    all: {
      hosts: inv.hosts,
      children: {
        kube_control_plane: members(inv.groups.kube_control_plane),
        etcd: members(inv.groups.etcd),
        kube_node: members(inv.groups.kube_node),
        k8s_cluster: { children: { kube_control_plane: {}, kube_node: {} } },
      },
    },
  };
}

export const kubesprayRenderer: Renderer = {
  name: 'kubespray',
  render(cluster: Cluster): Artifact[] {
    if (cluster.spec.kubernetes.method !== 'kubespray') return [];
    const out: Artifact[] = [
      { path: `${KUBESPRAY_DIR}/inventory.yaml`, component: 'kubespray', checker: 'ansible-inventory', content: header(cluster, 'Inventory') + ansibleYaml(inventoryDocument(kubesprayInventory(cluster))) },
    ];
    for (const [file, vars] of Object.entries(kubesprayGroupVars(cluster))) {
      out.push({ path: `${KUBESPRAY_DIR}/group_vars/${file}`, component: 'kubespray', checker: 'yaml', content: header(cluster, 'Group variables') + ansibleYaml(vars) });
    }
    return out;
  },
};
