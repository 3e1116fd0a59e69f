// The stand-in's process entry as `lab up` starts it: a cluster file in, a kubeconfig, pid file and
// info file out once listening, hosts probed on their SSH port, and SIGTERM removing the files.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeHost, waitFor } from './helpers.js';

const host = new FakeHost();
let dir: string;
beforeAll(async () => {
  await host.up();
  dir = await mkdtemp(join(tmpdir(), 'kube-standin-main-'));
});
afterAll(async () => {
  await host.down();
  await rm(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

it('starts from a cluster file, writes its files, serves kubectl, and cleans up on SIGTERM', async () => {
  const cluster = join(dir, 'cluster.yaml');
  await writeFile(
    cluster,
    `apiVersion: vmstation.io/v1alpha1\nkind: Cluster\nmetadata: {name: t}\nspec:\n  ssh: {port: ${host.port}}\n  nodes:\n    - {name: masternode, address: 127.0.0.1, roles: [control-plane]}\n    - {name: homelab, address: 127.0.0.1, roles: [worker], labels: {vmstation.io/storage: "true"}}\n`,
  );
  const files = { kubeconfig: join(dir, 'kubeconfig'), pid: join(dir, 'standin.pid'), info: join(dir, 'standin.json') };
  const child = spawn(process.execPath, ['--import', 'tsx', 'lab/kube-apiserver-standin/main.ts', '--cluster-file', cluster, '--port', '0', '--kubeconfig-out', files.kubeconfig, '--pid-file', files.pid, '--info-file', files.info, '--probe-interval-ms', '100'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  try {
    await waitFor('the info file', () => existsSync(files.info), 20_000);
    const info = JSON.parse(await readFile(files.info, 'utf8')) as { url: string; port: number; pid: number };
    expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.pid).toBe(child.pid);
    expect((await readFile(files.pid, 'utf8')).trim()).toBe(String(child.pid));
    const listening = JSON.parse(log.split('\n')[0] ?? '{}') as { msg: string; url: string; nodes: string[] };
    expect(listening).toMatchObject({ msg: 'listening', url: info.url, nodes: ['masternode', 'homelab'] });
    const env = { KUBECACHEDIR: join(dir, 'cache'), HOME: dir };
    const nodes = await waitFor('both Ready in kubectl', async () => {
      const r = await run('kubectl', ['--kubeconfig', files.kubeconfig, 'get', 'nodes', '--no-headers'], env);
      const lines = r.stdout.trim().split('\n');
      return lines.length === 2 && lines.every((l) => /\sReady\s/.test(l)) ? lines : undefined;
    }, 10_000);
    expect(nodes.map((l) => l.split(/\s+/)[0])).toEqual(['homelab', 'masternode']);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(existsSync(files.pid)).toBe(false);
  expect(existsSync(files.info)).toBe(false);
  expect(log).toContain('"msg":"stopping","signal":"SIGTERM"');
});
