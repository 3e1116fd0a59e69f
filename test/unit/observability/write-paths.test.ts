// Issue 17 §4: the monitoring write paths accept only the cluster by default. The paths and the
// ports they are served on are read from the pinned upstream (lines copied with `git grep -n` at
// the tag into test/data/upstream/, each file naming repository and tag), then checked against
// what the renderers produce: no NodePort, and no NetworkPolicy rule that admits the LAN.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests walk parsed YAML freely */
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderCluster } from '../../../src/render/index.js';
import { upstreamLine } from '../../helpers/upstream.js';
import { exampleCluster, variant } from './fixture.js';

const AM = 'upstream/alertmanager-v0.32.0-write-paths-lines.txt';
const LOKI = 'upstream/loki-v3.7.1-write-paths-lines.txt';

// prometheus/alertmanager@v0.32.0: api/v2/openapi.yaml (basePath /api/v2/, POST /silences,
// DELETE /silence/{silenceID}), cmd/alertmanager/main.go (web listen address default ":9093").
const amPort = Number(/":(\d+)"\)/.exec(upstreamLine(AM, /webflag\.AddFlags\(kingpin\.CommandLine, ":\d+"\)/).text)![1]);
// grafana/loki@v3.7.1: docs/sources/reference/loki-http-api.md (POST /loki/api/v1/push, POST and
// DELETE /loki/api/v1/delete), docs/sources/shared/configuration.md (http_listen_port default 3100).
const lokiPort = Number(/default = (\d+)/.exec(upstreamLine(LOKI, /^\[http_listen_port: <int> \| default = \d+\]$/).text)![1]);

function render(cluster: ReturnType<typeof exampleCluster>) {
  const artifacts = renderCluster(cluster);
  const docs = artifacts.filter((a) => a.path.startsWith('manifests/')).flatMap((a) => parseAllDocuments(a.content).map((d) => d.toJS() as any)).filter(Boolean);
  const ns = cluster.spec.monitoring.namespace;
  const service = (name: string) => docs.find((d) => d.kind === 'Service' && d.metadata.name === name && d.metadata.namespace === ns);
  const ingressPeers = (app: string, port: number) =>
    docs
      .filter((d) => d.kind === 'NetworkPolicy' && d.spec.podSelector?.matchLabels?.['app.kubernetes.io/name'] === app)
      .flatMap((d) => d.spec.ingress ?? [])
      .filter((r: any) => (r.ports ?? []).some((p: any) => p.port === port))
      .flatMap((r: any) => r.from ?? []);
  const container = (app: string) => docs.find((d) => d.spec?.template && d.metadata.name === app && d.metadata.namespace === ns).spec.template.spec.containers[0];
  return { artifacts, service, ingressPeers, container };
}

describe('the write paths of the monitoring stack (issue 17 §4)', () => {
  it('the upstream excerpts name the write APIs', () => {
    expect(upstreamLine(AM, /^basePath: "\/api\/v2\/"$/).where).toBe('api/v2/openapi.yaml:18');
    expect(upstreamLine(AM, /operationId: postSilences/).where).toBe('api/v2/openapi.yaml:72');
    expect(upstreamLine(AM, /operationId: deleteSilence/).where).toBe('api/v2/openapi.yaml:120');
    expect(upstreamLine(LOKI, /POST \/loki\/api\/v1\/push/).where).toBe('docs/sources/reference/loki-http-api.md:26');
    expect(upstreamLine(LOKI, /POST \/loki\/api\/v1\/delete/).where).toBe('docs/sources/reference/loki-http-api.md:103');
    expect([amPort, lokiPort]).toEqual([9093, 3100]);
  });

  it('by default Alertmanager (silences) and Loki (push, delete) have no NodePort and admit no address block', () => {
    const cluster = exampleCluster();
    const { service, ingressPeers, container, artifacts } = render(cluster);
    // The rendered containers listen where upstream serves those APIs.
    expect(container('alertmanager').ports[0].containerPort).toBe(amPort);
    expect(container('alertmanager').args).toContain(`--web.listen-address=:${amPort}`);
    expect((parse(artifacts.find((a) => a.path === 'configs/loki/loki.yaml')!.content) as any).server.http_listen_port).toBe(lokiPort);
    for (const [name, port] of [['alertmanager', amPort], ['loki', lokiPort]] as const) {
      expect(service(name).spec.type, name).toBe('ClusterIP');
      const peers = ingressPeers(name, port);
      expect(peers.length, `${name}: some pods are admitted`).toBeGreaterThan(0);
      // Only pods of the stack: no ipBlock (the LAN), no namespaceSelector, no empty selector.
      for (const peer of peers) {
        expect(Object.keys(peer), `${name}: ${JSON.stringify(peer)}`).toEqual(['podSelector']);
        expect(Object.keys(peer.podSelector.matchLabels ?? {}).length, name).toBeGreaterThan(0);
      }
    }
  });

  it('a nodePort in the file exposes them to network.subnet (the choice validate warns about)', () => {
    const cluster = variant((d) => {
      d.spec.monitoring.alertmanager = { nodePort: 30903 };
      d.spec.monitoring.loki.nodePort = 31100;
    });
    const { service, ingressPeers } = render(cluster);
    for (const [name, port, nodePort] of [['alertmanager', amPort, 30903], ['loki', lokiPort, 31100]] as const) {
      expect(service(name).spec).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Local' });
      expect(service(name).spec.ports[0].nodePort).toBe(nodePort);
      expect(ingressPeers(name, port)).toContainEqual({ ipBlock: { cidr: cluster.spec.network.subnet } });
    }
  });

  it('the syslog receiver (hostPort 1514) admits the syslog server alone, and nothing when syslog is off', () => {
    const cluster = exampleCluster();
    const { ingressPeers, container } = render(cluster);
    expect(container('alloy').ports).toContainEqual({ name: 'syslog', containerPort: 1514, hostPort: 1514, protocol: 'TCP' });
    expect(ingressPeers('alloy', 1514)).toEqual([{ ipBlock: { cidr: '192.168.4.63/32' } }]);
    const off = variant((d) => (d.spec.infrastructure.syslog = { enabled: false }));
    expect(render(off).ingressPeers('alloy', 1514)).toEqual([]);
  });
});
