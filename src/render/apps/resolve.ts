// One deployed app, fully resolved: the preset's choices merged with what the cluster file says
// (the file wins; a volume of the same name replaces the preset's). Pure.
import { isDeployedApp, PRESET_DEFAULTS } from '../../config/app-presets.js';
import type { Cluster } from '../../config/model.js';
import { PRESET_WORKLOADS } from './presets.js';

export type ClusterApp = Cluster['spec']['apps'][number];

export type AppVolumeSource = { kind: 'claim'; claimName: string; size: string } | { kind: 'host'; path: string; type: 'Directory' | 'CharDevice' };

export interface ResolvedVolume {
  name: string;
  mountPath: string;
  readOnly: boolean;
  source: AppVolumeSource;
}

export interface DeployedApp {
  name: string;
  namespace: string;
  node: string;
  image: string;
  port: number;
  healthPath: string;
  nodePort: number | undefined;
  env: Array<{ name: string; value: string }>;
  volumes: ResolvedVolume[];
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  runAsUser: number;
  runAsGroup: number;
  /** GID of the node's render group when a GPU render node is passed in. */
  renderGroup: number | undefined;
  startupSeconds: number;
}

/** Defaults for an app without a preset (the generic form). */
const GENERIC = { runAsUser: 1000, runAsGroup: 1000, startupSeconds: 300, mediaPath: '/media' } as const;

/** The PVC name of an app's volume. */
export function claimName(app: string, volume: string): string {
  return `${app}-${volume}`;
}

function volumesOf(app: ClusterApp): ResolvedVolume[] {
  const preset = app.preset === undefined ? undefined : PRESET_DEFAULTS[app.preset];
  const written = new Set(app.volumes.map((v) => v.name));
  const out: ResolvedVolume[] = (preset?.volumes ?? [])
    .filter((v) => !written.has(v.name))
    .map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: false, source: { kind: 'claim', claimName: claimName(app.name, v.name), size: v.size } }));
  for (const v of app.volumes) {
    const source: AppVolumeSource = v.hostPath !== undefined ? { kind: 'host', path: v.hostPath, type: 'Directory' } : { kind: 'claim', claimName: claimName(app.name, v.name), size: v.size ?? '1Gi' };
    out.push({ name: v.name, mountPath: v.mountPath, readOnly: v.readOnly, source });
  }
  if (app.media !== undefined) out.push({ name: 'media', mountPath: preset?.mediaPath ?? GENERIC.mediaPath, readOnly: true, source: { kind: 'host', path: app.media, type: 'Directory' } });
  if (app.hardwareTranscoding) {
    const device = app.hardwareTranscoding.device;
    out.push({ name: 'render-device', mountPath: device, readOnly: false, source: { kind: 'host', path: device, type: 'CharDevice' } });
  }
  return out;
}

/** The app as vmstation deploys it, or undefined when the file only describes it (no preset, no image). */
export function deployedApp(app: ClusterApp): DeployedApp | undefined {
  if (!isDeployedApp(app)) return undefined;
  const preset = app.preset === undefined ? undefined : PRESET_WORKLOADS[app.preset];
  const image = app.image ?? preset?.image;
  // validate refuses a deployed app without a node or a port (app-without-node, app-without-port).
  if (image === undefined || app.node === undefined || app.port === undefined) return undefined;
  const resources = {
    ...(preset ? { requests: { ...preset.resources.requests }, limits: { ...preset.resources.limits } } : {}),
  } as DeployedApp['resources'];
  for (const k of ['requests', 'limits'] as const) {
    const written = app.resources?.[k];
    if (written) resources[k] = { ...resources[k], ...Object.fromEntries(Object.entries(written).filter(([, v]) => v !== undefined)) } as Record<string, string>;
  }
  return {
    name: app.name,
    namespace: app.namespace,
    node: app.node,
    image,
    port: app.port,
    healthPath: app.healthPath,
    nodePort: app.nodePort,
    env: Object.entries(app.env)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
    volumes: volumesOf(app),
    resources,
    runAsUser: app.runAsUser ?? preset?.runAsUser ?? GENERIC.runAsUser,
    runAsGroup: app.runAsGroup ?? preset?.runAsGroup ?? GENERIC.runAsGroup,
    renderGroup: app.hardwareTranscoding?.renderGroup,
    startupSeconds: preset?.startupSeconds ?? GENERIC.startupSeconds,
  };
}

/** Every app vmstation deploys, in file order. */
export function deployedApps(cluster: Cluster): DeployedApp[] {
  return cluster.spec.apps.flatMap((a) => deployedApp(a) ?? []);
}
