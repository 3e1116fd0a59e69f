// All alert rule groups, in a fixed order (one rule file each).
import type { Cluster } from '../../../config/model.js';
import { etcdRules } from './etcd.js';
import { kubernetesRules } from './kubernetes.js';
import { loggingRules } from './logging.js';
import { monitoringRules } from './monitoring.js';
import { nodeRules } from './node.js';
import { powerRules } from './power.js';
import { timeSyncRules } from './time-sync.js';
import type { RuleGroup } from './types.js';

export function ruleGroups(cluster: Cluster): RuleGroup[] {
  return [nodeRules(cluster), kubernetesRules(), monitoringRules(), timeSyncRules(cluster), loggingRules(cluster), powerRules(cluster), etcdRules(cluster)];
}

export { ruleFile, unlessSleeping, EXPECTED_DOWN_NODES, type RuleGroup, type AlertRule } from './types.js';
