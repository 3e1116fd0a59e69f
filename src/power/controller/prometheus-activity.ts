// CPU and network activity per node from Prometheus (node_exporter metrics), when a Prometheus
// URL is configured. Series are matched to nodes by the address in their `instance` label.
import type { Cluster } from '../../config/model.js';
import type { NodeActivity } from '../core/types.js';
import type { ActivitySource } from './controller.js';

export const CPU_QUERY = '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))';
export const NETWORK_QUERY = 'sum by (instance) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|cali.*|flannel.*|cni.*|docker.*|tunl.*|vxlan.*"}[5m]) + rate(node_network_transmit_bytes_total{device!~"lo|veth.*|cali.*|flannel.*|cni.*|docker.*|tunl.*|vxlan.*"}[5m]))';

interface VectorResult {
  status: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  error?: string;
}

export type FetchFn = (url: string, init?: { signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export function prometheusActivity(cluster: Cluster, baseUrl: string, opts: { fetch?: FetchFn; timeoutMs?: number } = {}): ActivitySource {
  const f = opts.fetch ?? (fetch as unknown as FetchFn);
  const byAddress = new Map(cluster.spec.nodes.map((n) => [n.address, n.name]));
  const byName = new Set(cluster.spec.nodes.map((n) => n.name));
  const nodeOf = (instance: string | undefined): string | undefined => {
    if (!instance) return undefined;
    const host = instance.replace(/:\d+$/, '');
    return byAddress.get(host) ?? (byName.has(host) ? host : undefined);
  };
  const query = async (q: string): Promise<Map<string, number>> => {
    const url = `${baseUrl.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(q)}`;
    const res = await f(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    const body = (await res.json()) as VectorResult;
    if (!res.ok || body.status !== 'success' || !body.data) throw new Error(`Prometheus query failed (HTTP ${res.status}): ${body.error ?? 'no data'}`);
    const out = new Map<string, number>();
    for (const s of body.data.result) {
      const node = nodeOf(s.metric['instance']);
      const v = Number(s.value[1]);
      if (node && Number.isFinite(v)) out.set(node, v);
    }
    return out;
  };
  return {
    async fetch() {
      const [cpu, net] = await Promise.all([query(CPU_QUERY), query(NETWORK_QUERY)]);
      const out: Record<string, NodeActivity> = {};
      for (const name of byName) {
        const a: NodeActivity = {};
        if (cpu.has(name)) a.cpuFraction = cpu.get(name);
        if (net.has(name)) a.networkBytesPerSecond = net.get(name);
        if (a.cpuFraction !== undefined || a.networkBytesPerSecond !== undefined) out[name] = a;
      }
      return out;
    },
  };
}
