// A kubelet emulator per host: registers the Node, keeps its Ready condition from whether the
// host answers TCP on its SSH port (probe every probeIntervalMs; Ready=Unknown with the
// node-lifecycle controller's unreachable taints after notReadyGraceMs without an answer),
// heartbeats (Node lastHeartbeatTime and a kube-node-lease Lease), runs pods bound to it
// (phase Running, Ready) while it is Ready, and marks its pods not Ready while it is not.
// A new bootID is reported each time a host comes back, as after a real reboot or resume.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { asArray, asObject, asString, getPath, isPlainObject } from './json.js';
import { guarded, rfc3339, type Operations } from './operations.js';
import type { ResourceType } from './resources.js';
import { setCondition, type Taint } from './scheduling.js';
import { metaOf, nameOf, namespaceOf, type StoreEvent } from './store.js';

export interface EmulatedNode {
  name: string;
  /** Address probed on sshPort; omit with probe: false for a node that is always up. */
  address?: string;
  sshPort?: number;
  roles?: string[];
  labels?: Record<string, string>;
  taints?: Taint[];
  capacity?: { cpu?: string; memory?: string; pods?: string };
  /** false: never probe, always reachable (benchmarks, unit tests). */
  probe?: boolean;
  /** What this kubelet reports (default: the emulator's kubeletVersion). */
  kubeletVersion?: string;
}

export interface KubeletOptions {
  probeIntervalMs: number;
  probeTimeoutMs: number;
  notReadyGraceMs: number;
  /** Lease renewal period in kube-node-lease (the kubelet's default: 10 s). */
  heartbeatIntervalMs: number;
  /** Node status re-posted (lastHeartbeatTime) when nothing changed (the kubelet's default: 5 min). */
  nodeStatusReportMs: number;
  kubeletVersion: string;
  /** Taint control-plane nodes NoSchedule, as kubeadm and Kubespray do. */
  taintControlPlane: boolean;
  probe: (address: string, port: number, timeoutMs: number) => Promise<boolean>;
  clock: () => number;
}

export function tcpProbe(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

interface NodeState {
  spec: EmulatedNode;
  reachable: boolean;
  ready: boolean;
  lastSeen: number;
  lastHeartbeat: number;
  lastStatusReport: number;
  probing: boolean;
  bootId: string;
  timer: NodeJS.Timeout | undefined;
}

const UNREACHABLE_TAINTS: Taint[] = [
  { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
];

const PRESSURE_CONDITIONS: Array<[string, string, string]> = [
  ['MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
];

export class KubeletEmulator {
  private readonly ops: Operations;
  private readonly opts: KubeletOptions;
  private readonly nodes = new Map<string, NodeState>();
  private readonly nodeType: ResourceType;
  private readonly podType: ResourceType;
  private readonly leaseType: ResourceType;
  private unsubscribe: (() => void) | undefined;
  private nextPodIp = 2;
  private running = false;

  constructor(ops: Operations, options: Partial<KubeletOptions> = {}) {
    this.ops = ops;
    this.opts = {
      probeIntervalMs: 1000,
      probeTimeoutMs: 500,
      notReadyGraceMs: 3000,
      heartbeatIntervalMs: 10_000,
      nodeStatusReportMs: 300_000,
      kubeletVersion: 'v1.35.4',
      taintControlPlane: true,
      probe: tcpProbe,
      clock: () => Date.now(),
      ...options,
    };
    const get = (g: string, p: string): ResourceType => {
      const t = ops.registry.lookup(g, 'v1', p);
      if (t === undefined) throw new Error(`${p} not registered`);
      return t;
    };
    this.nodeType = get('', 'nodes');
    this.podType = get('', 'pods');
    this.leaseType = get('coordination.k8s.io', 'leases');
  }

  start(nodes: readonly EmulatedNode[]): void {
    this.running = true;
    this.ensureNamespace('kube-node-lease');
    this.unsubscribe = this.ops.store.subscribe(this.podType.storageKey, (e) => this.onPod(e));
    for (const n of nodes) this.addNode(n);
  }

  stop(): void {
    this.running = false;
    this.unsubscribe?.();
    for (const s of this.nodes.values()) if (s.timer !== undefined) clearInterval(s.timer);
  }

  /** Current view of one emulated host (for tests and the status endpoint). */
  state(name: string): { reachable: boolean; ready: boolean; lastSeen: number; bootId: string } | undefined {
    const s = this.nodes.get(name);
    return s === undefined ? undefined : { reachable: s.reachable, ready: s.ready, lastSeen: s.lastSeen, bootId: s.bootId };
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  addNode(spec: EmulatedNode): void {
    if (this.nodes.has(spec.name)) return;
    const state: NodeState = { spec, reachable: false, ready: false, lastSeen: this.opts.clock(), lastHeartbeat: 0, lastStatusReport: 0, probing: false, bootId: randomUUID(), timer: undefined };
    this.nodes.set(spec.name, state);
    this.register(state);
    if (spec.probe === false) {
      this.observe(state, true);
      // Always up: only the heartbeats.
      state.timer = setInterval(() => guarded('kubelet', () => this.observe(state, true)), this.opts.heartbeatIntervalMs);
      state.timer.unref();
      return;
    }
    void this.probeOnce(state);
    state.timer = setInterval(() => void this.probeOnce(state), this.opts.probeIntervalMs);
    state.timer.unref();
  }

  /** The kubelet on this host was replaced by another version and restarted (an upgrade). */
  setKubeletVersion(name: string, version: string): boolean {
    const s = this.nodes.get(name);
    if (s === undefined) return false;
    s.spec = { ...s.spec, kubeletVersion: version };
    this.ops.mutate(
      this.nodeType,
      undefined,
      name,
      (draft) => {
        const status = asObject(draft['status']);
        status['nodeInfo'] = { ...asObject(status['nodeInfo']), kubeletVersion: version, kubeProxyVersion: version };
        draft['status'] = status;
      },
      { manager: 'kubelet', subresource: 'status' },
    );
    return true;
  }

  removeNode(name: string): void {
    const s = this.nodes.get(name);
    if (s?.timer !== undefined) clearInterval(s.timer);
    this.nodes.delete(name);
  }

  private ensureNamespace(name: string): void {
    const nsType = this.ops.registry.lookup('', 'v1', 'namespaces');
    if (nsType !== undefined && this.ops.store.get(nsType.storageKey, undefined, name) === undefined) {
      this.ops.create(nsType, undefined, { metadata: { name } }, { fieldManager: 'kube-apiserver' });
    }
  }

  private register(state: NodeState): void {
    const n = state.spec;
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': n.name,
      'kubernetes.io/os': 'linux',
    };
    for (const role of n.roles ?? []) labels[`node-role.kubernetes.io/${role}`] = '';
    Object.assign(labels, n.labels ?? {});
    const taints: Taint[] = [...(n.taints ?? [])];
    if (this.opts.taintControlPlane && (n.roles ?? []).includes('control-plane') && !taints.some((t) => t.key === 'node-role.kubernetes.io/control-plane')) {
      taints.push({ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' });
    }
    const capacity = {
      cpu: n.capacity?.cpu ?? '4',
      'ephemeral-storage': '102626232Ki',
      'hugepages-2Mi': '0',
      memory: n.capacity?.memory ?? '8148440Ki',
      pods: n.capacity?.pods ?? '110',
    };
    const now = rfc3339(new Date(this.opts.clock()));
    const existing = this.ops.store.get(this.nodeType.storageKey, undefined, n.name);
    const status = {
      capacity,
      allocatable: capacity,
      conditions: [
        ...PRESSURE_CONDITIONS.map(([type, reason, message]) => ({ type, status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason, message })),
        { type: 'Ready', status: 'False', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'KubeletNotReady', message: 'container runtime status check may not have completed yet' },
      ],
      addresses: [...(n.address !== undefined ? [{ type: 'InternalIP', address: n.address }] : []), { type: 'Hostname', address: n.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: randomUUID().replace(/-/g, ''),
        systemUUID: randomUUID(),
        bootID: state.bootId,
        kernelVersion: '6.1.0-standin-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.27',
        kubeletVersion: n.kubeletVersion ?? this.opts.kubeletVersion,
        kubeProxyVersion: n.kubeletVersion ?? this.opts.kubeletVersion,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
    if (existing === undefined) {
      const index = this.nodes.size;
      this.ops.create(
        this.nodeType,
        undefined,
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: n.name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
          spec: { podCIDR: `10.233.${64 + (index % 64)}.0/24`, podCIDRs: [`10.233.${64 + (index % 64)}.0/24`], ...(taints.length > 0 ? { taints } : {}) },
          status,
        },
        { fieldManager: 'kubelet' },
      );
    } else {
      // Re-registration after a stand-in restart keeps the object and refreshes what the kubelet owns.
      this.ops.mutate(
        this.nodeType,
        undefined,
        n.name,
        (draft) => {
          const meta = metaOf(draft);
          meta['labels'] = { ...asObject(meta['labels']), ...labels };
          draft['status'] = { ...asObject(draft['status']), capacity, allocatable: capacity, addresses: status.addresses, nodeInfo: status.nodeInfo };
        },
        { manager: 'kubelet', allFields: true },
      );
    }
  }

  private async probeOnce(state: NodeState): Promise<void> {
    if (state.probing || !this.running) return;
    state.probing = true;
    try {
      const ok = state.spec.address === undefined ? true : await this.opts.probe(state.spec.address, state.spec.sshPort ?? 22, this.opts.probeTimeoutMs);
      if (this.running && this.nodes.get(state.spec.name) === state) guarded('kubelet', () => this.observe(state, ok));
    } finally {
      state.probing = false;
    }
  }

  /** Applies one probe result: Ready when answering, Unknown after the grace without answers. */
  observe(state: NodeState, reachable: boolean): void {
    const now = this.opts.clock();
    state.reachable = reachable;
    if (reachable) {
      state.lastSeen = now;
      if (!state.ready) {
        state.ready = true;
        state.lastHeartbeat = now;
        state.lastStatusReport = now;
        if (this.everDown.has(state.spec.name)) state.bootId = randomUUID();
        this.writeReady(state, true);
        this.syncPods(state.spec.name, true);
        this.renewLease(state);
        return;
      }
      if (now - state.lastStatusReport >= this.opts.nodeStatusReportMs) {
        state.lastStatusReport = now;
        this.heartbeat(state);
      }
      if (now - state.lastHeartbeat >= this.opts.heartbeatIntervalMs) {
        state.lastHeartbeat = now;
        this.renewLease(state);
      }
      return;
    }
    if (state.ready && now - state.lastSeen >= this.opts.notReadyGraceMs) {
      state.ready = false;
      this.everDown.add(state.spec.name);
      this.writeReady(state, false);
      this.syncPods(state.spec.name, false);
    } else if (!state.ready && now - state.lastSeen >= this.opts.notReadyGraceMs && !this.markedUnknown.has(state.spec.name)) {
      // Never came up since registration: the node lifecycle controller marks it Unknown too.
      this.everDown.add(state.spec.name);
      this.writeReady(state, false);
    }
  }

  private readonly everDown = new Set<string>();
  private readonly markedUnknown = new Set<string>();

  private writeReady(state: NodeState, ready: boolean): void {
    const name = state.spec.name;
    const now = rfc3339(new Date(this.opts.clock()));
    if (ready) this.markedUnknown.delete(name);
    else this.markedUnknown.add(name);
    this.ops.mutate(
      this.nodeType,
      undefined,
      name,
      (draft) => {
        const status = asObject(draft['status']);
        draft['status'] = status;
        const conditions = asArray(status['conditions']).filter(isPlainObject);
        const set = (type: string, st: string, reason: string, message: string): void => {
          const idx = conditions.findIndex((c) => c['type'] === type);
          const old = idx >= 0 ? conditions[idx] : undefined;
          const c = {
            type,
            status: st,
            lastHeartbeatTime: ready ? now : (old?.['lastHeartbeatTime'] ?? now),
            lastTransitionTime: old !== undefined && old['status'] === st ? old['lastTransitionTime'] : now,
            reason,
            message,
          };
          if (idx >= 0) conditions[idx] = c;
          else conditions.push(c);
        };
        for (const [type, reason, message] of PRESSURE_CONDITIONS) {
          if (ready) set(type, 'False', reason, message);
          else set(type, 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.');
        }
        if (ready) set('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status');
        else set('Ready', 'Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.');
        status['conditions'] = conditions;
        status['nodeInfo'] = { ...asObject(status['nodeInfo']), bootID: state.bootId };
        const spec = asObject(draft['spec']);
        draft['spec'] = spec;
        const taints = asArray(spec['taints']).filter(isPlainObject).filter((t) => t['key'] !== 'node.kubernetes.io/unreachable');
        if (!ready) taints.push(...UNREACHABLE_TAINTS.map((t) => ({ ...t, timeAdded: now })));
        if (taints.length > 0) spec['taints'] = taints;
        else delete spec['taints'];
      },
      { manager: 'kubelet', allFields: true },
    );
  }

  private heartbeat(state: NodeState): void {
    const now = rfc3339(new Date(this.opts.clock()));
    this.ops.mutate(
      this.nodeType,
      undefined,
      state.spec.name,
      (draft) => {
        for (const c of asArray(getPath(draft, ['status', 'conditions']))) if (isPlainObject(c)) c['lastHeartbeatTime'] = now;
      },
      { manager: 'kubelet', subresource: 'status' },
    );
  }

  private renewLease(state: NodeState): void {
    const name = state.spec.name;
    const now = new Date(this.opts.clock()).toISOString().replace('Z', '000Z');
    const existing = this.ops.store.get(this.leaseType.storageKey, 'kube-node-lease', name);
    if (existing === undefined) {
      const node = this.ops.store.get(this.nodeType.storageKey, undefined, name);
      this.ops.create(
        this.leaseType,
        'kube-node-lease',
        {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace: 'kube-node-lease',
            ...(node !== undefined ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: metaOf(node)['uid'] }] } : {}),
          },
          spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now },
        },
        { fieldManager: 'kubelet' },
      );
      return;
    }
    this.ops.mutate(this.leaseType, 'kube-node-lease', name, (draft) => {
      draft['spec'] = { ...asObject(draft['spec']), renewTime: now };
    }, { manager: 'kubelet' });
  }

  private onPod(e: StoreEvent): void {
    if (e.type === 'DELETED') return;
    const node = asString(getPath(e.object, ['spec', 'nodeName']));
    if (node === undefined) return;
    const state = this.nodes.get(node);
    if (state === undefined || !state.ready) return;
    if (getPath(e.object, ['status', 'phase']) !== 'Pending') return;
    const ns = namespaceOf(e.object);
    const name = nameOf(e.object);
    // Run it right after the binding is stored, as a separate status write.
    setImmediate(() => {
      if (this.running && this.nodes.get(node)?.ready === true) guarded('kubelet', () => this.runPod(ns, name, state));
    });
  }

  private runPod(namespace: string | undefined, name: string, state: NodeState): void {
    const now = rfc3339(new Date(this.opts.clock()));
    this.ops.mutate(
      this.podType,
      namespace,
      name,
      (draft) => {
        const status = asObject(draft['status']);
        if (status['phase'] !== 'Pending' || metaOf(draft)['deletionTimestamp'] !== undefined) return;
        const n = this.nextPodIp++;
        const podIp = `10.233.${64 + (Math.floor(n / 254) % 64)}.${(n % 254) + 1}`;
        const hostIp = state.spec.address ?? '127.0.0.1';
        status['phase'] = 'Running';
        status['hostIP'] = hostIp;
        status['hostIPs'] = [{ ip: hostIp }];
        status['podIP'] = podIp;
        status['podIPs'] = [{ ip: podIp }];
        status['startTime'] = now;
        status['containerStatuses'] = asArray(getPath(draft, ['spec', 'containers']))
          .filter(isPlainObject)
          .map((c) => ({
            name: c['name'],
            state: { running: { startedAt: now } },
            lastState: {},
            ready: true,
            restartCount: 0,
            image: c['image'],
            imageID: '',
            containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
            started: true,
          }));
        draft['status'] = status;
        for (const type of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) {
          setCondition(draft, { type, status: 'True' }, now);
        }
      },
      { manager: 'kubelet', subresource: 'status' },
    );
  }

  /** Ready nodes run their pending pods; NotReady nodes' pods lose their Ready condition. */
  private syncPods(node: string, ready: boolean): void {
    const now = rfc3339(new Date(this.opts.clock()));
    const state = this.nodes.get(node);
    const pods = this.ops.list(this.podType, undefined, { fieldSelector: [{ field: 'spec.nodeName', op: 'eq', value: node }] }).items;
    for (const pod of pods) {
      const ns = namespaceOf(pod);
      const name = nameOf(pod);
      if (ready && getPath(pod, ['status', 'phase']) === 'Pending' && state !== undefined) {
        this.runPod(ns, name, state);
        continue;
      }
      if (getPath(pod, ['status', 'phase']) !== 'Running') continue;
      this.ops.mutate(
        this.podType,
        ns,
        name,
        (draft) => {
          setCondition(draft, { type: 'Ready', status: ready ? 'True' : 'False' }, now);
          for (const cs of asArray(getPath(draft, ['status', 'containerStatuses']))) if (isPlainObject(cs)) cs['ready'] = ready;
        },
        { manager: ready ? 'kubelet' : 'node-controller', subresource: 'status' },
      );
    }
  }
}
