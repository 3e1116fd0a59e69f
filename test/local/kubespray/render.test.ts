import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnsibleYaml as parse } from '../../../src/util/ansible-yaml.js';
import { KUBESPRAY_KUBE_VERSIONS } from '../../../src/config/data/kubespray-versions.js';
import { runInventoryChecks } from '../../../src/render/kubespray/inventory-checks.js';
import { kubesprayRenderer } from '../../../src/render/kubespray/index.js';
import { ANSIBLE_CONNECTION_VARS, kubesprayGroupVars, kubesprayInventory } from '../../../src/render/kubespray/vars.js';
import { REPO, clusterFromText, exampleWith, loadClusterFile } from '../../unit/deploy/helpers.js';
import { kubesprayDefault } from '../../helpers/upstream.js';
import { unwrapUnsafe } from '../../helpers/ansible-unsafe.js';

const DATA = `${REPO}test/data/kubespray-v2.31.0`;
const known = new Set(readFileSync(`${DATA}/variables.txt`, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')));
const checkNames = readFileSync(`${DATA}/validate-inventory-checks.txt`, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));

const example = loadClusterFile('examples/vmstation.yaml');
const artifacts = kubesprayRenderer.render(example);
const byPath = Object.fromEntries(artifacts.map((a) => [a.path, a.content]));

describe('kubespray renderer', () => {
  it('renders the inventory and group_vars, only for method kubespray', () => {
    expect(Object.keys(byPath).sort()).toEqual([
      'kubespray/group_vars/all/all.yml',
      'kubespray/group_vars/k8s_cluster/addons.yml',
      'kubespray/group_vars/k8s_cluster/k8s-cluster.yml',
      'kubespray/inventory.yaml',
    ]);
    expect(kubesprayRenderer.render(exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm')))).toEqual([]);
  });

  it('uses only variable names Kubespray v2.31.0 knows (group_vars) and Ansible connection variables (hosts)', () => {
    expect(known.size).toBeGreaterThan(1600);
    for (const [file, content] of Object.entries(byPath)) {
      if (!file.includes('group_vars')) continue;
      const keys = Object.keys(parse(content) as object);
      expect(keys.length, file).toBeGreaterThan(0);
      for (const key of keys) expect(known.has(key), `${file}: ${key}`).toBe(true);
    }
    const inv = parse(byPath['kubespray/inventory.yaml']!) as { all: { hosts: Record<string, Record<string, unknown>> } };
    for (const [host, vars] of Object.entries(inv.all.hosts))
      for (const key of Object.keys(vars)) expect(known.has(key) || (ANSIBLE_CONNECTION_VARS as readonly string[]).includes(key), `${host}: ${key}`).toBe(true);
  });

  it('never uses the names the original used and Kubespray ignored', () => {
    const all = Object.values(byPath).join('\n');
    for (const wrong of ['cni_plugin', 'pod_network_cidr', 'service_cidr']) expect(all).not.toContain(wrong);
    expect(known.has('cni_plugin')).toBe(false);
  });

  it('maps the cluster settings onto Kubespray variables', () => {
    const k8s = parse(byPath['kubespray/group_vars/k8s_cluster/k8s-cluster.yml']!) as Record<string, unknown>;
    expect(k8s).toMatchObject({
      kube_version: '1.35.4',
      kube_network_plugin: 'calico',
      kube_pods_subnet: '10.233.64.0/18',
      kube_service_addresses: '10.233.0.0/18',
      kube_network_node_prefix: 24,
      container_manager: 'containerd',
      kube_proxy_mode: 'iptables',
      kubeconfig_localhost: true,
      cluster_name: 'vmstation-homelab',
      dns_domain: 'cluster.local',
      kube_controller_manager_bind_address: '0.0.0.0',
      kube_scheduler_bind_address: '0.0.0.0',
    });
    const all = parse(byPath['kubespray/group_vars/all/all.yml']!) as Record<string, unknown>;
    expect(all.ntp_enabled).toBe(false);
  });

  // kubespray@v2.31.0:roles/network_plugin/cilium/defaults/main.yml:41 (cilium_enable_portmap: false) and
  // templates/values.yaml.j2:59-60 (chainingMode: portmap only when enabled): hostPort (the log shipper's
  // syslog receiver, 1514) needs portmap. calico_defaults/defaults/main.yml:103 (calico_nftable_mode:
  // "Disabled"): with kube-proxy in nftables mode Calico must switch too (kubernetes-sigs/kubespray#12198).
  it('chains portmap into Cilium (hostPort) and switches Calico to nftables with an nftables kube-proxy', () => {
    expect(kubesprayDefault('cilium_enable_portmap')).toBe('false');
    expect(kubesprayDefault('calico_nftable_mode')).toBe('Disabled');
    const vars = (replace: (t: string) => string) => kubesprayGroupVars(exampleWith(replace))['k8s_cluster/k8s-cluster.yml']!;
    expect(vars((t) => t.replace('cni: calico', 'cni: cilium'))).toMatchObject({ kube_network_plugin: 'cilium', cilium_enable_portmap: true });
    expect(vars((t) => t)).not.toHaveProperty('cilium_enable_portmap');
    expect(vars((t) => t.replace('cni: calico', 'cni: calico\n    kubeProxyMode: nftables'))).toMatchObject({ kube_proxy_mode: 'nftables', calico_nftable_mode: 'Enabled' });
    expect(vars((t) => t)).not.toHaveProperty('calico_nftable_mode');
  });

  it('writes booleans as YAML booleans (Kubespray stops on "true" strings)', () => {
    expect(byPath['kubespray/group_vars/k8s_cluster/k8s-cluster.yml']).toMatch(/^kubeconfig_localhost: true$/m);
    expect(byPath['kubespray/group_vars/all/all.yml']).toMatch(/^ntp_enabled: false$/m);
  });

  it('groups hosts as Kubespray expects; a user other than root becomes root', () => {
    const inv = kubesprayInventory(example);
    expect(inv.groups).toEqual({ kube_control_plane: ['masternode'], etcd: ['masternode'], kube_node: ['storagenodet3500', 'homelab'] });
    expect(inv.hosts.homelab).toMatchObject({ ansible_host: '192.168.4.62', ansible_user: 'admin', ansible_become: true, access_ip: '192.168.4.62' });
    expect(inv.hosts.masternode).not.toHaveProperty('ansible_become');
    const single = kubesprayInventory(loadClusterFile('test/fixtures/valid/minimal.yaml'));
    expect(single.groups.kube_node).toEqual(['cp1']);
  });

  it('is accepted by ansible-inventory, with the groups and host variables intact', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubespray-inv-'));
    for (const a of artifacts) {
      const file = path.join(dir, a.path);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, a.content);
    }
    const out = execFileSync('ansible-inventory', ['-i', path.join(dir, 'kubespray/inventory.yaml'), '--list'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true', ANSIBLE_NOCOLOR: '1' } });
    const listed = JSON.parse(out) as Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    expect(listed.k8s_cluster!.children!.sort()).toEqual(['kube_control_plane', 'kube_node']);
    expect(listed.kube_node!.hosts).toEqual(['storagenodet3500', 'homelab']);
    // group_vars next to the inventory are loaded: the values reach every host.
    // Strings arrive tagged !unsafe (listed as {"__ansible_unsafe": ...}): Ansible never templates them (issue 17 §3).
    expect(listed._meta.hostvars.homelab!.ansible_user).toEqual({ __ansible_unsafe: 'admin' });
    expect(unwrapUnsafe(listed._meta.hostvars.homelab)).toMatchObject({ kube_version: '1.35.4', ntp_enabled: false, ansible_user: 'admin' });
  });

  it('is byte-identical when rendered twice', () => {
    expect(kubesprayRenderer.render(example)).toEqual(artifacts);
  });
});

describe("Kubespray's inventory checks, reproduced", () => {
  const results = runInventoryChecks(kubesprayInventory(example), kubesprayGroupVars(example));

  it('covers every check Kubespray v2.31.0 runs, by its exact name, in its order', () => {
    expect(results.map((r) => r.name)).toEqual(checkNames);
  });

  it('passes on the example; checks whose own `when:` is false are skipped, as ansible-playbook would', () => {
    const by = (status: string) => results.filter((r) => r.status === status).map((r) => r.name);
    expect(by('fail')).toEqual([]);
    expect(by('warn')).toEqual([]);
    // Calico skips the two address-space checks (kubespray@v2.31.0:roles/validate_inventory/tasks/main.yml
    // `kube_network_plugin not in ['calico', 'none']`); no cloud provider, no IPv6, no download_localhost,
    // Kata, gVisor or external CA: those tasks' `when:` is false too.
    expect(by('skipped')).toEqual([
      'Warn if `kube_network_plugin` is `none`',
      'Guarantee that enough network address space is available for all pods',
      'Check cloud_provider value',
      'Check external_cloud_provider value',
      'Check that ipv4 IP range is enough for the nodes',
      'Check that kube_service_addresses_ipv6 is a network range',
      'Check that kube_pods_subnet_ipv6 is a network range',
      'Check that kube_pods_subnet_ipv6 does not collide with kube_service_addresses_ipv6',
      'Check that ipv6 IP range is enough for the nodes',
      'Warn if `enable_dual_stack_networks` is set',
      'Stop if download_localhost is enabled but download_run_once is not',
      'Stop if kata_containers_enabled is enabled when container_manager is docker',
      'Stop if gvisor_enabled is enabled when container_manager is not containerd',
      'Stop if auto_renew_certificates is enabled when certificates are managed externally (kube_external_ca_mode is true)',
    ]);
    expect(by('pass')).toHaveLength(12);
  });

  const failing = (mutate: (inv: ReturnType<typeof kubesprayInventory>, vars: ReturnType<typeof kubesprayGroupVars>) => void) => {
    const inv = kubesprayInventory(example);
    const vars = kubesprayGroupVars(example);
    mutate(inv, vars);
    return runInventoryChecks(inv, vars).filter((r) => r.status === 'fail').map((r) => r.name);
  };
  const k8s = (v: ReturnType<typeof kubesprayGroupVars>) => v['k8s_cluster/k8s-cluster.yml']!;

  it('fails an even etcd count, an empty control plane, an unsupported version', () => {
    expect(failing((inv) => inv.groups.etcd.push('homelab'))).toEqual(['Stop if even number of etcd hosts']);
    expect(failing((inv) => (inv.groups.kube_control_plane = []))).toEqual(['Stop if kube_control_plane group is empty']);
    expect(failing((_i, v) => (k8s(v).kube_version = '1.32.0'))).toEqual(['Stop if unsupported version of Kubernetes', 'Download_file | Check if requested Kubernetes are supported']);
    expect(KUBESPRAY_KUBE_VERSIONS).not.toContain('1.32.0');
    // A patch release Kubespray has no checksums for: new enough, but not downloadable.
    expect(failing((_i, v) => (k8s(v).kube_version = '1.35.99'))).toEqual(['Download_file | Check if requested Kubernetes are supported']);
  });

  it('fails booleans given as strings, colliding or malformed ranges, unsupported options', () => {
    // The four booleans the task asserts (download_run_once, download_always_pull, helm_enabled, openstack_lbaas_enabled).
    expect(failing((_i, v) => (v['all/all.yml']!.download_run_once = 'false'))).toEqual([`Stop if known booleans are set as strings (Use JSON format on CLI: -e "{'key': true }")`]);
    expect(failing((_i, v) => (k8s(v).kube_pods_subnet = '10.233.0.0/16'))).toEqual(['Check that kube_pods_subnet does not collide with kube_service_addresses']);
    expect(failing((_i, v) => (k8s(v).kube_service_addresses = '10.233.0.1/18'))).toContain('Check that kube_service_addresses is a network range');
    expect(failing((_i, v) => (k8s(v).kube_proxy_mode = 'userspace'))).toEqual(['Stop if unsupported options selected']);
    expect(failing((_i, v) => (k8s(v).dns_mode = 'kubedns'))).toEqual(['Stop if unsupported options selected']);
    expect(failing((_i, v) => (k8s(v).etcd_deployment_type = 'docker'))).toEqual(['Stop if unsupported options selected']);
  });

  it('checks the address space only where Kubespray does: not for calico, for flannel and cilium', () => {
    // Calico: both tasks are skipped even with a /26 per node and a /23 pod range.
    expect(failing((_i, v) => Object.assign(k8s(v), { kube_network_node_prefix: 26, kube_pods_subnet: '10.233.64.0/23' }))).toEqual([]);
    expect(failing((_i, v) => Object.assign(k8s(v), { kube_network_plugin: 'flannel', kube_network_node_prefix: 26 }))).toEqual(['Guarantee that enough network address space is available for all pods']);
    expect(failing((_i, v) => Object.assign(k8s(v), { kube_network_plugin: 'cilium', kube_pods_subnet: '10.233.64.0/23' }))).toEqual(['Check that ipv4 IP range is enough for the nodes']);
  });

  it("evaluates the other tasks' conditions on the rendered variables", () => {
    expect(failing((_i, v) => (v['all/all.yml']!.kubelet_static_pod_path = '/etc/kubernetes/manifests'))).toEqual(['Fail if removed variables are used']);
    expect(failing((inv, v) => { inv.groups.etcd = []; k8s(v).etcd_deployment_type = 'kubeadm'; })).toEqual([]);
    expect(failing((inv) => (inv.groups.etcd = []))).toEqual(['Stop if etcd group is empty in external etcd mode']);
    expect(failing((_i, v) => (v['all/all.yml']!.cloud_provider = 'aws'))).toEqual(['Check cloud_provider value']);
    expect(failing((_i, v) => Object.assign(v['all/all.yml']!, { cloud_provider: 'external', external_cloud_provider: 'aws' }))).toEqual(['Check external_cloud_provider value']);
    expect(failing((_i, v) => (v['all/all.yml']!.download_localhost = true))).toEqual(['Stop if download_localhost is enabled but download_run_once is not']);
    expect(failing((_i, v) => Object.assign(k8s(v), { gvisor_enabled: true, container_manager: 'crio' }))).toEqual(['Stop if gvisor_enabled is enabled when container_manager is not containerd']);
    expect(failing((_i, v) => (k8s(v).containerd_version = '1.3.6'))).toEqual(['Ensure minimum containerd version']);
    expect(failing((_i, v) => Object.assign(k8s(v), { kube_external_ca_mode: true, auto_renew_certificates: true }))).toEqual(['Stop if auto_renew_certificates is enabled when certificates are managed externally (kube_external_ca_mode is true)']);
    expect(failing((_i, v) => Object.assign(k8s(v), { kube_version: '1.20.0', ignore_assert_errors: true }))).toEqual(['Download_file | Check if requested Kubernetes are supported']);
    expect(failing((_i, v) => (k8s(v).kube_pods_subnet = '10.233.64.0'))).toContain('Check that kube_pods_subnet is a network range');
    expect(failing((_i, v) => Object.assign(k8s(v), { kata_containers_enabled: true, container_manager: 'docker' }))).toEqual(['Stop if kata_containers_enabled is enabled when container_manager is docker']);
    // IPv6 on: vmstation renders no IPv6 ranges, so the four IPv6 checks fail as they would in Kubespray.
    expect(failing((_i, v) => (k8s(v).ipv6_stack = true))).toEqual([
      'Check that kube_service_addresses_ipv6 is a network range',
      'Check that kube_pods_subnet_ipv6 is a network range',
      'Check that kube_pods_subnet_ipv6 does not collide with kube_service_addresses_ipv6',
      'Check that ipv6 IP range is enough for the nodes',
    ]);
  });

  it('warns where Kubespray warns', () => {
    const inv = kubesprayInventory(example);
    const vars = kubesprayGroupVars(example);
    Object.assign(k8s(vars), { kube_network_plugin: 'none', enable_dual_stack_networks: false });
    expect(runInventoryChecks(inv, vars).filter((r) => r.status === 'warn').map((r) => r.name)).toEqual(['Warn if `kube_network_plugin` is `none`', 'Warn if `enable_dual_stack_networks` is set']);
  });

  it('accepts a large cluster file with a custom endpoint and DNS servers', () => {
    const big = clusterFromText(`apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: big }
spec:
  network: { subnet: 10.1.0.0/16, dnsServers: [10.1.0.1] }
  kubernetes: { version: "1.34.2", controlPlaneEndpoint: "k8s.lan:8443", cni: cilium, kubeProxyMode: nftables }
  nodes:
${[1, 2, 3].map((i) => `    - { name: cp${i}, address: 10.1.0.${i}, os: ubuntu-24.04, roles: [control-plane, etcd] }`).join('\n')}
${[4, 5].map((i) => `    - { name: w${i}, address: 10.1.0.${i}, os: debian-13, roles: [worker] }`).join('\n')}
`);
    const vars = kubesprayGroupVars(big);
    expect(vars['all/all.yml']).toMatchObject({ upstream_dns_servers: ['10.1.0.1'], apiserver_loadbalancer_domain_name: 'k8s.lan', loadbalancer_apiserver: { address: 'k8s.lan', port: 8443 } });
    for (const key of Object.values(vars).flatMap((v) => Object.keys(v))) expect(known.has(key), key).toBe(true);
    expect(runInventoryChecks(kubesprayInventory(big), vars).filter((r) => r.status === 'fail')).toEqual([]);
  });
});
