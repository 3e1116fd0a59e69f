// Storage that binds on every deploy method (the original's PVCs stayed Pending on Kubespray,
// which installs no storage class): every monitoring PVC asks for StorageClass `local-path`,
// which this renderer always provides, either
// - dynamically, by the local-path provisioner (mode local-path), creating `local` volumes
//   (not hostPath) so the kubelet applies fsGroup and each pod owns its data directory; or
// - statically (mode static), by a no-provisioner StorageClass of the same name and one local
//   PersistentVolume per component on the monitoring node, pre-bound to its claim.
import type { IPersistentVolumeClaimSpec } from 'kubernetes-models/v1/PersistentVolumeClaimSpec';
import type { Cluster } from '../../config/model.js';
import { IMAGES, onMonitoringNode, selectorLabels, standardLabels, toYaml, type KubeObject } from '../k8s/common.js';
import { namespaceObject, readWriteOnceClaimSpec, resources, restricted } from '../k8s/objects.js';
import { COMPONENTS, LOCAL_PATH_NAMESPACE, monitoringNamespace, RUN_AS, STORAGE_CLASS } from './names.js';

/** One persistent volume a monitoring component claims. */
export interface MonitoringVolume {
  component: 'prometheus' | 'alertmanager' | 'grafana' | 'loki';
  /** The PVC name (StatefulSet claims are `<template>-<statefulset>-0`). */
  claimName: string;
  size: string;
  /** Owner of the data (the image's user); applied through fsGroup. */
  uid: number;
}

/** The volumes of the enabled stack, in a fixed order. */
export function monitoringVolumes(cluster: Cluster): MonitoringVolume[] {
  const m = cluster.spec.monitoring;
  return [
    { component: 'prometheus', claimName: `data-${COMPONENTS.prometheus.name}-0`, size: m.prometheus.storage, uid: RUN_AS.prometheus },
    { component: 'alertmanager', claimName: `data-${COMPONENTS.alertmanager.name}-0`, size: m.alertmanager.storage, uid: RUN_AS.alertmanager },
    { component: 'grafana', claimName: `${COMPONENTS.grafana.name}-data`, size: m.grafana.storage, uid: RUN_AS.grafana },
    { component: 'loki', claimName: `data-${COMPONENTS.loki.name}-0`, size: m.loki.storage, uid: RUN_AS.loki },
  ];
}

/** Directories the host layer creates on the monitoring node for static volumes (owner uid). */
export function staticVolumeDirectories(cluster: Cluster): Array<{ path: string; uid: number }> {
  if (cluster.spec.monitoring.storage.mode !== 'static') return [];
  return monitoringVolumes(cluster).map((v) => ({ path: staticVolumePath(cluster, v), uid: v.uid }));
}

function staticVolumePath(cluster: Cluster, v: MonitoringVolume): string {
  return `${cluster.spec.monitoring.storage.path.replace(/\/+$/, '')}/${v.component}`;
}

export function namespaceObjects(cluster: Cluster): KubeObject[] {
  // node-exporter needs host network and PID, the log shipper host paths and a host port: say so
  // explicitly, and warn about anything beyond baseline.
  return [namespaceObject(monitoringNamespace(cluster), { enforce: 'privileged', warn: 'baseline' })];
}

/** The local-path provisioner (upstream layout, least-privilege RBAC, pinned images). */
export function localPathProvisionerObjects(cluster: Cluster): KubeObject[] {
  const name = COMPONENTS.localPathProvisioner.name;
  const ns = LOCAL_PATH_NAMESPACE;
  const labels = standardLabels(name, 'storage');
  const sa = `${name}-service-account`;
  const config = {
    nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [cluster.spec.monitoring.storage.path] }],
  };
  const helperPod = toYaml({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helper-pod' },
    spec: {
      priorityClassName: 'system-node-critical',
      tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'helper-pod', image: IMAGES.busybox, imagePullPolicy: 'IfNotPresent' }],
    },
  });
  return [
    namespaceObject(ns, { enforce: 'privileged' }),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns, labels } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: `${name}-role`, namespace: ns, labels },
      // Helper pods that create and remove volume directories run in this namespace.
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${name}-role`, labels },
      rules: [
        { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${name}-bind`, namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-role` },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${name}-bind`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${name}-role` },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'local-path-config', namespace: ns, labels },
      data: {
        'config.json': `${JSON.stringify(config, null, 2)}\n`,
        'helperPod.yaml': helperPod,
        setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
        teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selectorLabels(name) },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: sa,
            ...onMonitoringNode(cluster),
            securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name,
                image: IMAGES.localPathProvisioner,
                imagePullPolicy: 'IfNotPresent',
                command: ['local-path-provisioner', 'start', '--config', '/etc/config/config.json'],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  // Reload helperPod.yaml too when the ConfigMap changes.
                  { name: 'CONFIG_MOUNT_PATH', value: '/etc/config/' },
                ],
                securityContext: restricted({ readOnlyRootFilesystem: false }),
                resources: resources({ cpu: '10m', memory: '32Mi' }, { memory: '128Mi' }),
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config/' }],
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: 'local-path-config' } }],
          },
        },
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: STORAGE_CLASS,
        labels,
        // `local` volumes get the pod's fsGroup applied by the kubelet; hostPath volumes do not.
        annotations: { defaultVolumeType: 'local' },
      },
      provisioner: 'rancher.io/local-path',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    },
  ];
}

/** Mode static: a no-provisioner StorageClass and one local PV per claim on the monitoring node. */
export function staticVolumeObjects(cluster: Cluster): KubeObject[] {
  const node = cluster.spec.monitoring.node;
  const labels = standardLabels('static-volumes', 'storage');
  return [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: STORAGE_CLASS, labels },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    },
    ...monitoringVolumes(cluster).map(
      (v): KubeObject => ({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `vmstation-${v.component}`, labels: { ...standardLabels(v.component, 'storage'), 'vmstation.io/volume': v.component } },
        spec: {
          capacity: { storage: v.size },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: STORAGE_CLASS,
          volumeMode: 'Filesystem',
          // Pre-bound, so a 20Gi Loki claim never takes Prometheus' volume of the same size.
          claimRef: { namespace: monitoringNamespace(cluster), name: v.claimName },
          local: { path: staticVolumePath(cluster, v) },
          nodeAffinity: {
            required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] },
          },
        },
      }),
    ),
  ];
}

/** A claim on the `local-path` class (Grafana's; StatefulSets use volumeClaimTemplate). */
export function volumeClaimSpec(size: string): IPersistentVolumeClaimSpec {
  return readWriteOnceClaimSpec(size, STORAGE_CLASS);
}
