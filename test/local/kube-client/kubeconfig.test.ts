// Reading kubeconfigs the way kubectl does: relative paths, *-data fields, tokens, token files,
// exec plugins, $KUBECONFIG merging, --context, in-cluster service accounts, and clear errors.
import { chmodSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVmstationError } from '../../../src/errors.js';
import { inClusterConnection, loadConnection } from '../../../src/adapters/kube/kubeconfig.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-kubeconfig-'));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

function config(user: string, extra = ''): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster: { server: "https://10.78.0.10:6443/", certificate-authority: pki/ca.crt }
  - name: other
    cluster: { server: "https://10.78.0.20:6443", insecure-skip-tls-verify: true }
users:
  - name: admin
    user: ${user}
contexts:
  - name: lab-admin
    context: { cluster: lab, user: admin, namespace: power }
  - name: other-admin
    context: { cluster: other, user: admin }
current-context: lab-admin
${extra}`;
}

function errorOf(fn: () => unknown): { code: string; message: string; hint: string | undefined } {
  try {
    fn();
  } catch (err) {
    if (isVmstationError(err)) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('expected an error');
}

describe('loadConnection', () => {
  write('cfg1/pki/ca.crt', 'CA-PEM');
  write('cfg1/pki/admin.crt', 'CERT-PEM');

  it('resolves relative paths against the kubeconfig, reads *-data, and takes the context namespace', async () => {
    const file = write('cfg1/config', config(`{ client-certificate: pki/admin.crt, client-key-data: ${Buffer.from('KEY-PEM').toString('base64')} }`));
    const c = loadConnection({ kubeconfig: file }, {});
    expect(c.server).toBe('https://10.78.0.10:6443');
    expect(c.namespace).toBe('power');
    expect(c.ca?.toString()).toBe('CA-PEM');
    expect(c.cert?.toString()).toBe('CERT-PEM');
    expect(c.key?.toString()).toBe('KEY-PEM');
    expect(c.insecureSkipTlsVerify).toBe(false);
    expect(await c.authorization()).toBeUndefined();
  });

  it('uses --context over current-context', () => {
    const file = write('cfg1/config-ctx', config('{ token: abc }'));
    const c = loadConnection({ kubeconfig: file, context: 'other-admin' }, {});
    expect(c.server).toBe('https://10.78.0.20:6443');
    expect(c.insecureSkipTlsVerify).toBe(true);
    expect(c.namespace).toBe('default');
  });

  it('sends a token, a token file (re-read as it rotates) or basic credentials', async () => {
    expect(await loadConnection({ kubeconfig: write('cfg1/tok', config('{ token: abc }')) }, {}).authorization()).toBe('Bearer abc');
    write('cfg1/token-file', 'from-file\n');
    expect(await loadConnection({ kubeconfig: write('cfg1/tokfile', config('{ tokenFile: token-file }')) }, {}).authorization()).toBe('Bearer from-file');
    expect(await loadConnection({ kubeconfig: write('cfg1/basic', config('{ username: u, password: p }')) }, {}).authorization()).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('runs an exec credential plugin with its args and env, and caches the token until it expires', async () => {
    const counter = path.join(dir, 'exec-count');
    const plugin = write(
      'cfg1/bin/get-token',
      `#!/bin/sh\necho x >> ${counter}\necho "{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"$1-$PLUGIN_ENV\\",\\"expirationTimestamp\\":\\"2999-01-01T00:00:00Z\\"}}"\n`,
    );
    chmodSync(plugin, 0o755);
    const file = write('cfg1/exec', config('{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ./bin/get-token, args: [tok], env: [{ name: PLUGIN_ENV, value: lab }] } }'));
    const c = loadConnection({ kubeconfig: file }, {});
    expect(await c.authorization()).toBe('Bearer tok-lab');
    expect(await c.authorization()).toBe('Bearer tok-lab');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('merges $KUBECONFIG files: the first to define a name or current-context wins', () => {
    const a = write('merge/a', `clusters: [{ name: lab, cluster: { server: "https://10.78.0.1:6443" } }]\nusers: [{ name: admin, user: { token: first } }]\n`);
    const b = write('merge/b', config('{ token: second }').replace('certificate-authority: pki/ca.crt', 'insecure-skip-tls-verify: true'));
    const c = loadConnection({}, { KUBECONFIG: `${a}:${path.join(dir, 'merge/missing')}:${b}`, HOME: dir });
    expect(c.server).toBe('https://10.78.0.1:6443');
    expect(c.source).toContain('lab-admin');
  });

  it('falls back to ~/.kube/config, then to in-cluster', () => {
    const home = path.join(dir, 'home');
    write('home/.kube/config', config('{ token: t }').replace('certificate-authority: pki/ca.crt', 'insecure-skip-tls-verify: true'));
    expect(loadConnection({}, { HOME: home }).server).toBe('https://10.78.0.10:6443');
    const e = errorOf(() => loadConnection({}, { HOME: path.join(dir, 'nohome') }));
    expect(e.code).toBe('kubeconfig-missing');
    expect(e.hint).toContain('--kubeconfig');
  });

  it('says which file and what is wrong: missing file, no such context, undefined cluster, auth-provider', () => {
    expect(errorOf(() => loadConnection({ kubeconfig: path.join(dir, 'absent') }, {})).code).toBe('kubeconfig-missing');
    const file = write('cfg1/bad-ctx', config('{ token: t }'));
    const noCtx = errorOf(() => loadConnection({ kubeconfig: file, context: 'nope' }, {}));
    expect(noCtx).toMatchObject({ code: 'kubeconfig-invalid' });
    expect(noCtx.message).toContain(`${file}: no context named "nope"`);
    expect(noCtx.hint).toBe('contexts: lab-admin, other-admin');
    const noCluster = write('cfg1/no-cluster', 'contexts: [{ name: c, context: { cluster: gone, user: u } }]\ncurrent-context: c\n');
    expect(errorOf(() => loadConnection({ kubeconfig: noCluster }, {})).message).toContain('names cluster "gone", which is not defined');
    const provider = write('cfg1/provider', config('{ auth-provider: { name: oidc } }'));
    expect(errorOf(() => loadConnection({ kubeconfig: provider }, {})).message).toContain('auth-provider (oidc)');
    const notYaml = write('cfg1/not-yaml', 'clusters: [unclosed');
    expect(errorOf(() => loadConnection({ kubeconfig: notYaml }, {})).code).toBe('kubeconfig-invalid');
    const badCa = write('cfg2/config', config('{ token: t }'));
    expect(errorOf(() => loadConnection({ kubeconfig: badCa }, {})).message).toContain('certificate-authority');
  });
});

describe('inClusterConnection', () => {
  it('reads the service account token, CA and namespace, and brackets an IPv6 service host', async () => {
    const sa = path.join(dir, 'sa');
    write('sa/token', 'sa-token');
    write('sa/ca.crt', 'SA-CA');
    write('sa/namespace', 'vmstation-system');
    const c = inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(c.server).toBe('https://[fd00::1]:443');
    expect(c.namespace).toBe('vmstation-system');
    expect(c.ca?.toString()).toBe('SA-CA');
    expect(await c.authorization()).toBe('Bearer sa-token');
  });

  it('explains when not running in a pod', () => {
    expect(errorOf(() => inClusterConnection({}, path.join(dir, 'sa'))).code).toBe('not-in-cluster');
    expect(errorOf(() => inClusterConnection({ KUBERNETES_SERVICE_HOST: '10.78.0.1', KUBERNETES_SERVICE_PORT: '443' }, path.join(dir, 'no-sa'))).message).toContain('no service account token');
  });
});
