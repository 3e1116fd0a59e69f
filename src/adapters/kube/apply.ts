// Server-side apply, read, list and delete of arbitrary objects through
// @kubernetes/client-node@1's KubernetesObjectApi (the deploy pipeline's manifests).
// Outcomes are plain values; HTTP errors become messages with the API's own reason.
import { ApiException, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { httpStatusOf } from './client.js';
import { errorMessage } from '../../errors.js';

/** The `message` of the Kubernetes Status body client-node's ApiException carries, else the error's. */
function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
      if (parsed && typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: fall through
    }
    return `HTTP ${err.code}`;
  }
  return errorMessage(err);
}

export const FIELD_MANAGER = 'vmstation';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface ApplyResult {
  ref: ObjectRef;
  outcome: ApplyOutcome;
  object: KubernetesObject;
}

export function refOf(o: KubernetesObject): ObjectRef {
  return { apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', name: o.metadata?.name ?? '', namespace: o.metadata?.namespace };
}

export function refText(r: ObjectRef): string {
  return `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

export class KubeApplyError extends Error {
  constructor(
    readonly ref: ObjectRef,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApplyError';
  }
}

export class ObjectClient {
  private readonly api: KubernetesObjectApi;

  constructor(kc: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  async read(ref: ObjectRef): Promise<KubernetesObject | undefined> {
    try {
      return await this.api.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } });
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw new KubeApplyError(ref, httpStatusOf(err), `cannot read ${refText(ref)}: ${apiMessage(err)}`);
    }
  }

  /** Server-side apply as field manager `vmstation`; `force` takes over fields other managers own. */
  async apply(obj: KubernetesObject, opts: { force?: boolean; dryRun?: boolean } = {}): Promise<ApplyResult> {
    const ref = refOf(obj);
    const before = await this.read(ref);
    try {
      const after = await this.api.patch(obj, undefined, opts.dryRun ? 'All' : undefined, FIELD_MANAGER, opts.force ?? true, PatchStrategy.ServerSideApply);
      const outcome: ApplyOutcome = !before ? 'created' : before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
      return { ref, outcome, object: after };
    } catch (err) {
      throw new KubeApplyError(ref, httpStatusOf(err), `server-side apply of ${refText(ref)} failed: ${apiMessage(err)}`);
    }
  }

  async list(apiVersion: string, kind: string, labelSelector: string, namespace?: string): Promise<KubernetesObject[]> {
    try {
      const res = await this.api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
      return res.items.map((i) => ({ ...i, apiVersion: i.apiVersion ?? apiVersion, kind: i.kind ?? kind }));
    } catch (err) {
      // A kind the server does not serve (e.g. a CRD not installed) has nothing to list.
      if (httpStatusOf(err) === 404) return [];
      throw new KubeApplyError({ apiVersion, kind, name: '*' }, httpStatusOf(err), `cannot list ${kind} (${labelSelector}): ${apiMessage(err)}`);
    }
  }

  async delete(ref: ObjectRef): Promise<boolean> {
    try {
      await this.api.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } }, undefined, undefined, undefined, undefined, 'Background');
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 404) return false;
      throw new KubeApplyError(ref, httpStatusOf(err), `cannot delete ${refText(ref)}: ${apiMessage(err)}`);
    }
  }
}
