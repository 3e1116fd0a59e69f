// Cross-field rules for the apps vmstation deploys (a preset or an image): where it runs, what it
// runs, what it mounts. Each problem points at the field to fix.
import { isDeployedApp, PRESET_DEFAULTS } from './app-presets.js';
import { hasRole } from './model.js';
import type { Rule, RuleProblem } from './rules.js';
import type { Path } from './source.js';

const err = (path: Path, code: string, message: string, hint: string): RuleProblem => ({ path, severity: 'error', code, message, hint });
const warn = (path: Path, code: string, message: string, hint: string): RuleProblem => ({ path, severity: 'warning', code, message, hint });

/** Fields that only mean something when vmstation deploys the app. */
const DEPLOY_ONLY = ['env', 'volumes', 'resources', 'media', 'hardwareTranscoding', 'runAsUser', 'runAsGroup'] as const;

/**
 * Why an image reference is not pinned, or undefined when it is: a digest pins it; otherwise the
 * last path component needs a tag, and the tag must not be `latest` (it moves with every release).
 */
export function unpinnedImage(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return 'has no tag, so it means :latest';
  if (last.slice(colon + 1) === 'latest') return 'is tagged :latest, which moves with every release';
  return undefined;
}

/** Why a path is not an absolute, normalized path, or undefined when it is one. */
export function notAbsolute(path: string): string | undefined {
  if (!path.startsWith('/')) return 'is not absolute';
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '.' || p === '..')) return 'has a "." or ".." component';
  if (path.length > 1 && parts.some((p) => p === '')) return 'has an empty component ("//" or a trailing "/")';
  return undefined;
}

export const APP_RULES: readonly Rule[] = [
  {
    name: 'apps are unique',
    check: ({ cluster }) => {
      const seen = new Map<string, number>();
      const out: RuleProblem[] = [];
      cluster.spec.apps.forEach((a, i) => {
        const key = `${a.namespace}/${a.name}`;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else out.push(err(['spec', 'apps', i, 'name'], 'duplicate-app', `app "${a.name}" in namespace ${a.namespace} is listed twice (also apps[${first}])`, 'give each app its own name, or put it in another namespace'));
      });
      return out;
    },
  },
  {
    name: 'deployed apps run on a worker node',
    check: ({ cluster, written }) => {
      const nodes = new Map(cluster.spec.nodes.map((n) => [n.name, n]));
      const workers = cluster.spec.nodes.filter((n) => hasRole(n, 'worker')).map((n) => n.name);
      const out: RuleProblem[] = [];
      cluster.spec.apps.forEach((a, i) => {
        if (!isDeployedApp(a)) return;
        const at: Path = ['spec', 'apps', i, written(['spec', 'apps', i, 'preset']) ? 'preset' : 'image'];
        if (a.node === undefined) {
          out.push(err(at, 'app-without-node', `app "${a.name}" is deployed but names no node: its data lives on one node`, `set apps[].node to the worker that holds its data (${workers.join(', ') || 'no node has the worker role'})`));
          return;
        }
        const node = nodes.get(a.node);
        // An unknown name is reported by "references name existing nodes" (unknown-node).
        if (node && !hasRole(node, 'worker'))
          out.push(err(['spec', 'apps', i, 'node'], 'app-node-not-worker', `app "${a.name}" is deployed on "${a.node}", which is not a worker (roles: ${node.roles.join(', ')})`, `pick a worker (${workers.join(', ') || 'none yet'}), or add the worker role to ${a.node}`));
      });
      return out;
    },
  },
  {
    name: 'deployed apps have a pinned image and a port',
    check: ({ cluster }) => {
      const out: RuleProblem[] = [];
      cluster.spec.apps.forEach((a, i) => {
        if (a.image !== undefined) {
          const why = unpinnedImage(a.image);
          if (why) out.push(err(['spec', 'apps', i, 'image'], 'image-not-pinned', `the image of app "${a.name}", ${a.image}, ${why}`, 'pin a release tag or a digest, e.g. docker.io/jellyfin/jellyfin:10.11.11 (a new pod could otherwise run another version)'));
          if (a.port === undefined) out.push(err(['spec', 'apps', i, 'image'], 'app-without-port', `app "${a.name}" has an image but no port: the Service and probes need the port it serves HTTP on`, 'add apps[].port: the container port (e.g. 8080)'));
        }
        if (isDeployedApp(a)) return;
        // By content, not by key: the resolved model the controller reads back writes `env: {}` and `volumes: []`.
        const field = DEPLOY_ONLY.find((k) => (k === 'env' ? Object.keys(a.env).length > 0 : k === 'volumes' ? a.volumes.length > 0 : a[k] !== undefined));
        if (field)
          out.push(err(['spec', 'apps', i, field], 'app-without-image', `app "${a.name}" sets ${field}, which only a deployed app uses, but has neither preset nor image`, `add preset: jellyfin or image: REF to deploy it, or remove ${field} (an app deployed by other means is only described)`));
      });
      return out;
    },
  },
  {
    name: 'app paths are absolute and volumes well-formed',
    check: ({ cluster }) => {
      const out: RuleProblem[] = [];
      cluster.spec.apps.forEach((a, i) => {
        const base: Path = ['spec', 'apps', i];
        const paths: Array<[Path, string | undefined]> = [
          [[...base, 'media'], a.media],
          [[...base, 'hardwareTranscoding', 'device'], a.hardwareTranscoding?.device],
          ...a.volumes.flatMap((v, j): Array<[Path, string | undefined]> => [
            [[...base, 'volumes', j, 'mountPath'], v.mountPath],
            [[...base, 'volumes', j, 'hostPath'], v.hostPath],
          ]),
        ];
        for (const [path, value] of paths) {
          const why = value === undefined ? undefined : notAbsolute(value);
          if (why) out.push(err(path, 'path-not-absolute', `${String(path[path.length - 1])} "${value}" of app "${a.name}" ${why}`, 'write an absolute path such as /srv/media (no "." or ".." parts)'));
        }
        const preset = a.preset === undefined ? undefined : PRESET_DEFAULTS[a.preset];
        const written = new Set(a.volumes.map((v) => v.name));
        const mounts = new Map<string, string>((preset?.volumes ?? []).filter((v) => !written.has(v.name)).map((v) => [v.mountPath, `the preset's ${v.name} volume`]));
        if (a.media !== undefined) mounts.set(preset?.mediaPath ?? '/media', 'media');
        const names = new Set<string>();
        a.volumes.forEach((v, j) => {
          const at: Path = [...base, 'volumes', j];
          if ((v.size === undefined) === (v.hostPath === undefined))
            out.push(err(at, 'app-volume-invalid', `volume "${v.name}" of app "${a.name}" needs exactly one of size (a claim on its node) or hostPath (a directory of its node)`, 'write size: 5Gi for a new claim, or hostPath: /srv/DIR for a directory that exists on the node'));
          else if (names.has(v.name) || v.name === 'media' || v.name === 'render-device')
            out.push(err([...at, 'name'], 'app-volume-invalid', `volume name "${v.name}" of app "${a.name}" is used twice (media and render-device are taken by media: and hardwareTranscoding:)`, 'give every volume its own name'));
          else if (mounts.has(v.mountPath))
            out.push(err([...at, 'mountPath'], 'app-volume-invalid', `volume "${v.name}" of app "${a.name}" mounts at ${v.mountPath}, where ${mounts.get(v.mountPath)} is mounted`, 'mount it elsewhere, or name it like the preset volume it replaces'));
          names.add(v.name);
          mounts.set(v.mountPath, `volume "${v.name}"`);
        });
      });
      return out;
    },
  },
  {
    name: 'claims of deployed apps have a provisioner',
    check: ({ cluster, written }) => {
      const m = cluster.spec.monitoring;
      if (m.enabled && m.storage.mode === 'local-path') return [];
      const why = m.enabled ? 'monitoring.storage.mode is static (no provisioner creates volumes for other claims)' : 'monitoring is disabled, and with it the local-path provisioner';
      const out: RuleProblem[] = [];
      cluster.spec.apps.forEach((a, i) => {
        if (!isDeployedApp(a)) return;
        const preset = a.preset === undefined ? [] : PRESET_DEFAULTS[a.preset].volumes.filter((p) => !a.volumes.some((v) => v.name === p.name));
        const claims = [...preset.map((v) => v.name), ...a.volumes.filter((v) => v.size !== undefined).map((v) => v.name)];
        if (claims.length === 0) return;
        const at: Path = ['spec', 'apps', i, written(['spec', 'apps', i, 'preset']) ? 'preset' : 'image'];
        // A warning: a cluster may bring its own `local-path` provisioner; without one the claims stay Pending.
        out.push(warn(at, 'app-storage-unavailable', `app "${a.name}" claims volumes (${claims.join(', ')}) on the local-path class, but ${why}: they stay Pending unless the cluster has its own local-path provisioner`, 'enable monitoring with storage.mode: local-path (the default), or give the app hostPath volumes instead of claims'));
      });
      return out;
    },
  },
];
