// A kubeconfig for the stand-in. It has no credentials: the stand-in does no authentication.
import { stringify } from 'yaml';

export function standinKubeconfig(url: string, caCert?: string, name = 'vmstation-lab-standin'): string {
  const cluster: Record<string, string> = { server: url };
  if (caCert !== undefined) cluster['certificate-authority-data'] = Buffer.from(caCert).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-user`, user: {} }],
    contexts: [{ name, context: { cluster: name, user: `${name}-user`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
