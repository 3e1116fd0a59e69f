// A kubeconfig for the stand-in. It has no credentials: the stand-in does no authentication.
import { stringify } from 'yaml';

export function standinKubeconfig(url: string, name = 'vmstation-lab-standin'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: url } }],
    users: [{ name: `${name}-user`, user: {} }],
    contexts: [{ name, context: { cluster: name, user: `${name}-user`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
