// Shared helpers for the Kubernetes API stand-in tests: an in-process stand-in on port 0, the
// real kubectl with a private cache dir, loopback TCP listeners that play a host's sshd
// (open = host up, closed = host down), and polling with a deadline.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStandin, type Standin, type StandinOptions } from '../../../lab/kube-apiserver-standin/index.js';

export interface TestStandin {
  standin: Standin;
  kubeconfig: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestStandin(opts: StandinOptions = {}): Promise<TestStandin> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-standin-'));
  const standin = await startStandin(opts);
  const kubeconfig = join(dir, 'kubeconfig');
  await standin.writeKubeconfig(kubeconfig);
  return {
    standin,
    kubeconfig,
    dir,
    stop: async () => {
      await standin.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the real kubectl against the stand-in, with a private KUBECACHEDIR (see README). */
export function kubectl(t: TestStandin, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', t.kubeconfig, ...args], {
      env: { ...process.env, KUBECACHEDIR: join(t.dir, 'kube-cache'), HOME: t.dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export async function kubectlOk(t: TestStandin, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await kubectl(t, args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A loopback TCP listener standing in for a host's sshd: up() accepts, down() refuses. */
export class FakeHost {
  private server: net.Server | undefined;
  port = 0;

  async up(): Promise<void> {
    if (this.server !== undefined) return;
    const server = net.createServer((s) => s.end());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

/** One raw HTTPS request to the stand-in (trusting its certificate), for status-code tests. */
export function api(t: TestStandin, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const url = new URL(path, t.standin.url);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: t.standin.caCert,
        headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
