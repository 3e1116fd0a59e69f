// The one table of upstream versions (src/render/versions.ts): every pin is exact, dated and
// sourced, and the CNI manifests the kubeadm path applies are the versions Kubespray v2.31.0
// pins for the same CNI, so both paths run the same networking code.
import { describe, expect, it } from 'vitest';
import { CNI_MANIFEST_PINS, CNI_MANIFESTS, COMPONENT_PINS, IMAGE_PINS, IMAGES, pinnedVersion } from '../../../src/render/versions.js';
import { IMAGES as COMMON_IMAGES } from '../../../src/render/k8s/common.js';
import { CNI_MANIFESTS as KUBEADM_CNI_MANIFESTS } from '../../../src/render/kubeadm/index.js';
import { kubesprayDefault, upstreamLine, upstreamLines } from '../../helpers/upstream.js';

const allPins = { ...IMAGE_PINS, ...CNI_MANIFEST_PINS, ...COMPONENT_PINS };

describe('the table of upstream versions', () => {
  it('dates and sources every pin', () => {
    for (const [name, pin] of Object.entries(allPins)) {
      expect(pin.checked, name).toMatch(/^20\d\d-[01]\d-[0-3]\d$/);
      expect(pin.source.length, name).toBeGreaterThan(10);
    }
  });

  it('pins every image to an exact version, never latest', () => {
    for (const [name, ref] of Object.entries(IMAGES)) {
      expect(ref, name).not.toMatch(/:latest$/);
      expect(pinnedVersion(ref), name).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('is what the manifests and the kubeadm playbook use (the old names still work)', () => {
    expect(COMMON_IMAGES).toBe(IMAGES);
    expect(KUBEADM_CNI_MANIFESTS).toBe(CNI_MANIFESTS);
    expect(Object.keys(CNI_MANIFESTS).sort()).toEqual(['calico', 'flannel']);
  });

  // kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/vars/main/checksums.yml: calico_version
  // is the first key of calicoctl_binary_checksums.amd64 (download.yml:106).
  it('applies the Calico manifest of the version Kubespray v2.31.0 pins', () => {
    const lines = upstreamLines('kubespray-v2.31.0/upstream-lines.txt');
    const start = lines.findIndex((l) => l.text === 'calicoctl_binary_checksums:');
    const amd64 = lines.findIndex((l, i) => i > start && l.text === '  amd64:');
    const calico = /^\s+(\d+\.\d+\.\d+):/.exec(lines[amd64 + 1]!.text)![1];
    expect(calico).toBe('3.31.5');
    expect(pinnedVersion(CNI_MANIFESTS.calico)).toBe(calico);
    // projectcalico/calico@v3.31.5:manifests/calico.yaml runs the node image of the same tag.
    expect(upstreamLine('upstream/calico-v3.31.5-manifest-lines.txt', /image: quay\.io\/calico\/node:/).text).toContain(`:v${calico}`);
  });

  // kubernetes-sigs/kubespray@v2.31.0:roles/kubespray_defaults/defaults/main/download.yml:115 flannel_version
  it('applies the flannel manifest of the version Kubespray v2.31.0 pins', () => {
    expect(pinnedVersion(CNI_MANIFESTS.flannel)).toBe(kubesprayDefault('flannel_version'));
    // flannel-io/flannel@v0.28.4:Documentation/kube-flannel.yml runs flannel of the same tag.
    expect(upstreamLine('upstream/flannel-v0.28.4-manifest-lines.txt', /image: ghcr\.io\/flannel-io\/flannel:/).text).toContain(`:v${kubesprayDefault('flannel_version')}`);
  });

  // download.yml:119 cilium_version; download.yml:303 local_path_provisioner_version
  it('names the Cilium and local-path-provisioner versions Kubespray v2.31.0 pins', () => {
    expect(COMPONENT_PINS.cilium.ref).toBe(kubesprayDefault('cilium_version'));
    expect(pinnedVersion(IMAGES.localPathProvisioner)).toBe(kubesprayDefault('local_path_provisioner_version'));
  });
});
