// The managed known_hosts path: normalisation fills in the default once, every reader (the
// rendered ansible.cfg, deploy's SSH pool, the power drivers) takes it from the model, and `~` is
// expanded by one function against $HOME of the given environment.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KNOWN_HOSTS } from '../../../src/config/model.js';
import { validateText } from '../../../src/config/validate.js';
import { knownHostsPathOf, sshTargetFor } from '../../../src/deploy/ssh-pool.js';
import { sshTargetOf } from '../../../src/power/drivers/index.js';
import { ansibleRenderer } from '../../../src/render/ansible/index.js';
import { expandHome, homeDir } from '../../../src/util/home.js';

const root = path.resolve(import.meta.dirname, '../../..');
const example = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8');

function cluster(text: string) {
  const r = validateText({ file: 'test.yaml', text });
  if (!r.cluster) throw new Error(JSON.stringify(r.problems));
  return r.cluster;
}

const withKnownHosts = (p: string) => example.replace('    privateKey: ~/.ssh/id_ed25519\n', `    privateKey: ~/.ssh/id_ed25519\n    knownHosts: ${p}\n`);

function ansibleCfg(c: ReturnType<typeof cluster>): string {
  return ansibleRenderer.render(c).find((a) => a.path === 'ansible/ansible.cfg')!.content;
}

describe('known_hosts path', () => {
  it('is filled in by normalisation when the cluster file names none', () => {
    const c = cluster(example);
    expect(example).not.toContain('knownHosts');
    expect(c.spec.ssh.knownHosts).toBe('~/.config/vmstation/known_hosts');
    expect(DEFAULT_KNOWN_HOSTS).toBe('~/.config/vmstation/known_hosts');
  });

  it('resolves to the same file for deploy, the power drivers and the rendered ansible.cfg', () => {
    const c = cluster(example);
    const env = { HOME: '/home/alice' };
    expect(knownHostsPathOf(c, env)).toBe('/home/alice/.config/vmstation/known_hosts');
    const node = c.spec.nodes[0]!;
    // The drivers and the SSH pool run in this process: $HOME of process.env.
    expect(sshTargetOf(c, node, {}).knownHostsPath).toBe(path.join(homeDir(), '.config/vmstation/known_hosts'));
    expect(sshTargetFor(c, node).knownHostsPath).toBe(sshTargetOf(c, node, {}).knownHostsPath);
    // ansible.cfg keeps `~` (ssh expands it), so the render does not depend on who renders it.
    expect(ansibleCfg(c)).toContain("-o UserKnownHostsFile=~/.config/vmstation/known_hosts");
  });

  it('keeps the path the cluster file names, expanding ~ only where the file is opened', () => {
    const c = cluster(withKnownHosts('~/lab/known_hosts'));
    expect(c.spec.ssh.knownHosts).toBe('~/lab/known_hosts');
    expect(knownHostsPathOf(c, { HOME: '/home/bob' })).toBe('/home/bob/lab/known_hosts');
    expect(ansibleCfg(c)).toContain('-o UserKnownHostsFile=~/lab/known_hosts');
    const abs = cluster(withKnownHosts('/etc/vmstation/known_hosts'));
    expect(knownHostsPathOf(abs, { HOME: '/home/bob' })).toBe('/etc/vmstation/known_hosts');
    expect(sshTargetOf(abs, abs.spec.nodes[0]!, {}).knownHostsPath).toBe('/etc/vmstation/known_hosts');
    expect(sshTargetOf(abs, abs.spec.nodes[0]!, { knownHostsPath: '/run/secrets/known_hosts' }).knownHostsPath).toBe('/run/secrets/known_hosts');
  });

  it('expands only a leading ~ or ~/', () => {
    expect(expandHome('~', { HOME: '/h' })).toBe('/h');
    expect(expandHome('~/x', { HOME: '/h' })).toBe('/h/x');
    expect(expandHome('~bob/x', { HOME: '/h' })).toBe('~bob/x');
    expect(expandHome('a/~/x', { HOME: '/h' })).toBe('a/~/x');
  });
});
