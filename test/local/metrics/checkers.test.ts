// Every rendered metrics file through the real tool that reads it: promtool (config, rules, rule
// unit tests), amtool, blackbox_exporter --config.check, the Kubernetes OpenAPI schema, and the
// IPMI credential filler through a real awk.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderMetrics } from '../../../src/render/metrics/index.js';
import { FILL_CREDENTIALS_AWK, ipmiConfigText } from '../../../src/render/metrics/exporters.js';
import { validateKubeObjects } from '../../helpers/kube-schema.js';
import { caseNames, ruleTestFiles } from '../../unit/metrics/rule-tests.js';
import { EXAMPLE, FULL_FIXTURE, loadCluster, run, runWithServiceAccount, swapKubernetesSd, tempDir, writeTree } from '../../unit/metrics/support.js';

const clusters = { example: loadCluster(EXAMPLE), full: loadCluster(FULL_FIXTURE) };
const dirs: Record<string, string> = {};

beforeAll(() => {
  for (const [name, cluster] of Object.entries(clusters)) dirs[name] = writeTree(tempDir(`metrics-${name}`), renderMetrics(cluster));
});
afterAll(() => {
  for (const d of Object.values(dirs)) rmSync(d, { recursive: true, force: true });
});

describe.each(Object.keys(clusters))('%s cluster', (name) => {
  const dir = () => dirs[name]!;
  const promDir = () => path.join(dir(), 'configs/prometheus');

  it('promtool check config: the rendered prometheus.yml fails only on Debian promtool lacking Kubernetes SD', () => {
    const r = runWithServiceAccount('promtool check config prometheus.yml', promDir());
    const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /^\s+line \d+:/.test(l));
    // Debian builds Prometheus without Kubernetes service discovery (client-go is not packaged):
    // its promtool rejects exactly the kubernetes_sd_configs keys and nothing else.
    expect(r.code).toBe(1);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) expect(e).toMatch(/field kubernetes_sd_configs not found in type config\.ScrapeConfig/);
  });

  it('promtool check config: with discovery swapped for static targets the config and every rule file pass', () => {
    const swapped = swapKubernetesSd(readFileSync(path.join(promDir(), 'prometheus.yml'), 'utf8'));
    writeFileSync(path.join(promDir(), 'prometheus.swapped.yml'), swapped);
    const r = runWithServiceAccount('promtool check config prometheus.swapped.yml', promDir());
    expect(r.stderr + r.stdout).toContain('is valid prometheus config file syntax');
    expect(r.stdout).toContain('SUCCESS: 7 rule files found');
    expect(r.code, r.stderr).toBe(0);
  });

  it('promtool check rules on every rule file', () => {
    const files = readdirSync(path.join(promDir(), 'rules')).map((f) => `rules/${f}`);
    expect(files.sort()).toEqual(['rules/etcd.yaml', 'rules/kubernetes.yaml', 'rules/logging.yaml', 'rules/monitoring.yaml', 'rules/node.yaml', 'rules/power.yaml', 'rules/time-sync.yaml']);
    const r = run('promtool', ['check', 'rules', ...files], promDir());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const counts = [...r.stdout.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => Number(m[1]));
    expect(counts).toHaveLength(7);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40);
  });

  it('amtool check-config on alertmanager.yml', () => {
    const r = run('amtool', ['check-config', path.join(dir(), 'configs/alertmanager/alertmanager.yml')]);
    expect(r.stdout).toContain('SUCCESS');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('blackbox_exporter --config.check on blackbox.yml', () => {
    const r = run('prometheus-blackbox-exporter', ['--config.check', `--config.file=${path.join(dir(), 'configs/blackbox/blackbox.yml')}`]);
    expect(r.stderr).toContain('Config file is ok');
    expect(r.code, r.stderr).toBe(0);
  });

  it('every manifest object is valid against the Kubernetes OpenAPI schema', () => {
    const files = readdirSync(path.join(dir(), 'manifests'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expect(validateKubeObjects(readFileSync(path.join(dir(), 'manifests', f), 'utf8')), f).toEqual([]);
  });
});

describe('Alertmanager routing (amtool config routes test on the rendered file)', () => {
  const route = (...labels: string[]) => {
    const r = run('amtool', ['config', 'routes', 'test', `--config.file=${path.join(dirs.full!, 'configs/alertmanager/alertmanager.yml')}`, ...labels]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  it('sends each severity to its receiver, the Watchdog to the heartbeat, the rest nowhere', () => {
    expect(route('alertname=NodeExporterDown', 'severity=critical', 'node=worker1')).toBe('severity-critical');
    expect(route('alertname=HighNodeCPU', 'severity=warning', 'node=worker1')).toBe('severity-warning');
    expect(route('alertname=NodePowerStateUnknown', 'severity=info')).toBe('severity-info');
    expect(route('alertname=Watchdog', 'severity=none')).toBe('heartbeat');
    expect(route('alertname=Other', 'severity=none')).toBe('null');
  });
  it('a receiver missing what Alertmanager needs is refused at render time, not at apply time', () => {
    const cluster = loadCluster(FULL_FIXTURE);
    const receivers = cluster.spec.monitoring.alertmanager.receivers.map((r) => (r.type === 'email' ? { ...r, smarthost: undefined } : r));
    const broken = { ...cluster, spec: { ...cluster.spec, monitoring: { ...cluster.spec.monitoring, alertmanager: { ...cluster.spec.monitoring.alertmanager, receivers } } } };
    expect(() => renderMetrics(broken as typeof cluster)).toThrow(/email receiver "mail" needs `smarthost`/);
  });
});

describe('the checkers catch mistakes (negative controls)', () => {
  it('promtool rejects a rule file with a broken expression, amtool an unknown receiver, blackbox an unknown field', () => {
    const dir = tempDir('metrics-negative');
    writeFileSync(path.join(dir, 'bad-rules.yaml'), 'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: up{job="x" == 0\n');
    expect(run('promtool', ['check', 'rules', path.join(dir, 'bad-rules.yaml')]).code).not.toBe(0);
    const am = readFileSync(path.join(dirs.full!, 'configs/alertmanager/alertmanager.yml'), 'utf8').replace('receiver: severity-warning', 'receiver: no-such-receiver');
    writeFileSync(path.join(dir, 'am.yml'), am);
    expect(run('amtool', ['check-config', path.join(dir, 'am.yml')]).code).not.toBe(0);
    const bb = readFileSync(path.join(dirs.full!, 'configs/blackbox/blackbox.yml'), 'utf8').replace('follow_redirects: true', 'follow_redirect: true');
    writeFileSync(path.join(dir, 'bb.yml'), bb);
    expect(run('prometheus-blackbox-exporter', ['--config.check', `--config.file=${path.join(dir, 'bb.yml')}`]).code).not.toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('promtool test rules', () => {
  it('every group has unit tests, with "asleep -> no alert" and "awake -> alert" pairs for node-down rules', () => {
    const names = caseNames();
    expect(Object.keys(names).sort()).toEqual(['etcd', 'kubernetes', 'logging', 'monitoring', 'node', 'power', 'time-sync']);
    for (const list of Object.values(names)) expect(list.length).toBeGreaterThanOrEqual(5);
    const all = Object.values(names).flat();
    for (const alert of ['NodeExporterDown', 'NodeUnreachable', 'KubeNodeNotReady', 'KubeNodeUnreachable', 'KubeletDown', 'TargetDown', 'BlackboxProbeFailed', 'LogShipperDown']) {
      expect(all.some((n) => /asleep/.test(n) && n.includes(`no ${alert}`)), alert).toBe(true);
      expect(all.some((n) => /while awake/.test(n) && n.endsWith(alert)), alert).toBe(true);
    }
  });

  it('all rule unit tests pass against the rendered rules of the example', () => {
    const testsDir = path.join(dirs.example!, 'configs/prometheus/tests');
    mkdirSync(testsDir, { recursive: true });
    const files = Object.entries(ruleTestFiles(clusters.example)).map(([group, content]) => {
      writeFileSync(path.join(testsDir, `${group}.yaml`), stringify(content, { lineWidth: 0 }));
      return `tests/${group}.yaml`;
    });
    const r = run('promtool', ['test', 'rules', ...files], path.join(dirs.example!, 'configs/prometheus'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/SUCCESS/g)).toHaveLength(7);
  });
});

describe('IPMI credentials', () => {
  it('the init container program fills credentials from files (POSIX awk), quoting for YAML', () => {
    const dir = tempDir('ipmi-awk');
    const creds = path.join(dir, 'creds');
    mkdirSync(creds);
    const cluster = loadCluster(FULL_FIXTURE);
    const text = ipmiConfigText(cluster).replaceAll('/etc/ipmi-exporter/credentials', creds);
    expect(text).not.toMatch(/s3cr/);
    writeFileSync(path.join(dir, 'ipmi.yml'), text);
    writeFileSync(path.join(dir, 'fill.awk'), FILL_CREDENTIALS_AWK);
    const values: Record<string, string> = { 'bmc-worker1-user': 'admin', 'bmc-worker1-password': "s3cr'et \"x\" \\y", 'bmc-worker2-user': 'root', 'bmc-worker2-password': 's3cret2' };
    for (const [k, v] of Object.entries(values)) writeFileSync(path.join(creds, k), `${v}\n`);
    const out = path.join(dir, 'out.yml');
    const r = run('awk', ['-v', `out=${out}`, '-f', path.join(dir, 'fill.awk'), path.join(dir, 'ipmi.yml')]);
    expect(r.code, r.stderr).toBe(0);
    const filled = readFileSync(out, 'utf8');
    const parsed = parse(filled) as { modules: Record<string, { user?: string; pass?: string; workaround_flags?: string[] }> };
    expect(parsed.modules.worker1).toMatchObject({ user: 'admin', pass: "s3cr'et \"x\" \\y", workaround_flags: ['opensesspriv'] });
    expect(parsed.modules.worker2).toMatchObject({ user: 'root', pass: 's3cret2' });
    // A missing credential file stops the init container instead of starting with an empty password.
    rmSync(path.join(creds, 'bmc-worker2-password'));
    const missing = run('awk', ['-v', `out=${out}`, '-f', path.join(dir, 'fill.awk'), path.join(dir, 'ipmi.yml')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('cannot read');
    rmSync(dir, { recursive: true, force: true });
  });
});

