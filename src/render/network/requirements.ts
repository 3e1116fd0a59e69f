// What must be open between the nodes of a cluster, and from the LAN, for each deploy method and
// CNI: a pure function of the method, the CNI and each node's role, taken from the upstream
// tables (each entry names its source). The host firewall opens exactly these (plus the host
// layer's own services), and the lab test sends a real packet through each of them.
import type { Method } from '../../config/schema.js';

export type Cni = 'calico' | 'flannel' | 'cilium';
/** IP protocol: TCP and UDP have ports; `ipencap` is IP-in-IP (IP protocol 4), which has none. */
export type FlowProtocol = 'tcp' | 'udp' | 'ipencap';
/** Which nodes receive the flow. */
export type FlowTarget = 'all' | 'control-plane' | 'etcd';
/** Who sends it: the cluster's nodes (the LAN), or anyone (the API, NodePorts). */
export type FlowSource = 'nodes' | 'anywhere';

export interface Flow {
  protocol: FlowProtocol;
  /** A port or an inclusive range; none for `ipencap`. */
  port?: number | [number, number];
  to: FlowTarget;
  from: FlowSource;
  why: string;
  /** The upstream document that requires it (`repo@tag:path` or URL). */
  source: string;
}

/** IP protocol numbers (IANA; /etc/protocols calls 4 `ipencap`, 94 is a different `ipip`). */
export const IP_PROTOCOL_NUMBER: Record<FlowProtocol, number> = { tcp: 6, udp: 17, ipencap: 4 };

const K8S_PORTS = 'https://kubernetes.io/docs/reference/networking/ports-and-protocols/';
const KUBESPRAY_PORTS = 'kubernetes-sigs/kubespray@v2.31.0:docs/operations/port-requirements.md';
const RKE2_PORTS = 'rancher/rke2-docs@9477b7b:docs/install/requirements.md (Inbound Network Rules)';
const CALICO_MANIFEST = 'projectcalico/calico@v3.31.5:manifests/calico.yaml';
const CALICO_DEFAULTS = 'kubernetes-sigs/kubespray@v2.31.0:roles/network_plugin/calico_defaults/defaults/main.yml';
const FLANNEL_BACKENDS = 'flannel-io/flannel@v0.28.4:Documentation/backends.md (vxlan Port: kernel default 8472)';
const FLANNEL_DEFAULTS = 'kubernetes-sigs/kubespray@v2.31.0:roles/network_plugin/flannel/defaults/main.yml (flannel_vxlan_port: 8472)';
const CILIUM_DEFAULTS = 'kubernetes-sigs/kubespray@v2.31.0:roles/network_plugin/cilium/defaults/main.yml (cilium_tunnel_mode: vxlan)';

const f = (protocol: FlowProtocol, port: Flow['port'], to: FlowTarget, from: FlowSource, why: string, source: string): Flow => ({ protocol, ...(port === undefined ? {} : { port }), to, from, why, source });

/** Kubernetes itself, the same on every path (kubeadm underneath Kubespray; RKE2's table agrees). */
function kubernetesFlows(method: Method): Flow[] {
  const table = method === 'rke2' ? RKE2_PORTS : method === 'kubespray' ? KUBESPRAY_PORTS : K8S_PORTS;
  const flows = [
    f('tcp', 6443, 'control-plane', 'anywhere', 'Kubernetes API', table),
    f('tcp', [2379, 2380], 'etcd', 'nodes', 'etcd client and peer', table),
    f('tcp', 10250, 'all', 'nodes', 'kubelet API', table),
    f('tcp', [30000, 32767], 'all', 'anywhere', 'Kubernetes NodePorts', table),
    f('udp', [30000, 32767], 'all', 'anywhere', 'Kubernetes NodePorts', K8S_PORTS),
  ];
  if (method === 'rke2') {
    flows.push(f('tcp', 9345, 'control-plane', 'nodes', 'RKE2 supervisor API (agents and servers join here)', RKE2_PORTS));
    flows.push(f('tcp', 2381, 'etcd', 'nodes', 'etcd metrics (RKE2 servers)', RKE2_PORTS));
  }
  return flows;
}

/** The pod network between nodes: encapsulation and control traffic of the CNI as each path installs it. */
function cniFlows(method: Method, cni: Cni): Flow[] {
  switch (`${method}/${cni}`) {
    // Kubespray's Calico: VXLAN always, no IP-in-IP, no BIRD (calico_network_backend: vxlan), no Typha.
    case 'kubespray/calico':
      return [f('udp', 4789, 'all', 'nodes', 'Calico VXLAN', `${CALICO_DEFAULTS} (calico_vxlan_mode: Always, calico_network_backend: vxlan)`)];
    // The upstream manifest: BIRD (BGP) and IP-in-IP always.
    case 'kubeadm/calico':
      return [
        f('tcp', 179, 'all', 'nodes', 'Calico BGP (BIRD)', `${CALICO_MANIFEST} (calico_backend: "bird")`),
        f('ipencap', undefined, 'all', 'nodes', 'Calico IP-in-IP', `${CALICO_MANIFEST} (CALICO_IPV4POOL_IPIP: "Always")`),
      ];
    // rke2-calico (Tigera operator): BGP, VXLAN, Typha and their health checks, as RKE2's table lists.
    case 'rke2/calico':
      return [
        f('tcp', 179, 'all', 'nodes', 'Calico BGP', RKE2_PORTS),
        f('udp', 4789, 'all', 'nodes', 'Calico VXLAN', RKE2_PORTS),
        f('tcp', 5473, 'all', 'nodes', 'Calico Typha', RKE2_PORTS),
        f('tcp', 9098, 'all', 'nodes', 'Calico Typha health checks', RKE2_PORTS),
        f('tcp', 9099, 'all', 'nodes', 'Calico health checks', RKE2_PORTS),
      ];
    case 'kubespray/flannel':
      return [f('udp', 8472, 'all', 'nodes', 'flannel VXLAN', FLANNEL_DEFAULTS)];
    case 'kubeadm/flannel':
      return [f('udp', 8472, 'all', 'nodes', 'flannel VXLAN', FLANNEL_BACKENDS)];
    // rke2-flannel sends its VXLAN on the IANA port, not the kernel's default.
    case 'rke2/flannel':
      return [f('udp', 4789, 'all', 'nodes', 'flannel VXLAN (RKE2)', RKE2_PORTS)];
    case 'kubespray/cilium':
      return [
        f('udp', 8472, 'all', 'nodes', 'Cilium VXLAN', `${CILIUM_DEFAULTS}; ${KUBESPRAY_PORTS}`),
        f('tcp', 4240, 'all', 'nodes', 'Cilium health checks', KUBESPRAY_PORTS),
      ];
    case 'rke2/cilium':
      return [f('udp', 8472, 'all', 'nodes', 'Cilium VXLAN', RKE2_PORTS), f('tcp', 4240, 'all', 'nodes', 'Cilium health checks', RKE2_PORTS)];
    // kubeadm + Cilium is refused by validate (kubeadm-cilium-unsupported): nothing to open.
    default:
      return [];
  }
}

/** Every flow a cluster installed by `method` with `cni` needs (ICMP is always accepted by the host firewall). */
export function clusterFlows(method: Method, cni: Cni): Flow[] {
  return [...kubernetesFlows(method), ...cniFlows(method, cni)];
}

/** Whether a node with these roles receives flows aimed at `to`. */
export function receives(to: FlowTarget, node: { isControlPlane: boolean; isEtcd: boolean }): boolean {
  return to === 'all' || (to === 'control-plane' && node.isControlPlane) || (to === 'etcd' && node.isEtcd);
}

/** Text of a flow for comments, docs and test names: `tcp/6443`, `ipencap`. */
export function flowText(flow: Pick<Flow, 'protocol' | 'port'>): string {
  if (flow.port === undefined) return flow.protocol;
  return `${flow.protocol}/${Array.isArray(flow.port) ? flow.port.join('-') : flow.port}`;
}
