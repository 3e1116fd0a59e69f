import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationSeconds, isDuration } from '../../../src/config/duration.js';
import { hasSharedFolder, sharedFile } from '../../helpers/shared-dir.js';
import { KUBESPRAY_KUBE_VERSIONS } from '../../../src/config/data/kubespray-versions.js';
import { etcdMembers } from '../../../src/config/model.js';
import { broadcastAddress } from '../../../src/config/ipv4.js';
import { validateText } from '../../../src/config/validate.js';

const root = path.resolve(import.meta.dirname, '../../..');
const example = readFileSync(path.join(root, 'examples/vmstation.yaml'), 'utf8');

describe('durations', () => {
  it.each([
    ['30m', 1800],
    ['2h', 7200],
    ['1h30m', 5400],
    ['30d', 2592000],
    ['1w', 604800],
    ['45s', 45],
  ])('%s is %i seconds', (text, seconds) => {
    expect(durationSeconds(text)).toBe(seconds);
  });
  it.each(['30 minutes', '', 'm', '1.5h', '30M', 'h1'])('%j does not parse', (text) => {
    expect(isDuration(text)).toBe(false);
    expect(() => durationSeconds(text)).toThrow(/not a duration/);
  });
});

describe('the bundled example', () => {
  it('validates without errors and resolves every default', () => {
    const { cluster, problems } = validateText({ file: 'examples/vmstation.yaml', text: example });
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(cluster).toBeDefined();
    const spec = cluster!.spec;
    expect(spec.nodes.map((n) => n.name)).toEqual(['masternode', 'storagenodet3500', 'homelab']);
    expect(spec.nodes[2]!.ssh).toEqual({ user: 'admin', port: 22, privateKey: '~/.ssh/id_ed25519' });
    expect(spec.nodes[0]!.ssh.user).toBe('root');
    expect(spec.infrastructure.kerberos.realm).toBe('VMSTATION.LOCAL');
    expect(spec.infrastructure.kerberos.kdc).toBe('masternode');
    expect(spec.infrastructure.firewall.sshFrom).toEqual(['192.168.4.0/24']);
    expect(spec.power.wol.broadcast).toBe('192.168.4.255');
    // Issue 17 §4: Alertmanager's and Loki's write paths stay in the cluster unless the file exposes them.
    expect(spec.monitoring.alertmanager.nodePort).toBeUndefined();
    expect(spec.monitoring.loki.nodePort).toBeUndefined();
    expect(etcdMembers(spec.nodes).map((n) => n.name)).toEqual(['masternode']);
  });

  it('reports defaults for an unset monitoring node as the first control plane', () => {
    const text = example.replace('    node: masternode\n', '');
    const { cluster } = validateText({ file: 'x.yaml', text });
    expect(cluster?.spec.monitoring.node).toBe('masternode');
  });
});

describe('broadcast addresses', () => {
  it.each([
    ['10.78.0.0/24', '10.78.0.255'],
    ['192.168.4.0/22', '192.168.7.255'],
    ['10.0.0.0/8', '10.255.255.255'],
  ])('%s -> %s', (cidr, bcast) => expect(broadcastAddress(cidr)).toBe(bcast));
});

describe('Kubespray data', () => {
  const listed = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  it('the embedded version list is the one in test/data (Kubespray v2.31.0, kubelet_checksums.amd64)', () => {
    expect([...KUBESPRAY_KUBE_VERSIONS]).toEqual(listed(path.join(root, 'test/data/kubespray-v2.31.0/kube-versions.txt')));
  });

  // Reported as skipped, not passed, in a clone with no shared folder beside it.
  it.skipIf(!hasSharedFolder())('test/data holds the same list as the project\'s shared/data (skipped where no shared folder is beside the checkout)', () => {
    expect(listed(path.join(root, 'test/data/kubespray-v2.31.0/kube-versions.txt'))).toEqual(listed(sharedFile('data/kubespray-v2.31.0/kube-versions.txt')));
  });
});

describe('valid fixtures', () => {
  for (const name of ['minimal.yaml', 'rke2-rocky.yaml']) {
    it(`${name} has no errors`, () => {
      const text = readFileSync(path.join(root, 'test/fixtures/valid', name), 'utf8');
      const { problems, cluster } = validateText({ file: name, text });
      expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
      expect(cluster).toBeDefined();
    });
  }

  it('collects every problem at once, sorted by position', () => {
    const text = example
      .replace('mac: "02:00:c0:a8:04:3d"', 'mac: "02:00:c0:a8:04"')
      .replace('idleAfter: 30m', 'idleAfter: 30 minutes')
      .replace('anonymousRole: Viewer', 'anonymousRole: viewer');
    const { problems } = validateText({ file: 'x.yaml', text });
    expect(problems.map((p) => p.code)).toEqual(['invalid-mac', 'invalid-value', 'invalid-duration']);
    const lines = problems.map((p) => p.line);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  it('warns (not errors) about a sleeper without power figures', () => {
    const text = example.replace('        watts: { awake: 90, asleep: 4 }\n', '');
    const { problems, cluster } = validateText({ file: 'x.yaml', text });
    expect(cluster).toBeDefined();
    expect(problems).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'no-watts' }));
  });

  it('warns (not errors) that Promtail is end-of-life, where the file chose it, and points to Alloy', () => {
    // grafana/loki@v3.6.10:docs/sources/send-data/promtail/_index.md (EOL 2026-03-02).
    const text = example.replace('    logShipper: alloy\n', '    logShipper: promtail\n');
    const { problems, cluster } = validateText({ file: 'x.yaml', text });
    expect(cluster?.spec.monitoring.logShipper).toBe('promtail');
    const eol = problems.find((p) => p.code === 'promtail-eol');
    expect(eol).toMatchObject({ severity: 'warning', line: expect.any(Number) });
    expect(eol!.message).toContain('2026-03-02');
    expect(eol!.hint).toContain('logShipper: alloy');
    expect(validateText({ file: 'x.yaml', text: example }).problems.some((p) => p.code === 'promtail-eol')).toBe(false);
  });

  it('warns (not errors) about a second power manager replica with only one control-plane node', () => {
    const text = example.replace(/^ {2}power:\n/m, '  power:\n    controller: { replicas: 2 }\n');
    const { problems, cluster } = validateText({ file: 'x.yaml', text });
    expect(cluster?.spec.power.controller.replicas).toBe(2);
    expect(problems).toContainEqual(expect.objectContaining({ severity: 'warning', code: 'replica-without-node', line: expect.any(Number) }));
  });

  it('checks secret references against the secrets file when it could be opened', () => {
    const { problems } = validateText({ file: 'x.yaml', text: example, secretNames: new Set(['grafana-admin-password']) });
    expect(problems).toContainEqual(expect.objectContaining({ severity: 'error', code: 'secret-not-found', message: expect.stringContaining('power-api-token') }));
    const ok = validateText({ file: 'x.yaml', text: example, secretNames: new Set(['grafana-admin-password', 'power-api-token']) });
    expect(ok.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });
});

describe('cron windows', async () => {
  const { cronProblem } = await import('../../../src/config/cron.js');
  it.each(['0 18 * * 1-5', '*/15 * * * *', '30 22 * * sat,sun', '0 0 1 jan *', '0 6-9/2 * * mon-fri'])('%s is valid', (expr) => {
    expect(cronProblem(expr)).toBeUndefined();
  });
  it.each([
    ['0 25 * * *', /hour "25"/],
    ['0 18 * *', /has 4 field/],
    ['0 18 * * fri-xyz', /day of week "xyz"/],
    ['*/x * * * *', /step must be a number/],
    // Accepted by the hand-written check this replaced, then thrown on by the controller.
    ['0 0 31 2 *', /never fires/],
    ['0 0 30 2 *', /never fires/],
    ['*/0 * * * *', /minute "\*\/0": a step of 0 never repeats/],
    ['5-1 * * * *', /minute "5-1": the range 5-1 runs backwards/],
    ['0 0 * * 7-1', /day of week "7-1": the range 7-1 runs backwards/],
    ['H 22 * * *', /minute "H": hashed values/],
    ['0 0 1 1 * *', /has 6 field/],
    ['@daily', /has 1 field/],
  ])('%s is not', (expr, why) => {
    expect(cronProblem(expr)).toMatch(why);
  });

  it('fires rarely but fires: 29 February, the fifth Monday of February', () => {
    expect(cronProblem('0 0 29 2 *')).toBeUndefined();
    expect(cronProblem('0 0 * 2 1#5')).toBeUndefined();
  });

  it('is the implementation the power core evaluates: what it refuses, the windows refuse too', async () => {
    const { cronOccurrences, CronError } = await import('../../../src/config/cron.js');
    const { checkWindow, WindowError } = await import('../../../src/power/core/windows.js');
    const from = Date.parse('2026-03-02T00:00:00Z');
    for (const bad of ['0 0 31 2 *', '*/0 * * * *', '5-1 * * * *', 'H 22 * * *']) {
      expect(() => cronOccurrences(bad, 'UTC', from, from + 86_400_000)).toThrow(CronError);
      expect(() => checkWindow({ start: bad, durationSeconds: 60 }, 'UTC')).toThrow(WindowError);
    }
    // Europe/Berlin: 18:00 local is 17:00 UTC in winter.
    expect(cronOccurrences('0 18 * * *', 'Europe/Berlin', from, from + 2 * 86_400_000).map((t) => new Date(t).toISOString())).toEqual(['2026-03-02T17:00:00.000Z', '2026-03-03T17:00:00.000Z']);
    expect(() => cronOccurrences('0 18 * * *', 'Mars/Olympus', from, from + 86_400_000)).toThrow(/not a time zone/);
  });
});
