// What each preset deploys besides its port and health endpoint (src/config/app-presets.ts):
// the pinned image, its volumes, the user it runs as and its resources. Every upstream fact has
// its source; tests/unit/apps check them against the upstream lines in test/data/upstream.
import type { AppPreset } from '../../config/app-presets.js';
import { IMAGES } from '../versions.js';

export interface PresetVolume {
  name: string;
  mountPath: string;
  size: string;
}

export interface PresetWorkload {
  image: string;
  /** Claims on the local-path class, bound to the app's node (a user volume of the same name replaces one). */
  volumes: PresetVolume[];
  /** Where `media:` is mounted, read-only. */
  mediaPath: string;
  runAsUser: number;
  runAsGroup: number;
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  /** Seconds the app may take to answer its health endpoint after a start (startupProbe budget). */
  startupSeconds: number;
}

export const PRESET_WORKLOADS: Record<AppPreset, PresetWorkload> = {
  jellyfin: {
    image: IMAGES.jellyfin,
    // jellyfin/jellyfin-packaging@v10.11.11-202606061137:docker/Dockerfile: JELLYFIN_DATA_DIR="/config",
    // JELLYFIN_CACHE_DIR="/cache", `VOLUME ${JELLYFIN_DATA_DIR} ${JELLYFIN_CACHE_DIR}`; the container
    // docs: "Create persistent storage for configuration and cache data." Sizes are ours (the
    // jellyfin/jellyfin-helm chart's defaults, 5Gi and 10Gi); the metadata of a large library
    // outgrows them: set volumes: [{ name: config, mountPath: /config, size: 20Gi }].
    volumes: [
      { name: 'config', mountPath: '/config', size: '5Gi' },
      { name: 'cache', mountPath: '/cache', size: '10Gi' },
    ],
    // The container docs mount the library at /media (`target=/media`).
    mediaPath: '/media',
    // The image has no USER (it would run as root); the docs run it with `--user uid:gid`, and it
    // makes /config and /cache mode 777 (`chmod 777 ${JELLYFIN_DATA_DIR} ${JELLYFIN_CACHE_DIR}`),
    // so any non-root user works. 1000:1000 is the first user Debian creates: the owner of the
    // media on most homelab disks.
    runAsUser: 1000,
    runAsGroup: 1000,
    // Ours, not upstream's: a library scan and one software transcode fit in 4Gi; no CPU limit,
    // so a transcode may use every core the node has.
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '4Gi' } },
    // The monitoring docs: "The health endpoint will not function as expected while the server is
    // still starting up" (database migrations after an upgrade): 10 minutes before liveness counts.
    startupSeconds: 600,
  },
};
