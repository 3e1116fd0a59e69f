// The deploy phases, in the order they run. Names are part of the CLI (`deploy --phase P`).

export const PHASES = ['preflight', 'host', 'kubernetes', 'addons', 'monitoring', 'infrastructure', 'power', 'verify'] as const;
export type PhaseId = (typeof PHASES)[number];

export const PHASE_TITLES: Record<PhaseId, string> = {
  preflight: 'Preflight: wake sleeping nodes and check every host',
  host: 'Host layer: packages, chrony, syslog, Kerberos, firewall, Wake-on-LAN',
  kubernetes: 'Kubernetes',
  addons: 'Cluster add-ons (storage provisioner)',
  monitoring: 'Monitoring (Prometheus, Alertmanager, Grafana, Loki, exporters, log shipper)',
  infrastructure: 'In-cluster infrastructure and apps',
  power: 'Power manager',
  verify: 'Verify',
};

export function isPhase(value: string): value is PhaseId {
  return (PHASES as readonly string[]).includes(value);
}

export function phaseIndex(id: PhaseId): number {
  return PHASES.indexOf(id);
}
