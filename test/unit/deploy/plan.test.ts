import { describe, expect, it } from 'vitest';
import { formatPlan, manifestPhase, planDeploy, type RenderedManifest } from '../../../src/deploy/plan.js';
import { PHASES } from '../../../src/deploy/phases.js';
import { exampleWith, loadClusterFile } from './helpers.js';

const example = loadClusterFile('examples/vmstation.yaml');
const manifests: RenderedManifest[] = [
  { path: 'manifests/prometheus.yaml', component: 'prometheus' },
  { path: 'manifests/grafana.yaml', component: 'grafana' },
  { path: 'manifests/local-path-provisioner.yaml', component: 'local-path-provisioner' },
  { path: 'manifests/power-manager.yaml', component: 'power-manager' },
  { path: 'manifests/jellyfin.yaml', component: 'jellyfin' },
];

describe('planDeploy (pure)', () => {
  it('orders the phases preflight -> host -> kubernetes -> addons -> monitoring -> infrastructure -> power -> verify', () => {
    const plan = planDeploy({ cluster: example, manifests });
    expect(plan.phases.map((p) => p.id)).toEqual([...PHASES]);
    expect(PHASES).toEqual(['preflight', 'host', 'kubernetes', 'addons', 'monitoring', 'infrastructure', 'power', 'verify']);
  });

  it('is deterministic and does not depend on the order manifests are given in', () => {
    const a = planDeploy({ cluster: example, manifests });
    const b = planDeploy({ cluster: example, manifests: [...manifests].reverse() });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('plans the Kubespray steps: obtain, Python env, inventory checks, cluster.yml on every node, kubeconfig', () => {
    const plan = planDeploy({ cluster: example, manifests });
    const k = plan.phases.find((p) => p.id === 'kubernetes')!;
    expect(k.steps.map((s) => s.action.kind)).toEqual(['kubespray-obtain', 'kubespray-environment', 'kubespray-inventory-checks', 'kubespray-playbook', 'fetch-kubeconfig', 'playbook', 'record-nodes']);
    // After Kubernetes: the scheduled etcd snapshots on the etcd members (here the control plane), then the record of the nodes.
    expect(k.steps[5]).toMatchObject({ id: 'kubernetes/etcd-snapshots', hosts: ['masternode'], action: { playbook: 'etcd/snapshots.yml', inventory: 'etcd/inventory.yaml' } });
    expect(k.steps[0]!.action).toEqual({ kind: 'kubespray-obtain', version: 'v2.31.0' });
    expect(k.steps[3]!.hosts).toEqual(['masternode', 'storagenodet3500', 'homelab']);
    expect(k.steps[4]!.action).toEqual({ kind: 'fetch-kubeconfig', method: 'kubespray', server: 'https://192.168.4.63:6443' });
  });

  it('plans kubeadm as init on the first control plane, join on the rest, CNI and wait', () => {
    const plan = planDeploy({ cluster: exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm')), manifests });
    const k = plan.phases.find((p) => p.id === 'kubernetes')!;
    expect(k.steps.map((s) => [s.id, s.hosts])).toEqual([
      ['kubernetes/kubeadm-prepare', ['masternode', 'storagenodet3500', 'homelab']],
      ['kubernetes/kubeadm-init', ['masternode']],
      ['kubernetes/kubeadm-join', ['storagenodet3500', 'homelab']],
      ['kubernetes/kubeadm-cni', ['masternode']],
      ['kubernetes/kubeconfig', ['masternode']],
      ['kubernetes/etcd-snapshots', ['masternode']],
      ['kubernetes/record-nodes', []],
    ]);
  });

  it('plans RKE2 servers then agents, with the token taken from the vault', () => {
    const cluster = loadClusterFile('test/fixtures/valid/rke2-rocky.yaml');
    const plan = planDeploy({ cluster, manifests: [] });
    const k = plan.phases.find((p) => p.id === 'kubernetes')!;
    expect(k.steps.map((s) => [s.id, s.hosts])).toEqual([
      ['kubernetes/rke2-servers', ['s1', 's2', 's3']],
      ['kubernetes/rke2-agents', ['w1']],
      ['kubernetes/kubeconfig', ['s1']],
      ['kubernetes/etcd-snapshots', ['s1', 's2', 's3']],
      ['kubernetes/record-nodes', []],
    ]);
    expect(k.steps[0]!.action).toMatchObject({ kind: 'playbook', secrets: ['rke2-token'] });
  });

  it('wakes asleep and unreachable nodes before the preflight checks', () => {
    const plan = planDeploy({
      cluster: example,
      manifests,
      observed: { nodes: { masternode: { power: 'awake' }, storagenodet3500: { power: 'asleep' }, homelab: { power: 'unreachable' } } },
    });
    const pre = plan.phases[0]!;
    expect(pre.steps.map((s) => s.id)).toEqual(['preflight/wake-storagenodet3500', 'preflight/wake-homelab', 'preflight/checks']);
    expect(pre.steps[0]!.action).toEqual({ kind: 'wake', node: 'storagenodet3500', drivers: ['wol'] });
  });

  it('sorts manifests into add-ons, monitoring, infrastructure and power, and prunes after the last apply', () => {
    expect(manifestPhase('local-path-provisioner')).toBe('addons');
    expect(manifestPhase('alloy')).toBe('monitoring');
    expect(manifestPhase('power-manager')).toBe('power');
    expect(manifestPhase('jellyfin')).toBe('infrastructure');
    const plan = planDeploy({ cluster: example, manifests });
    const files = (id: string) => plan.phases.find((p) => p.id === id)!.steps.flatMap((s) => (s.action.kind === 'apply-manifests' ? s.action.files : []));
    expect(files('addons')).toEqual(['manifests/local-path-provisioner.yaml']);
    expect(files('monitoring')).toEqual(['manifests/grafana.yaml', 'manifests/prometheus.yaml']);
    expect(files('infrastructure')).toEqual(['manifests/jellyfin.yaml']);
    const power = plan.phases.find((p) => p.id === 'power')!;
    expect(power.steps.map((s) => s.action.kind)).toEqual(['apply-manifests', 'prune']);
    expect(power.steps[1]!.action).toMatchObject({ kind: 'prune', keep: manifests.map((m) => m.path).sort() });
  });

  it('skips phases with a reason (monitoring off, nothing rendered); a cluster already at the version has nothing to change', () => {
    const off = exampleWith((t) => t.replace('  monitoring:\n    node: masternode', '  monitoring:\n    enabled: false\n    node: masternode'));
    const plan = planDeploy({
      cluster: off,
      manifests: [],
      observed: {
        nodes: {},
        cluster: { version: 'v1.35.4', nodes: ['masternode', 'storagenodet3500', 'homelab'].map((name) => ({ name, ready: true, version: 'v1.35.4' })) },
      },
    });
    const skipped = Object.fromEntries(plan.phases.filter((p) => p.skipped).map((p) => [p.id, p.skipped]));
    expect(Object.keys(skipped)).toEqual(['addons', 'monitoring', 'infrastructure']);
    expect(skipped.monitoring).toBe('monitoring.enabled is false');
    expect(plan.changes?.map((c) => c.kind)).toEqual(['nothing']);
    expect(plan.changes?.[0]?.reason).toMatch(/^nothing to change: the cluster runs Kubernetes 1\.35\.4 on masternode, storagenodet3500, homelab/);
    // Only what keeps converging: the snapshot timers and the record of the nodes.
    expect(plan.phases.find((p) => p.id === 'kubernetes')!.steps.map((s) => s.id)).toEqual(['kubernetes/etcd-snapshots', 'kubernetes/record-nodes']);
    expect(formatPlan(plan)).toContain('Changes (the file compared with what the cluster reports):\n  - nothing to change');
  });

  it('plans the day-two change when a node runs another version', () => {
    const cluster = { version: 'v1.35.4', nodes: [{ name: 'masternode', ready: true, version: 'v1.35.4' }, { name: 'storagenodet3500', ready: true, version: 'v1.34.2' }, { name: 'homelab', ready: true, version: 'v1.35.4' }] };
    const plan = planDeploy({ cluster: example, manifests, observed: { nodes: {}, cluster } });
    expect(plan.phases.find((p) => p.id === 'kubernetes')!.steps.map((s) => s.id)).toContain('kubernetes/upgrade-storagenodet3500-kubespray');
    expect(plan.changes?.map((c) => c.kind)).toEqual(['upgrade']);
  });

  it('notes leftovers of another runtime', () => {
    const plan = planDeploy({ cluster: example, manifests, observed: { nodes: { homelab: { power: 'awake', runtimes: ['k3s'] }, masternode: { power: 'awake', runtimes: ['kubelet 1.35.4'] } } } });
    expect(plan.notes.filter((n) => n.includes('installed'))).toEqual([expect.stringMatching(/^homelab has k3s installed/)]);
  });

  it('prints a readable plan', () => {
    const text = formatPlan(planDeploy({ cluster: example, manifests }));
    expect(text.split('\n')[0]).toBe('Plan for vmstation-homelab: Kubernetes 1.35.4 via kubespray');
    expect(text).toContain('3. kubernetes — Kubernetes 1.35.4 via Kubespray v2.31.0');
    expect(text).toContain('   - run Kubespray cluster.yml (Kubernetes 1.35.4) [masternode, storagenodet3500, homelab]');
  });
});
