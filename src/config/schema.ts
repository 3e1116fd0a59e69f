// The one schema of the cluster file. The validator, the normalized model and the JSON Schema
// for editors (`vmstation schema`) all come from here.
//
// Leaf schemas carry `meta({ problem })`: the validator maps a failing leaf to a stable problem
// code and a hint through it, so a malformed MAC says `invalid-mac`, not a regex.
import { z } from 'zod';
import { durationPattern } from './duration.js';
import {
  AccountName,
  CommandLine,
  CronText,
  EmailAddress,
  FreeText,
  HostAndOptionalPort,
  HostAndPort,
  HttpUrl,
  LabelKey,
  LabelValue,
  LocalFilePath,
  LocalPath,
  NodePath,
  NtfyTopic,
  TimeServer,
  TimeZoneName,
  UrlPath,
  UserName,
} from './text-types.js';

export interface ProblemMeta {
  /** Stable problem code reported when this leaf fails. */
  code: string;
  /** How to fix it. */
  hint: string;
}

declare module 'zod' {
  interface GlobalMeta {
    problem?: ProblemMeta;
    /** Marks a secret reference: a plain string here is a plaintext secret. */
    secretRef?: boolean;
  }
}

// ---- leaves ---------------------------------------------------------------------------------

const ipv4Pattern = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const cidrPattern = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;
const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const macPattern = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const sizePattern = /^\d+(Ki|Mi|Gi|Ti)$/;
const secretNamePattern = /^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/;

export const Ipv4 = z.string().regex(ipv4Pattern).meta({
  problem: { code: 'invalid-address', hint: 'write an IPv4 address such as 192.168.4.10' },
});
export const Cidr = z.string().regex(cidrPattern).meta({
  problem: { code: 'invalid-cidr', hint: 'write a network in CIDR form such as 192.168.4.0/24' },
});
export const Duration = z.string().regex(durationPattern).meta({
  description: 'A duration such as 30s, 15m, 2h, 1h30m, 30d or 1w.',
  problem: { code: 'invalid-duration', hint: 'write a duration such as 30s, 15m, 2h, 1h30m or 30d (units w, d, h, m, s)' },
});
export const Mac = z.string().regex(macPattern).meta({
  problem: { code: 'invalid-mac', hint: 'write six hex pairs separated by colons, e.g. "02:00:c0:a8:04:3f" (quote it)' },
});
const NodeName = z.string().regex(dnsLabelPattern).meta({
  problem: { code: 'invalid-name', hint: 'use a DNS label: lower-case letters, digits and "-", at most 63 characters' },
});
const DnsName = z.string().regex(dnsNamePattern).meta({
  problem: { code: 'invalid-name', hint: 'use a DNS name: lower-case letters, digits, "-" and "."' },
});
export const NodePort = z.number().int().min(30000).max(32767).meta({
  problem: { code: 'nodeport-out-of-range', hint: 'NodePorts must be between 30000 and 32767 (the default service-node-port-range)' },
});
const Port = z.number().int().min(1).max(65535).meta({
  problem: { code: 'invalid-port', hint: 'a port is a whole number between 1 and 65535' },
});
const Size = z.string().regex(sizePattern).meta({
  problem: { code: 'invalid-size', hint: 'write a size such as 512Mi, 20Gi or 1Ti' },
});

/** A reference to a value in the encrypted secrets file: `{ secret: NAME }`. */
export const SecretRef = z
  .strictObject({
    secret: z.string().regex(secretNamePattern).meta({
      problem: { code: 'invalid-secret-name', hint: 'secret names use lower-case letters, digits, "-", "_" and "."' },
    }),
  })
  .meta({
    secretRef: true,
    description: 'A reference to a value in the encrypted secrets file (`vmstation secrets set NAME`).',
  });
export type SecretRef = z.infer<typeof SecretRef>;

export const OS_NAMES = [
  'debian-12',
  'debian-13',
  'ubuntu-22.04',
  'ubuntu-24.04',
  'rhel-9',
  'rhel-10',
  'rocky-9',
  'rocky-10',
] as const;
export type OsName = (typeof OS_NAMES)[number];

export const ROLES = ['control-plane', 'worker', 'etcd'] as const;
export type Role = (typeof ROLES)[number];

export const METHODS = ['kubespray', 'kubeadm', 'rke2'] as const;
export type Method = (typeof METHODS)[number];

export const POWER_STATES = ['awake', 'draining', 'suspending', 'asleep', 'waking', 'failed'] as const;
export type PowerState = (typeof POWER_STATES)[number];

// ---- sections -------------------------------------------------------------------------------

const Network = z.strictObject({
  subnet: Cidr.describe('The LAN the nodes are on.'),
  gateway: Ipv4.optional(),
  domain: DnsName.default('homelab.lan'),
  dnsServers: z.array(Ipv4).default([]),
});

const EtcdSnapshots = z.strictObject({
  enabled: z.boolean().default(true),
  schedule: z
    .string()
    .min(1)
    .default('0 */12 * * *')
    .describe("When to take a snapshot: 5-field cron in the etcd node's local time. Default twice a day, 00:00 and 12:00, as k3s and RKE2."),
  keep: z.number().int().min(1).max(1000).default(5).describe('Snapshots kept on each etcd node (and at copyTo); older ones are pruned. Default 5, as k3s and RKE2.'),
  copyTo: z
    .string()
    .min(1)
    .optional()
    .describe('Where every snapshot is also copied: another node (its name), or an absolute path on the etcd node (e.g. an NFS mount). A snapshot on the only control plane dies with its disk.'),
});

const Kubernetes = z.strictObject({
  method: z.enum(METHODS).default('kubespray').describe('How Kubernetes is installed; kubespray is recommended.'),
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .meta({ problem: { code: 'invalid-version', hint: 'write the version as MAJOR.MINOR.PATCH in quotes, e.g. "1.35.4"' } })
    .optional(),
  cni: z.enum(['calico', 'flannel', 'cilium']).default('calico'),
  podSubnet: Cidr.default('10.233.64.0/18'),
  serviceSubnet: Cidr.default('10.233.0.0/18'),
  nodePrefix: z.number().int().min(16).max(28).default(24).describe('Prefix length of the pod range each node gets.'),
  controlPlaneEndpoint: HostAndOptionalPort.optional().describe('host[:port] of a load balancer in front of several control-plane nodes.'),
  kubeProxyMode: z.enum(['ipvs', 'iptables', 'nftables']).default('iptables').describe('kube-proxy mode. iptables (the default) works with every CNI on every method; ipvs is deprecated since Kubernetes 1.35; nftables needs kernel 5.13 and is refused with kubeadm + Calico.'),
  clusterDomain: DnsName.default('cluster.local'),
  etcd: z.strictObject({ snapshots: EtcdSnapshots.prefault({}) }).prefault({}),
});

const SshSettings = z.strictObject({
  user: UserName.default('root'),
  port: Port.default(22),
  privateKey: LocalPath.default('~/.ssh/id_ed25519'),
  knownHosts: LocalPath.optional().describe('known_hosts file VMStation manages; default ~/.config/vmstation/known_hosts.'),
});

const NodeSsh = z.strictObject({
  user: UserName.optional(),
  port: Port.optional(),
  privateKey: LocalPath.optional(),
});

const Bmc = z.strictObject({
  address: Ipv4,
  port: Port.default(623),
  username: SecretRef,
  password: SecretRef,
  cipherSuite: z.number().int().min(0).max(17).default(3),
});

const NodePower = z.strictObject({
  autoSleep: z.boolean().default(false),
  wake: z.array(z.enum(['wol', 'ipmi'])).min(1).default(['wol']).describe('Wake drivers in order; later ones are fallbacks.'),
  bmc: Bmc.optional(),
  watts: z.strictObject({ awake: z.number().positive(), asleep: z.number().nonnegative() }).optional(),
  suspendCommand: CommandLine.default('systemctl suspend'),
  secureOn: SecretRef.optional().describe('Wake-on-LAN SecureOn password (6 bytes as MAC-style hex).'),
  bootSeconds: z.number().positive().default(60).describe('Expected time from wake to kubelet Ready.'),
  idleAfter: Duration.optional().describe('Overrides spec.power.idleAfter for this node.'),
});

const Taint = z.strictObject({
  key: LabelKey,
  value: LabelValue.optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

const Node = z.strictObject({
  name: NodeName,
  address: Ipv4,
  mac: Mac.optional(),
  os: z.enum(OS_NAMES),
  roles: z.array(z.enum(ROLES)).min(1),
  labels: z.record(LabelKey, LabelValue).default({}),
  taints: z.array(Taint).default([]),
  ssh: NodeSsh.optional(),
  power: NodePower.prefault({}),
});

const Receiver = z.strictObject({
  name: z.string().regex(secretNamePattern).meta({ problem: { code: 'invalid-name', hint: 'receiver names use lower-case letters, digits, "-", "_" and "."' } }),
  type: z.enum(['webhook', 'ntfy', 'email']),
  url: HttpUrl.optional().describe('webhook: the URL; ntfy: the server (default https://ntfy.sh).'),
  topic: NtfyTopic.optional().describe('ntfy topic.'),
  to: EmailAddress.optional().describe('email: recipient address.'),
  from: EmailAddress.optional(),
  smarthost: HostAndPort.optional().describe('email: host:port of the SMTP server.'),
  username: AccountName.optional(),
  password: SecretRef.optional(),
  token: SecretRef.optional().describe('Bearer token sent to a webhook or ntfy.'),
  severities: z.array(z.enum(['critical', 'warning', 'info'])).default(['critical', 'warning']),
  sendResolved: z.boolean().default(true),
});

const Monitoring = z.strictObject({
  enabled: z.boolean().default(true),
  node: NodeName.optional().describe('Node that runs every non-DaemonSet monitoring component; default the first control-plane node.'),
  namespace: NodeName.default('monitoring'),
  storage: z
    .strictObject({
      mode: z.enum(['local-path', 'static']).default('local-path'),
      path: NodePath.default('/var/lib/vmstation'),
    })
    .prefault({}),
  prometheus: z
    .strictObject({
      nodePort: NodePort.default(30090),
      retention: Duration.default('30d'),
      retentionSize: Size.optional(),
      scrapeInterval: Duration.default('30s'),
      storage: Size.default('20Gi'),
    })
    .prefault({}),
  alertmanager: z
    .strictObject({
      nodePort: NodePort.optional().describe(
        'Expose Alertmanager (UI and API) on this NodePort. Off by default: whoever reaches it can create and expire silences; Grafana shows the alerts and silences read-only.',
      ),
      storage: Size.default('1Gi'),
      receivers: z.array(Receiver).default([]),
    })
    .prefault({}),
  grafana: z
    .strictObject({
      nodePort: NodePort.default(30300),
      anonymousRole: z.enum(['Viewer', 'Editor', 'None']).default('Viewer'),
      adminUser: AccountName.default('admin'),
      adminPassword: SecretRef.default({ secret: 'grafana-admin-password' }),
      storage: Size.default('2Gi'),
    })
    .prefault({}),
  loki: z
    .strictObject({
      nodePort: NodePort.optional().describe(
        "Expose Loki's API on this NodePort. Off by default: whoever reaches it can push, query and delete logs; Grafana is the UI.",
      ),
      retention: Duration.default('30d'),
      storage: Size.default('20Gi'),
    })
    .prefault({}),
  logShipper: z.enum(['alloy', 'promtail']).default('alloy'),
  exporters: z
    .strictObject({
      node: z.boolean().default(true),
      kubeStateMetrics: z.boolean().default(true),
      blackbox: z.boolean().default(true),
      ipmi: z.boolean().default(false),
    })
    .prefault({}),
});

const Infrastructure = z.strictObject({
  ntp: z
    .strictObject({
      enabled: z.boolean().default(true),
      server: NodeName.optional().describe('Node that serves time to the LAN; default the first control-plane node.'),
      upstream: z.array(TimeServer).min(1).default(['pool.ntp.org']),
    })
    .prefault({}),
  syslog: z
    .strictObject({
      enabled: z.boolean().default(true),
      server: NodeName.optional().describe('Node that receives every node\'s syslog; default the first control-plane node.'),
      port: Port.default(514),
      keepDays: z.number().int().positive().default(14),
    })
    .prefault({}),
  kerberos: z
    .strictObject({
      enabled: z.boolean().default(false),
      realm: z.string().regex(/^[A-Z0-9][A-Z0-9.-]*$/).meta({ problem: { code: 'invalid-realm', hint: 'Kerberos realms are upper-case, e.g. VMSTATION.LOCAL' } }).optional(),
      kdc: NodeName.optional().describe('Node that runs the KDC and kadmin; default the first control-plane node.'),
      masterPassword: SecretRef.default({ secret: 'kerberos-master-password' }),
      adminPassword: SecretRef.default({ secret: 'kerberos-admin-password' }),
    })
    .prefault({}),
  firewall: z
    .strictObject({
      enabled: z.boolean().default(false),
      sshFrom: z.array(Cidr).optional().describe('Networks allowed to SSH in; default network.subnet.'),
      extraPorts: z
        .array(z.strictObject({ port: Port, protocol: z.enum(['tcp', 'udp']).default('tcp'), from: Cidr.optional() }))
        .default([]),
    })
    .prefault({}),
});

const Window = z.strictObject({
  start: CronText.describe('Cron expression (5 fields) when the window opens, in spec.power.timezone.'),
  duration: Duration,
});

/**
 * A container image reference as the Docker/OCI distribution grammar writes it: optional registry
 * host[:port], a lower-case path, then a :tag and/or an @sha256 digest (one of them required, so
 * the Deployment never floats on an implied :latest).
 */
const ImageReference = z
  .string()
  .regex(/^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$/)
  .meta({
    problem: { code: 'invalid-image', hint: 'write an image reference with a tag or a digest, e.g. registry.lan:5000/vmstation/vmstation:0.1.0@sha256:<64 hex digits>' },
  });

/** spec.power.predict: wake ahead of learned demand (docs/power.md, "Predictive wake"). */
const Predict = z
  .union([
    z.literal('off'),
    z.number().gt(0).max(1),
    z.strictObject({
      threshold: z.number().gt(0).max(1).describe('Wake a sleeping node ahead when the learned chance of demand is at least this (0..1].'),
      unusedAfter: Duration.default('30m').describe('A node woken ahead and not used goes back to sleep after this long (at least 15m: one whole 15-minute slot).'),
    }),
  ])
  .describe('Wake nodes ahead of demand learned per 15-minute slot of the week: "off", a threshold such as 0.6, or { threshold, unusedAfter }.');

const Power = z.strictObject({
  enabled: z.boolean().default(true),
  idleAfter: Duration.default('30m'),
  minAwake: Duration.default('15m'),
  ignoreNamespaces: z
    .array(NodeName)
    .default(['kube-system', 'kube-public', 'kube-node-lease', 'monitoring', 'vmstation-system', 'calico-system', 'tigera-operator', 'local-path-storage'])
    .describe('Pods in these namespaces do not count as activity. DaemonSet pods never count.'),
  cpuIdleBelow: z.number().min(0).max(1).default(0.1).describe('A node is idle while its CPU use (fraction of all cores) stays below this.'),
  networkIdleBelow: z.number().nonnegative().default(10240).describe('...and its network traffic stays below this many bytes per second.'),
  quietHours: z.array(Window).default([]).describe('When non-empty, nodes may only be put to sleep inside these windows.'),
  keepAwake: z.array(Window).default([]).describe('Nodes are never put to sleep inside these windows, and are woken ahead of them.'),
  timezone: TimeZoneName.default('UTC'),
  maxConcurrentTransitions: z.number().int().min(1).default(1),
  wakeTimeout: Duration.default('5m'),
  wakeAttempts: z.number().int().min(1).default(3),
  retryFailedAfter: Duration.default('30m'),
  predict: Predict.default(0.6),
  wol: z
    .strictObject({
      port: Port.default(9),
      broadcast: Ipv4.optional().describe('Where magic packets go; default the broadcast address of network.subnet.'),
      packets: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  apiToken: SecretRef.default({ secret: 'power-api-token' }),
  controller: z
    .strictObject({
      namespace: NodeName.default('vmstation-system'),
      replicas: z.number().int().min(1).max(2).default(1),
      nodePort: NodePort.optional().describe('Expose the wake/status HTTP API on this NodePort.'),
      image: ImageReference.optional().describe('The power manager\'s image, pulled from its registry as written (e.g. registry.lan/vmstation:0.1.0@sha256:...). Unset: the image `vmstation image build` made, side-loaded into the control-plane nodes\' containerd by deploy and pinned by digest.'),
    })
    .prefault({}),
});

// ---- apps[]: deployment (issue 14 §1). An app with `preset` or `image` is deployed by vmstation
// (manifests/apps.yaml); without them it only describes an app deployed by other means.

/** A CPU quantity as Kubernetes writes it: cores (`1`, `0.5`) or millicores (`250m`). */
const CpuQuantity = z.string().regex(/^(\d+m|\d+(\.\d{1,3})?)$/).meta({
  problem: { code: 'invalid-quantity', hint: 'write CPU as cores or millicores, e.g. 2, 0.5 or 500m' },
});

const AppResources = z.strictObject({
  requests: z.strictObject({ cpu: CpuQuantity.optional(), memory: Size.optional() }).optional(),
  limits: z.strictObject({ cpu: CpuQuantity.optional(), memory: Size.optional() }).optional(),
});

const AppVolume = z
  .strictObject({
    name: NodeName.describe('Volume name; a preset\'s volume of the same name (config, cache) is replaced.'),
    mountPath: z.string().min(1).describe('Absolute path inside the container.'),
    size: Size.optional().describe('A PersistentVolumeClaim of this size on the local-path class, bound to the app\'s node.'),
    hostPath: z.string().min(1).optional().describe('A directory of the app\'s node (absolute path).'),
    readOnly: z.boolean().default(false),
  })
  .describe('Exactly one of size (a claim) or hostPath.');

const AppDeployment = {
  preset: z.enum(['jellyfin']).optional().describe('A known app: its pinned image, port, health endpoint, volumes, user and resources.'),
  image: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/)
    .meta({ problem: { code: 'invalid-image', hint: 'write an image reference such as docker.io/library/nginx:1.29.3' } })
    .optional()
    .describe('The container image, pinned with a tag (not latest) or a digest. With a preset, replaces the preset\'s image.'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Environment variables (plain values: never a secret).'),
  volumes: z.array(AppVolume).default([]),
  resources: AppResources.optional().describe('Requests and limits; presets bring their own.'),
  media: z.string().min(1).optional().describe('A directory of the app\'s node mounted read-only at /media (the media library).'),
  hardwareTranscoding: z
    .strictObject({
      device: z.string().min(1).default('/dev/dri/renderD128').describe('The render node passed to the container.'),
      renderGroup: z.number().int().min(1).describe('GID of the node\'s `render` group: `getent group render | cut -d: -f3` on the node.'),
    })
    .optional()
    .describe('Pass a GPU render node for hardware transcoding (VA-API/QSV): the container runs privileged with the render group.'),
  runAsUser: z.number().int().min(1).optional().describe('UID the app runs as (never root; presets default to 1000).'),
  runAsGroup: z.number().int().min(1).optional().describe('GID the app runs as (presets default to 1000).'),
};

// The wake gateway's per-app settings for browsers and sessions (issue 14 sections 2-3); kept in
// their own block so the app's deployment fields can grow next to them.
const AppGatewaySettings = {
  waitingPage: z.boolean().default(true).describe('While the app\'s node is not awake, a browser (an HTTP request accepting text/html) gets a small waiting page at once that reloads into the app when it answers; other clients are held as before.'),
  ignoreUserAgents: z
    .array(
      z.string().refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'not a valid regular expression (JavaScript syntax, e.g. "UptimeRobot|Pingdom")'),
    )
    .default([])
    .describe('Regular expressions for User-Agents (uptime checkers, bots) that get a quick 503 while the node is not awake, and never wake it.'),
  sessionIdleAfter: Duration.default('5m').describe('A connection through the wake gateway keeps the app\'s node awake while open; after it closes, the node stays awake this long from its last byte.'),
};

const App = z.strictObject({
  name: NodeName,
  namespace: NodeName.default('default'),
  node: NodeName.optional(),
  nodePort: NodePort.optional(),
  port: Port.optional().describe('The service port behind the NodePort (the container port of a deployed app; presets bring theirs).'),
  healthPath: UrlPath.optional().describe('HTTP path the blackbox probe checks; default the preset\'s health endpoint, else /.'),
  wakeOnRequest: z.boolean().default(false),
  gatewayPort: Port.optional().describe('Where the power manager\'s wake gateway listens for this app on the control plane (wakeOnRequest apps; default nodePort + 10000, e.g. 30096 -> 40096).'),
  ...AppDeployment,
  ...AppGatewaySettings,
});

export const ClusterSchema = z.strictObject({
  apiVersion: z.literal('vmstation.io/v1alpha1'),
  kind: z.literal('Cluster'),
  metadata: z.strictObject({
    name: NodeName,
    description: FreeText.optional(),
  }),
  spec: z.strictObject({
    network: Network,
    kubernetes: Kubernetes.prefault({}),
    ssh: SshSettings.prefault({}),
    nodes: z.array(Node).min(1),
    monitoring: Monitoring.prefault({}),
    infrastructure: Infrastructure.prefault({}),
    power: Power.prefault({}),
    apps: z.array(App).default([]),
    secrets: z.strictObject({ file: LocalFilePath.default('secrets.vault.yaml') }).prefault({}),
  }),
});

/** What the schema yields: defaults applied, cross-node defaults not yet resolved. */
export type ParsedCluster = z.output<typeof ClusterSchema>;
/** What users write. */
export type ClusterInput = z.input<typeof ClusterSchema>;
