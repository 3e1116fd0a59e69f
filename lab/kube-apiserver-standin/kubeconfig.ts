// A kubeconfig for the stand-in. The stand-in does no authentication; the user has a placeholder
// bearer token (not a secret, ignored by the server) only because kubectl prompts for a username
// and password when an HTTPS cluster's user has no credentials at all.
import { stringify } from 'yaml';

export function standinKubeconfig(url: string, caCert?: string, name = 'vmstation-lab-standin'): string {
  const cluster: Record<string, string> = { server: url };
  if (caCert !== undefined) cluster['certificate-authority-data'] = Buffer.from(caCert).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-user`, user: { token: 'standin-ignores-this-token' } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-user`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
