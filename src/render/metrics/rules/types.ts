// Alert rules as data: one typed list per group, serialized to Prometheus rule files.
import { POWER_STATE_METRIC } from '../../k8s/common.js';

export type Severity = 'critical' | 'warning' | 'info' | 'none';

export interface AlertRule {
  alert: string;
  expr: string;
  /** How long the condition must hold; omitted means fire on the first evaluation. */
  for?: string;
  severity: Severity;
  summary: string;
  description: string;
}

export interface RuleGroup {
  /** One of node, kubernetes, monitoring, time-sync, logging, power (also the file name). */
  name: string;
  rules: AlertRule[];
}

/** Power states in which a node is down on purpose (the power manager put it there). */
export const EXPECTED_DOWN_STATES = ['suspending', 'asleep', 'waking'] as const;

/**
 * Nodes the power manager reports as down on purpose. `last_over_time` keeps the last reported
 * state for 10 minutes, so a restart of the power manager does not wake every sleeping node's alerts.
 */
export const EXPECTED_DOWN_NODES = `max by (node) (last_over_time(${POWER_STATE_METRIC}{state=~"${EXPECTED_DOWN_STATES.join('|')}"}[10m])) == 1`;

/** Makes a node-scoped expression sleep-aware: drops series of nodes that sleep on purpose. */
export function unlessSleeping(expr: string): string {
  return `(${expr}) unless on (node) (${EXPECTED_DOWN_NODES})`;
}

/** The rule-file form of a group (what promtool and Prometheus read). */
export function ruleFile(group: RuleGroup): { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> } {
  return {
    groups: [
      {
        name: group.name,
        rules: group.rules.map((r) => ({
          alert: r.alert,
          expr: r.expr,
          ...(r.for ? { for: r.for } : {}),
          labels: { severity: r.severity },
          annotations: { summary: r.summary, description: r.description },
        })),
      },
    ],
  };
}

/** No target of a job is up (none discovered, or all failing); keeps the `job` label for routing. */
export function jobDown(job: string): string {
  return `absent(up{job="${job}"}) or max by (job) (up{job="${job}"}) == 0`;
}
