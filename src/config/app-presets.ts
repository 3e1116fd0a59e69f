// What a preset app brings to the cluster file's defaults (port, health endpoint). The image, the
// volumes and the rest of the workload are the renderer's (src/render/apps/presets.ts); the image
// is pinned in the one table of versions (src/render/versions.ts).
import type { ParsedCluster } from './schema.js';

export type AppPreset = NonNullable<ParsedCluster['spec']['apps'][number]['preset']>;

export interface PresetDefaults {
  /** The port the app serves HTTP on inside its container. */
  port: number;
  /** Its health endpoint (probes and the blackbox exporter check it). */
  healthPath: string;
  /** Claims on the local-path class, bound to the app's node; a written volume of the same name replaces one. */
  volumes: ReadonlyArray<{ name: string; mountPath: string; size: string }>;
  /** Where `media:` is mounted, read-only. */
  mediaPath: string;
}

export const PRESET_DEFAULTS: Record<AppPreset, PresetDefaults> = {
  // jellyfin/jellyfin-packaging@v10.11.11-202606061137:docker/Dockerfile: `EXPOSE 8096`,
  // `HEALTHCHECK_URL=http://localhost:8096/health`; jellyfin/jellyfin.org:
  // docs/general/post-install/networking/9_advanced/monitoring.md ("the /health endpoint ...
  // returns a 200 OK response if successful").
  jellyfin: {
    port: 8096,
    healthPath: '/health',
    // The Dockerfile: JELLYFIN_DATA_DIR="/config", JELLYFIN_CACHE_DIR="/cache",
    // `VOLUME ${JELLYFIN_DATA_DIR} ${JELLYFIN_CACHE_DIR}`; the container docs: "Create persistent
    // storage for configuration and cache data." Sizes are ours (the jellyfin/jellyfin-helm chart's
    // defaults, 5Gi and 10Gi): a large library's metadata outgrows them; replace with
    // `volumes: [{ name: config, mountPath: /config, size: 20Gi }]`.
    volumes: [
      { name: 'config', mountPath: '/config', size: '5Gi' },
      { name: 'cache', mountPath: '/cache', size: '10Gi' },
    ],
    // The container docs mount the library at /media (`--mount type=bind,source=/path/to/media,target=/media`).
    mediaPath: '/media',
  },
};

type ParsedApp = ParsedCluster['spec']['apps'][number];

/** Whether vmstation deploys the app (a preset or an image), rather than only describing it. */
export function isDeployedApp(app: Pick<ParsedApp, 'preset' | 'image'>): boolean {
  return app.preset !== undefined || app.image !== undefined;
}

/** The app with its port and health path resolved (written value, then the preset's, then `/`). */
export function resolveAppDefaults<A extends ParsedApp>(app: A): A & { healthPath: string; port: number | undefined } {
  const preset = app.preset === undefined ? undefined : PRESET_DEFAULTS[app.preset];
  return { ...app, port: app.port ?? preset?.port, healthPath: app.healthPath ?? preset?.healthPath ?? '/' };
}
