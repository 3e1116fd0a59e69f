// Every verb of the CLI, in the order `--help` lists them. Each capability adds one line:
// the verb's name and a loader. Only the verb being run is loaded, so `validate` does not pay
// for the Kubernetes client or the renderers (start-up time is a benchmark target).
import type { Command } from 'commander';
import type { CliIo } from '../io.js';

export type RegisterVerb = (program: Command, io: CliIo) => void;

export const VERBS: ReadonlyArray<readonly [name: string, load: () => Promise<RegisterVerb>]> = [
  ['validate', async () => (await import('./validate.js')).registerValidate],
  ['render', async () => (await import('./render.js')).registerRender],
  ['plan', async () => (await import('./plan.js')).registerPlan],
  ['preflight', async () => (await import('./preflight.js')).registerPreflight],
  ['deploy', async () => (await import('./deploy.js')).registerDeploy],
  ['verify', async () => (await import('./verify.js')).registerVerify],
  ['reset', async () => (await import('./reset.js')).registerReset],
  ['host', async () => (await import('./host.js')).registerHost],
  ['power', async () => (await import('./power.js')).loadPowerVerb()],
  ['etcd', async () => (await import('./etcd.js')).registerEtcd],
  ['image', async () => (await import('./image.js')).registerImage],
  ['secrets', async () => (await import('./secrets.js')).registerSecrets],
  ['init', async () => (await import('./init.js')).registerInit],
  ['schema', async () => (await import('./schema.js')).registerSchema],
];
