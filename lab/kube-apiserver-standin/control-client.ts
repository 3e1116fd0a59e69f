// A client for the stand-in's /_standin control endpoints (fault injection, request log, stats),
// for tests that drive the stand-in `lab up` started: it reads the server URL and CA from the
// kubeconfig, so it trusts the stand-in's self-signed certificate and nothing else.
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { parse } from 'yaml';
import type { FaultRule, FaultRuleInput } from './faults.js';
import type { RequestRecord } from './server.js';

export interface StandinControl {
  url: string;
  addFault(rule: FaultRuleInput): Promise<FaultRule>;
  clearFaults(): Promise<void>;
  faults(): Promise<{ rules: FaultRule[]; openWatches: number; injected: number }>;
  /** Ends open watches (matching a path substring); resolves to how many. */
  dropWatches(path?: string): Promise<number>;
  /** The next `count` watches (matching path) get 410 Expired. */
  expireWatches(count?: number, path?: string): Promise<void>;
  /** Forgets the watch history (re-watches from older resourceVersions get 410). */
  compact(): Promise<void>;
  requests(): Promise<RequestRecord[]>;
  stats(): Promise<Record<string, unknown>>;
  /** The kubelet emulator: a host joins, its kubelet restarts on another version, or stops. */
  addKubelet(node: { name: string; address?: string; sshPort?: number; roles?: string[]; kubeletVersion?: string }): Promise<void>;
  setKubeletVersion(name: string, kubeletVersion: string): Promise<void>;
  removeKubelet(name: string): Promise<void>;
  /** What /version reports (the API server's version). */
  setVersion(gitVersion: string): Promise<void>;
}

interface KubeconfigDoc {
  clusters?: Array<{ cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
}

export async function standinControl(kubeconfigPath: string): Promise<StandinControl> {
  const doc = parse(await readFile(kubeconfigPath, 'utf8')) as KubeconfigDoc;
  const cluster = doc.clusters?.[0]?.cluster;
  const url = cluster?.server;
  if (url === undefined) throw new Error(`${kubeconfigPath}: no cluster server`);
  const caData = cluster?.['certificate-authority-data'];
  const ca = caData === undefined ? undefined : Buffer.from(caData, 'base64').toString('utf8');
  const call = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const target = new URL(path, url);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(target, { method, ca, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`stand-in control ${method} ${path}: HTTP ${res.statusCode}: ${text}`));
          else resolve(JSON.parse(text) as T);
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  return {
    url,
    addFault: async (rule) => (await call<{ rules: FaultRule[] }>('POST', '/_standin/faults', rule)).rules[0] as FaultRule,
    clearFaults: async () => {
      await call('DELETE', '/_standin/faults');
    },
    faults: () => call('GET', '/_standin/faults'),
    dropWatches: async (path) => (await call<{ dropped: number }>('POST', '/_standin/faults/drop-watches', path === undefined ? {} : { path })).dropped,
    expireWatches: async (count = 1, path) => {
      await call('POST', '/_standin/faults/expire-watches', { count, ...(path !== undefined ? { path } : {}) });
    },
    compact: async () => {
      await call('POST', '/_standin/faults/compact', {});
    },
    requests: async () => (await call<{ requests: RequestRecord[] }>('GET', '/_standin/requests')).requests,
    stats: () => call('GET', '/_standin/stats'),
    addKubelet: async (node) => {
      await call('POST', '/_standin/kubelets', node);
    },
    setKubeletVersion: async (name, kubeletVersion) => {
      await call('POST', `/_standin/kubelets/${encodeURIComponent(name)}/version`, { kubeletVersion });
    },
    removeKubelet: async (name) => {
      await call('DELETE', `/_standin/kubelets/${encodeURIComponent(name)}`);
    },
    setVersion: async (gitVersion) => {
      await call('PUT', '/_standin/version', { gitVersion });
    },
  };
}
