// kubeadm/upgrade.yml and rke2/upgrade.yml: the real ansible-playbook checks their syntax and lists
// which tasks each (--tags, --limit) combination vmstation uses would run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../../src/render/index.js';
import { exampleWith, loadClusterFile } from '../../unit/deploy/helpers.js';

function tree(cluster: Parameters<typeof renderCluster>[0]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'day-two-pb-'));
  for (const a of renderCluster(cluster)) {
    mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
    writeFileSync(path.join(dir, a.path), a.content);
  }
  return dir;
}

const env = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false' };
const ansible = (dir: string, inventory: string, playbook: string, args: string[]) => execFileSync('ansible-playbook', ['-i', path.join(dir, inventory), path.join(dir, playbook), ...args], { encoding: 'utf8', env });
/** Task names ansible-playbook --list-tasks prints for a run with these arguments. */
/** Play name -> hosts, from ansible-playbook --list-hosts. */
function playHosts(out: string): Record<string, string[]> {
  const plays: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of out.split('\n')) {
    const play = /^ {2}play #\d+ \([^)]*\): (.*?)\tTAGS/.exec(line) ?? /^ {2}play #\d+ \([^)]*\): (.*)$/.exec(line);
    if (play) plays[play[1]!.trim()] = current = [];
    else if (/^ {6}\S/.test(line) && current) current.push(line.trim());
  }
  for (const k of Object.keys(plays)) plays[k]!.sort();
  return plays;
}
const tasks = (out: string) =>
  out
    .split('\n')
    .filter((l) => /^ {6}\S/.test(l))
    .map((l) => l.trim().replace(/\s+TAGS: .*$/, ''));

describe('kubeadm/upgrade.yml', () => {
  const cluster = exampleWith((t) => t.replace('method: kubespray', 'method: kubeadm').replace('version: "1.35.4"', 'version: "1.35.4"'));
  const dir = tree(cluster);

  it('passes --syntax-check', () => {
    expect(ansible(dir, 'kubeadm/inventory.yaml', 'kubeadm/upgrade.yml', ['--syntax-check'])).toContain('playbook: ');
  });

  it('upgrade-apply on the first control plane: the new minor repository, kubeadm, upgrade plan, upgrade apply', () => {
    // kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade, "Upgrade the first control
    // plane node": upgrade kubeadm, "kubeadm upgrade plan", "kubeadm upgrade apply v1.35.x".
    const out = ansible(dir, 'kubeadm/inventory.yaml', 'kubeadm/upgrade.yml', ['--list-tasks', '--tags', 'upgrade-apply', '--limit', 'masternode']);
    expect(tasks(out)).toEqual([
      'pkgs.k8s.io repository of v1.35',
      'kubeadm 1.35.4 (Debian/Ubuntu; held packages changed on purpose)',
      'Hold kubeadm at 1.35.4',
      'pkgs.k8s.io repository of v1.35 (RPM)',
      'kubeadm 1.35.4 (RHEL/Rocky)',
      'kubeadm upgrade plan',
      'kubeadm upgrade apply v1.35.4',
    ]);
    // Which node each play reaches: apply only on the first control plane, upgrade node elsewhere.
    expect(playHosts(ansible(dir, 'kubeadm/inventory.yaml', 'kubeadm/upgrade.yml', ['--list-hosts']))).toEqual({
      'kubeadm upgrade apply v1.35.4 on the first control plane': ['masternode'],
      'kubeadm upgrade node on the other nodes': ['homelab', 'storagenodet3500'],
      'kubelet and kubectl v1.35.4 (the node is drained by vmstation before this)': ['homelab', 'masternode', 'storagenodet3500'],
    });
  });

  it('upgrade-node elsewhere, upgrade-kubelet everywhere (kubelet restarted)', () => {
    // Same page, "Upgrade additional control plane nodes" / "Upgrade worker nodes": "kubeadm upgrade
    // node", then kubelet and kubectl, "sudo systemctl daemon-reload; sudo systemctl restart kubelet".
    expect(tasks(ansible(dir, 'kubeadm/inventory.yaml', 'kubeadm/upgrade.yml', ['--list-tasks', '--tags', 'upgrade-node', '--limit', 'homelab'])).at(-1)).toBe('kubeadm upgrade node');
    const kubelet = tasks(ansible(dir, 'kubeadm/inventory.yaml', 'kubeadm/upgrade.yml', ['--list-tasks', '--tags', 'upgrade-kubelet', '--limit', 'homelab']));
    expect(kubelet).toContain('kubelet, kubectl 1.35.4 (Debian/Ubuntu; held packages changed on purpose)');
    expect(kubelet.at(-1)).toBe('Restart the kubelet');
  });
});

describe('rke2/upgrade.yml', () => {
  const dir = tree(loadClusterFile('test/fixtures/valid/rke2-rocky.yaml'));

  it('passes --syntax-check and re-runs the install script with INSTALL_RKE2_VERSION, then restarts the service', () => {
    // docs.rke2.io/upgrades/manual: "curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION=vX.Y.Z+rke2rN sh -",
    // then "systemctl restart rke2-server" (servers) or "rke2-agent" (agents).
    expect(ansible(dir, 'rke2/inventory.yaml', 'rke2/upgrade.yml', ['--syntax-check'])).toContain('playbook: ');
    expect(tasks(ansible(dir, 'rke2/inventory.yaml', 'rke2/upgrade.yml', ['--list-tasks', '--limit', 's2']))).toEqual(['RKE2 install script', 'Install RKE2 v1.34.2+rke2r1', "Restart rke2-{{ 'server' if inventory_hostname in groups['rke2_servers'] else 'agent' }}"]);
  });
});
