// The power manager's image for render, plan and deploy: the configured reference, or the image
// `vmstation image build` recorded for this version (pinned by digest), read at the CLI's edge.
import type { Cluster } from '../config/model.js';
import { builtImageFor } from '../image/metadata.js';
import { controllerImage, type ControllerImage } from '../image/reference.js';
import { VERSION } from './version.js';

export async function powerImageFor(cluster: Cluster, env: NodeJS.ProcessEnv): Promise<ControllerImage> {
  const configured = cluster.spec.power.controller.image !== undefined;
  return controllerImage(cluster, configured ? undefined : await builtImageFor(env, VERSION), VERSION);
}
