// The one Kubernetes object builder (src/render/k8s/objects.ts): metadata, the config checksum
// that rolls pods, and the Pod Security labels, each against the upstream that documents it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateText } from '../../../src/config/validate.js';
import { renderCluster } from '../../../src/render/index.js';
import { CONFIG_CHECKSUM_ANNOTATION, configChecksum, configChecksumAnnotation, namespaceObject, objectMeta, service } from '../../../src/render/k8s/objects.js';

const root = path.resolve(import.meta.dirname, '../../..');

describe('Kubernetes object builder', () => {
  it('names the checksum annotation checksum/config with a sha256 value, as Helm documents (https://helm.sh/docs/howto/charts_tips_and_tricks/#automatically-roll-deployments)', () => {
    expect(CONFIG_CHECKSUM_ANNOTATION).toBe('checksum/config');
    const one = createHash('sha256').update('a: 1\n').update('\0').digest('hex');
    expect(configChecksum('a: 1\n')).toBe(one);
    expect(configChecksumAnnotation('a: 1\n')).toEqual({ 'checksum/config': one });
    // Parts are separated: moving text between two files changes the checksum.
    expect(configChecksum('ab', 'c')).not.toBe(configChecksum('a', 'bc'));
  });

  it('gives namespaced and cluster-scoped metadata the standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/)', () => {
    expect(objectMeta('loki', { namespace: 'monitoring', component: 'logs' })).toEqual({
      name: 'loki',
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/name': 'loki', 'app.kubernetes.io/component': 'logs', 'app.kubernetes.io/part-of': 'vmstation', 'app.kubernetes.io/managed-by': 'vmstation' },
    });
    const role = objectMeta('vmstation-alloy', { app: 'alloy', annotations: { a: 'b' } });
    expect(role).not.toHaveProperty('namespace');
    expect(role.labels['app.kubernetes.io/name']).toBe('alloy');
    expect(role.annotations).toEqual({ a: 'b' });
  });

  it('labels a Namespace with its Pod Security level (https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces)', () => {
    const ns = namespaceObject('monitoring', { enforce: 'privileged', warn: 'baseline' });
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/warn': 'baseline' });
    expect(namespaceObject('x', { enforce: 'privileged' }).metadata.labels).not.toHaveProperty('pod-security.kubernetes.io/warn');
  });

  it('makes a NodePort Service keep the client address, a ClusterIP one not', () => {
    const meta = objectMeta('a', { namespace: 'n' });
    expect(service(meta, 'a', [{ name: 'http', port: 80, nodePort: 30080 }]).spec).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Local' });
    expect(service(meta, 'a', [{ name: 'http', port: 80 }]).spec).not.toHaveProperty('externalTrafficPolicy');
  });

  it('puts checksum/config on every pod template that mounts a rendered config, and only that annotation name', () => {
    const file = path.join(root, 'examples/vmstation.yaml');
    const cluster = validateText({ file, text: readFileSync(file, 'utf8') }).cluster!;
    const manifests = renderCluster(cluster).filter((a) => a.path.startsWith('manifests/'));
    const annotated: string[] = [];
    for (const a of manifests) {
      for (const doc of parseAllDocuments(a.content)) {
        const o = doc.toJS() as { metadata?: { name?: string }; spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | null;
        const annotations = o?.spec?.template?.metadata?.annotations ?? {};
        expect(Object.keys(annotations).filter((k) => /checksum|sha256/i.test(k) && k !== 'checksum/config')).toEqual([]);
        if (annotations['checksum/config']) {
          expect(annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
          annotated.push(o!.metadata!.name!);
        }
      }
    }
    expect(annotated.sort()).toEqual(['alertmanager', 'alloy', 'blackbox-exporter', 'grafana', 'loki', 'prometheus', 'vmstation-power-manager']);
  });
});
