// Our settings mapped onto Kubespray v2.31.0 variables. Only names Kubespray defines are used
// (a test checks every key against its variable list): the original VMStation wrote
// `cni_plugin` and `pod_network_cidr`, which Kubespray silently ignored.
import { etcdMembers, hasRole, type Cluster, type ClusterNode } from '../../config/model.js';

/** Ansible's own connection variables (not Kubespray's): allowed as host variables. */
export const ANSIBLE_CONNECTION_VARS = ['ansible_host', 'ansible_port', 'ansible_user', 'ansible_ssh_private_key_file', 'ansible_become'] as const;

export type KubesprayValue = string | number | boolean | readonly string[] | { readonly [k: string]: KubesprayValue };

/** group_vars files, by path under `kubespray/group_vars/`. */
export type GroupVars = Record<string, Record<string, KubesprayValue>>;

export interface KubesprayInventory {
  hosts: Record<string, Record<string, KubesprayValue>>;
  groups: { kube_control_plane: string[]; etcd: string[]; kube_node: string[] };
}

export function hostVars(node: ClusterNode): Record<string, KubesprayValue> {
  return {
    ansible_host: node.address,
    ansible_port: node.ssh.port,
    ansible_user: node.ssh.user,
    ansible_ssh_private_key_file: node.ssh.privateKey,
    ...(node.ssh.user === 'root' ? {} : { ansible_become: true }),
    // The address other nodes use to reach this one (Kubespray's name for it).
    access_ip: node.address,
  };
}

export function kubesprayInventory(cluster: Cluster): KubesprayInventory {
  const nodes = cluster.spec.nodes;
  const cps = nodes.filter((n) => hasRole(n, 'control-plane')).map((n) => n.name);
  const workers = nodes.filter((n) => hasRole(n, 'worker')).map((n) => n.name);
  return {
    hosts: Object.fromEntries(nodes.map((n) => [n.name, hostVars(n)])),
    groups: {
      kube_control_plane: cps,
      etcd: etcdMembers(nodes).map((n) => n.name),
      // A cluster without workers schedules on its control plane (Kubespray's single-node layout).
      kube_node: workers.length > 0 ? workers : cps,
    },
  };
}

function apiServerEndpoint(endpoint: string | undefined): { address: string; port: number } | undefined {
  if (!endpoint) return undefined;
  const [host, port] = endpoint.split(':');
  return { address: host ?? endpoint, port: port ? Number(port) : 6443 };
}

export function kubesprayGroupVars(cluster: Cluster): GroupVars {
  const { spec } = cluster;
  const k = spec.kubernetes;
  const lb = apiServerEndpoint(k.controlPlaneEndpoint);
  const all: Record<string, KubesprayValue> = {
    // The host layer runs chrony (server on the NTP node, clients everywhere): Kubespray must not.
    ntp_enabled: false,
    ...(spec.network.dnsServers.length > 0 ? { upstream_dns_servers: spec.network.dnsServers } : {}),
    ...(lb
      ? /^\d+\.\d+\.\d+\.\d+$/.test(lb.address)
        ? { loadbalancer_apiserver: { address: lb.address, port: lb.port } }
        : { apiserver_loadbalancer_domain_name: lb.address, loadbalancer_apiserver: { address: lb.address, port: lb.port } }
      : {}),
  };
  const k8sCluster: Record<string, KubesprayValue> = {
    kube_version: k.version,
    kube_network_plugin: k.cni,
    kube_pods_subnet: k.podSubnet,
    kube_service_addresses: k.serviceSubnet,
    kube_network_node_prefix: k.nodePrefix,
    kube_proxy_mode: k.kubeProxyMode,
    container_manager: 'containerd',
    cluster_name: cluster.metadata.name,
    dns_domain: k.clusterDomain,
    // Writes artifacts/admin.conf next to the inventory, which deploy copies to the user's kubeconfig.
    kubeconfig_localhost: true,
    // Prometheus scrapes these from another node: kubeadm binds them to 127.0.0.1 by default.
    kube_controller_manager_bind_address: '0.0.0.0',
    kube_scheduler_bind_address: '0.0.0.0',
    kube_proxy_metrics_bind_address: '0.0.0.0:10249',
    // hostPort (the log shipper's syslog receiver) needs the portmap CNI plugin: Kubespray's Cilium
    // chains it only when asked (roles/network_plugin/cilium/defaults/main.yml:41 cilium_enable_portmap: false).
    ...(k.cni === 'cilium' ? { cilium_enable_portmap: true } : {}),
    // kube-proxy in nftables mode breaks Calico's iptables data plane (kubernetes-sigs/kubespray#12198);
    // Kubespray leaves Calico's nftables mode off (calico_defaults/defaults/main.yml:103).
    ...(k.cni === 'calico' && k.kubeProxyMode === 'nftables' ? { calico_nftable_mode: 'Enabled' } : {}),
  };
  const addons: Record<string, KubesprayValue> = {
    // vmstation applies the storage provisioner itself in the add-ons phase, the same for every method.
    local_path_provisioner_enabled: false,
    metrics_server_enabled: false,
  };
  return { 'all/all.yml': all, 'k8s_cluster/k8s-cluster.yml': k8sCluster, 'k8s_cluster/addons.yml': addons };
}
