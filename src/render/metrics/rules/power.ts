// The power manager's own alerts: what replaces node-down alerts for nodes it sleeps on purpose.
import type { Cluster } from '../../../config/model.js';
import { POWER_STATE_METRIC } from '../../k8s/common.js';
import { JOBS } from '../names.js';
import { jobDown, type RuleGroup } from './types.js';

const state = (s: string) => `max by (node) (${POWER_STATE_METRIC}{state=${s}})`;

export function powerRules(cluster: Cluster): RuleGroup {
  const rules: RuleGroup['rules'] = [];
  if (cluster.spec.power.enabled) {
    rules.push({
      alert: 'PowerManagerDown',
      expr: jobDown(JOBS.powerManager),
      for: '5m',
      severity: 'critical',
      summary: 'the VMStation power manager is down',
      description: 'Sleeping nodes are not woken when needed and node-down alerts lose their sleep awareness after 10 minutes.',
    });
  }
  rules.push(
    {
      alert: 'NodeWakeFailed',
      expr: `${state('"failed"')} == 1`,
      severity: 'critical',
      summary: '{{ $labels.node }} did not wake up',
      description: 'The power manager used every wake attempt on {{ $labels.node }} and gave up; see `vmstation power status` and the node\'s Events.',
    },
    {
      alert: 'NodeCordonedWhileAwake',
      expr: `max by (node) (kube_node_spec_unschedulable) == 1 and on (node) ${state('"awake"')} == 1`,
      for: '30m',
      severity: 'warning',
      summary: '{{ $labels.node }} is awake but cordoned',
      description: '{{ $labels.node }} has been awake and unschedulable for 30 minutes: a sleep was rolled back half-way or someone forgot to uncordon it.',
    },
    {
      alert: 'NodeStuckInPowerTransition',
      expr: `${state('~"draining|suspending|waking"')} == 1`,
      for: '15m',
      severity: 'warning',
      summary: '{{ $labels.node }} is stuck in a power transition',
      description: '{{ $labels.node }} has been draining, suspending or waking for 15 minutes.',
    },
    {
      alert: 'NodeAsleepButReachable',
      expr: `${state('"asleep"')} == 1 and on (node) max by (node) (probe_success{job="${JOBS.probeIcmp}"}) == 1`,
      for: '10m',
      severity: 'warning',
      summary: '{{ $labels.node }} should sleep but answers ping',
      description: 'The power manager reports {{ $labels.node }} asleep but it still answers: the suspend did not happen and the node draws full power.',
    },
    {
      alert: 'NodePowerStateUnknown',
      expr: `(max by (node) (kube_node_info) unless on (node) max by (node) (${POWER_STATE_METRIC})) and on () (max(up{job="${JOBS.powerManager}"}) == 1)`,
      for: '15m',
      severity: 'info',
      summary: 'the power manager reports nothing for {{ $labels.node }}',
      description: 'The power manager runs but exports no power state for {{ $labels.node }}, so its alerts cannot be sleep-aware.',
    },
  );
  return { name: 'power', rules };
}
