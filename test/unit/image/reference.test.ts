import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatPlan, planDeploy } from '../../../src/deploy/plan.js';
import type { BuiltImage } from '../../../src/image/metadata.js';
import { controllerImage } from '../../../src/image/reference.js';
import { renderCluster } from '../../../src/render/index.js';
import { validateText } from '../../../src/config/validate.js';
import { exampleWith, loadClusterFile } from '../deploy/helpers.js';
import { validateKubeObjects } from '../../helpers/kube-schema.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const built: BuiltImage = {
  apiVersion: 'vmstation.io/v1alpha1',
  kind: 'BuiltImage',
  repository: 'ghcr.io/vmstation/vmstation',
  tag: '0.1.0',
  reference: 'ghcr.io/vmstation/vmstation:0.1.0',
  version: '0.1.0',
  sourceDateEpoch: 1,
  nodeVersion: '20.20.2',
  ociDigest: d('a'),
  nodeDigest: d('b'),
  configDigest: d('c'),
  uncompressedSize: 184_000_000,
  layers: [],
  ociArchive: { file: '/img/vmstation-0.1.0.oci.tar', size: 52_000_000, sha256: d('d') },
  dockerArchive: { file: '/img/vmstation-0.1.0.docker.tar', size: 184_400_000, sha256: d('e') },
};
const example = loadClusterFile('examples/vmstation.yaml');
const withImage = (ref: string) => exampleWith((t) => t.replace(/^ {2}power:\n/m, `  power:\n    controller: { image: "${ref}" }\n`));
const manifests = [{ path: 'manifests/power-manager.yaml', component: 'power-manager' }];

function deploymentImage(image: string): { image: string; imagePullPolicy: string } {
  const text = renderCluster(example, ['power'], { powerImage: image }).find((a) => a.path === 'manifests/power-manager.yaml')!.content;
  expect(validateKubeObjects(text)).toEqual([]);
  const dep = parseAllDocuments(text).map((x) => x.toJS() as { kind: string; spec: { template: { spec: { containers: Array<{ image: string; imagePullPolicy: string }> } } } }).find((o) => o.kind === 'Deployment')!;
  return dep.spec.template.spec.containers[0]!;
}

describe("the power manager's image: configured, side-loaded or not built", () => {
  it('unset + built here: the side-loaded image pinned by the digest containerd records, IfNotPresent', () => {
    const img = controllerImage(example, built, '0.1.0');
    expect(img).toMatchObject({ kind: 'side-loaded', reference: `ghcr.io/vmstation/vmstation:0.1.0@${d('b')}` });
    expect(deploymentImage(img.reference)).toEqual(expect.objectContaining({ image: `ghcr.io/vmstation/vmstation:0.1.0@${d('b')}`, imagePullPolicy: 'IfNotPresent' }));
  });

  it('a build of another version does not count', () => {
    expect(controllerImage(example, { ...built, version: '0.0.9' }, '0.1.0')).toEqual({ kind: 'not-built', reference: 'ghcr.io/vmstation/vmstation:0.1.0' });
  });

  it('a configured reference is pulled as written, whatever was built', () => {
    const ref = `registry.lan:5000/tools/vmstation:0.1.0@${d('9')}`;
    expect(controllerImage(withImage(ref), built, '0.1.0')).toEqual({ kind: 'configured', reference: ref });
  });

  it('refuses a reference without tag or digest, or with upper case in the path, saying where', () => {
    for (const bad of ['registry.lan/vmstation', 'Registry/VMStation:1', 'vmstation:1@sha256:abc']) {
      const r = validateText({ file: 'c.yaml', text: withImageText(bad) });
      expect(r.cluster).toBeUndefined();
      const p = r.problems.find((x) => x.severity === 'error')!;
      expect(p.code).toBe('invalid-image');
      expect(p.message).toBe(`spec.power.controller.image: the text "${bad}" is not valid`);
      expect(p.hint).toContain('an image reference with a tag or a digest');
      // the line of `controller: { image: ... }`, right after `power:`
      expect(withImageText(bad).split('\n')[p.line - 1]).toContain(bad);
    }
  });

  it('plan: the side-load step with digest and size on the control plane, before the apply', () => {
    const plan = planDeploy({ cluster: example, manifests, powerImage: controllerImage(example, built, '0.1.0') });
    const power = plan.phases.find((p) => p.id === 'power')!;
    expect(power.steps.map((s) => s.id)).toEqual(['power/side-load-image', 'power/apply', 'power/prune']);
    expect(power.steps[0]!.hosts).toEqual(['masternode']);
    expect(power.steps[0]!.action).toEqual({
      kind: 'side-load-image',
      reference: `ghcr.io/vmstation/vmstation:0.1.0@${d('b')}`,
      image: { repository: 'ghcr.io/vmstation/vmstation', tag: '0.1.0', digest: d('b'), archive: '/img/vmstation-0.1.0.docker.tar', size: 184_400_000, sha256: d('e') },
    });
    expect(formatPlan(plan)).toContain(`   - side-load ghcr.io/vmstation/vmstation:0.1.0 ${d('b')} (docker-archive 175.9 MiB) into containerd (k8s.io), unless present [masternode]`);
  });

  it('plan: a configured image has no side-load step (a note says where it is pulled from); an unbuilt one says so', () => {
    const ref = `registry.lan/vmstation:0.1.0@${d('9')}`;
    const cluster = withImage(ref);
    const plan = planDeploy({ cluster, manifests, powerImage: controllerImage(cluster, built, '0.1.0') });
    expect(plan.phases.find((p) => p.id === 'power')!.steps.map((s) => s.id)).toEqual(['power/apply', 'power/prune']);
    expect(plan.notes).toContain(`the power manager's image is pulled from ${ref} (spec.power.controller.image)`);
    const unbuilt = planDeploy({ cluster: example, manifests, powerImage: controllerImage(example, undefined, '0.1.0') });
    expect(unbuilt.phases.find((p) => p.id === 'power')!.steps[0]!.title).toContain('NOT BUILT: run `vmstation image build`');
    expect(unbuilt.notes.join('\n')).toContain('vmstation image build');
  });
});

function withImageText(ref: string): string {
  return readExample().replace(/^ {2}power:\n/m, `  power:\n    controller: { image: "${ref}" }\n`);
}
function readExample(): string {
  return readFileSync('examples/vmstation.yaml', 'utf8');
}
