// A self-signed serving certificate for the stand-in (the kubeconfig carries it as the CA), made
// by the openssl CLI: @kubernetes/client-node refuses plain-HTTP clusters, and a real cluster
// is HTTPS with its own CA anyway.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ServingCert {
  key: string;
  cert: string;
}

export async function selfSignedCert(host: string): Promise<ServingCert> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-standin-tls-'));
  try {
    const san = [...new Set([`IP:${host}`, 'IP:127.0.0.1', 'DNS:localhost'])].join(',');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '3650',
      '-subj', '/CN=kube-apiserver-standin',
      '-addext', `subjectAltName=${san}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,digitalSignature,keyCertSign',
      '-addext', 'extendedKeyUsage=serverAuth',
    ]);
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
