// Which image the power manager's Deployment runs, decided from the cluster file and the image
// built here (if any). Pure: render, plan and deploy all ask this one function.
import type { Cluster } from '../config/model.js';
import type { BuiltImage } from './metadata.js';
import { imageReference } from './spec.js';

export type ControllerImage =
  /** spec.power.controller.image: pulled from its registry as written. */
  | { kind: 'configured'; reference: string }
  /** The image built from this package, side-loaded into the nodes' containerd, pinned by digest. */
  | { kind: 'side-loaded'; reference: string; image: BuiltImage }
  /** Nothing configured and nothing built: the tag alone (deploy stops at the side-load step). */
  | { kind: 'not-built'; reference: string };

export function controllerImage(cluster: Cluster, built: BuiltImage | undefined, version: string): ControllerImage {
  const configured = cluster.spec.power.controller.image;
  if (configured !== undefined) return { kind: 'configured', reference: configured };
  if (built && built.version === version) return { kind: 'side-loaded', reference: `${built.repository}:${built.tag}@${built.nodeDigest}`, image: built };
  return { kind: 'not-built', reference: imageReference(version).reference };
}
