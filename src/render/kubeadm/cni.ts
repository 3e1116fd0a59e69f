// The CNI of the kubeadm path: the upstream manifest of the version Kubespray pins
// (../versions.ts), downloaded to the first control plane, adapted where the upstream default
// cannot work for this cluster, then applied server-side.
// - flannel: kube-flannel.yml sets "Network": "10.244.0.0/16" (flannel-io/flannel@v0.28.4:
//   Documentation/kube-flannel.yml:93), but flannel takes each node's podCIDR from the cluster's
//   podSubnet: the network must be the podSubnet (as Kubespray renders it:
//   kubespray@v2.31.0:roles/network_plugin/flannel/templates/cni-flannel.yml.j2:34).
// - Calico: applied as released; it reads the pod range from kubeadm's ConfigMap
//   (projectcalico/calico@v3.31.5:node/pkg/lifecycle/startup/startup.go, KubeadmConfigConfigMap).
// Cilium is refused by validate (kubeadm-cilium-unsupported).
import type { Cluster } from '../../config/model.js';
import { CNI_MANIFESTS } from '../versions.js';

export const CNI_DIR = '/etc/kubernetes/vmstation-cni';
/** Tasks that download from the internet; `--skip-tags network` leaves them out. */
const NETWORK = ['network'];

export function cniManifestPath(cni: 'calico' | 'flannel'): string {
  return `${CNI_DIR}/${cni}.yaml`;
}

/** flannel's net-conf.json "Network" line, whatever the upstream default. */
export const FLANNEL_NETWORK_REGEXP = '("Network":\\s*)"[^"]*"';

export function cniTasks(cluster: Cluster): unknown[] {
  const { cni, podSubnet } = cluster.spec.kubernetes;
  if (cni === 'cilium') return [{ name: 'Cilium needs its own installer', 'ansible.builtin.fail': { msg: 'validate refuses kubeadm with Cilium (kubeadm-cilium-unsupported): choose calico or flannel, or the kubespray method' } }];
  const file = cniManifestPath(cni);
  return [
    { name: 'Folder for the CNI manifest', 'ansible.builtin.file': { path: CNI_DIR, state: 'directory', mode: '0700' } },
    { name: `Download ${cni} (${CNI_MANIFESTS[cni]})`, 'ansible.builtin.get_url': { url: CNI_MANIFESTS[cni], dest: file, mode: '0600' }, tags: NETWORK },
    ...(cni === 'flannel'
      ? [{ name: `flannel's network is the cluster's podSubnet (${podSubnet})`, 'ansible.builtin.replace': { path: file, regexp: FLANNEL_NETWORK_REGEXP, replace: `\\1"${podSubnet}"` }, tags: NETWORK }]
      : []),
    {
      name: `Apply ${cni}`,
      'ansible.builtin.command': `kubectl apply --server-side --field-manager vmstation -f ${file}`,
      register: 'cni_apply',
      changed_when: "'serverside-applied' in cni_apply.stdout and 'unchanged' not in cni_apply.stdout",
      tags: NETWORK,
    },
  ];
}
