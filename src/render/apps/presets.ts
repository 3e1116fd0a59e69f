// What each preset deploys besides its port, health endpoint and volumes (src/config/app-presets.ts):
// the pinned image, the user it runs as and its resources. Every upstream fact has
// its source; test/unit/apps checks them against the upstream lines in test/data/upstream.
import type { AppPreset } from '../../config/app-presets.js';
import { IMAGES } from '../versions.js';

export interface PresetWorkload {
  image: string;
  runAsUser: number;
  runAsGroup: number;
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  /** Seconds the app may take to answer its health endpoint after a start (startupProbe budget). */
  startupSeconds: number;
}

export const PRESET_WORKLOADS: Record<AppPreset, PresetWorkload> = {
  jellyfin: {
    image: IMAGES.jellyfin,
    // The image has no USER (it would run as root); the docs run it with `--user uid:gid`, and it
    // makes /config and /cache mode 777 (`chmod 777 ${JELLYFIN_DATA_DIR} ${JELLYFIN_CACHE_DIR}`),
    // so any non-root user works. 1000:1000 is the first user Debian creates: the owner of the
    // media on most homelab disks.
    runAsUser: 1000,
    runAsGroup: 1000,
    // Ours, not upstream's (the jellyfin/jellyfin-helm chart sets none): a memory limit so a leak
    // cannot take the node down, no CPU limit so a transcode may use every core the node has.
    resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '4Gi' } },
    // The monitoring docs: "The health endpoint will not function as expected while the server is
    // still starting up" (database migrations after an upgrade): 10 minutes before liveness counts.
    startupSeconds: 600,
  },
};
