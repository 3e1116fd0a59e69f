// The list of renderers: each capability adds its renderer here (one line each).
import type { Cluster } from '../config/model.js';
import type { Artifact } from './artifact.js';
import { kubeadmRenderer } from './kubeadm/index.js';
import { kubesprayRenderer } from './kubespray/index.js';
import { metrics } from './metrics/index.js';
import { ansibleRenderer } from './ansible/index.js';
import { appsRenderer } from './apps/index.js';
import { dayTwoRenderer } from './day-two/index.js';
import { etcdRenderer } from './etcd/index.js';
import { observability } from './observability/index.js';
import { powerRenderer } from './power/index.js';
import { renderAll, type RenderContext, type Renderer } from './registry.js';
import { rke2Renderer } from './rke2/index.js';

export const ALL_RENDERERS: readonly Renderer[] = [
  // monitoring, logging, ansible, kubespray, kubeadm, rke2, power, apps ...
  ansibleRenderer,
  kubesprayRenderer,
  kubeadmRenderer,
  rke2Renderer,
  observability,
  metrics,
  powerRenderer,
  appsRenderer,
  dayTwoRenderer,
  etcdRenderer,
];

export function renderCluster(cluster: Cluster, only?: readonly string[], context?: RenderContext): Artifact[] {
  return renderAll(cluster, ALL_RENDERERS, only, context);
}
