// Reads what the lab needs from a VMStation cluster file: the subnet, the gateway (the host's
// bridge address) and, per node, its name, address, MAC and BMC. The full validation of the
// file is VMStation's own (src/config); this reader only refuses what the lab cannot build.
import { parse } from 'yaml';
import { z } from 'zod';
import { LabError } from './run.js';

const Mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i);
const Ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/);

const LabFileSchema = z.object({
  spec: z.object({
    network: z.object({ subnet: z.string(), gateway: Ipv4 }),
    nodes: z
      .array(
        z.object({
          name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
          address: Ipv4,
          mac: Mac,
          power: z
            .object({
              bmc: z.object({ address: Ipv4, port: z.number().int().optional() }).optional(),
              suspendCommand: z.string().optional(),
            })
            .optional(),
        }),
      )
      .min(1),
  }),
});

export interface LabNode {
  name: string;
  address: string;
  mac: string;
  /** Lab address of the node's emulated BMC (ipmi_sim), when the file gives it one. */
  bmc?: { address: string; port: number };
}

export interface LabSpec {
  subnet: string;
  prefix: number;
  gateway: string;
  broadcast: string;
  nodes: LabNode[];
}

/** The lab only ever uses this network (and loopback). */
export const LAB_SUBNET = '10.78.0.0/24';

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base ?? '') / size) * size;
  const v = ipToInt(ip);
  return v >= start && v < start + size;
}

export function parseLabSpec(text: string, file: string): LabSpec {
  const parsed = LabFileSchema.safeParse(parse(text));
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new LabError(`${file}: not a cluster file the lab can build: ${first?.path.join('.') ?? ''} ${first?.message ?? ''}`);
  }
  const { network, nodes } = parsed.data.spec;
  if (network.subnet !== LAB_SUBNET) {
    throw new LabError(`${file}: spec.network.subnet is ${network.subnet}; the lab only uses ${LAB_SUBNET}`, 'address the nodes on 10.78.0.0/24 (see lab/vmstation.lab.yaml)');
  }
  const prefix = 24;
  const size = 2 ** (32 - prefix);
  const broadcast = intToIp(Math.floor(ipToInt(network.gateway) / size) * size + size - 1);
  const seen = new Set<string>();
  const out: LabNode[] = nodes.map((n) => {
    for (const ip of [n.address, n.power?.bmc?.address].filter((x): x is string => x !== undefined)) {
      if (!inSubnet(ip, LAB_SUBNET)) throw new LabError(`${file}: node ${n.name}: ${ip} is outside ${LAB_SUBNET}`);
      if (seen.has(ip) || ip === network.gateway || ip === broadcast) throw new LabError(`${file}: node ${n.name}: address ${ip} is used twice`);
      seen.add(ip);
    }
    const node: LabNode = { name: n.name, address: n.address, mac: n.mac.toLowerCase() };
    if (n.power?.bmc) node.bmc = { address: n.power.bmc.address, port: n.power.bmc.port ?? 623 };
    return node;
  });
  return { subnet: network.subnet, prefix, gateway: network.gateway, broadcast, nodes: out };
}
