// applyHostLayer's checks before anything reaches a node: tags, node names, Kerberos secrets.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyHostLayer, selectedTags } from '../../../src/host/apply.js';
import { example, exampleKerberos } from '../../unit/ansible/clusters.js';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'vmstation-apply-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('applyHostLayer refuses before touching a node', () => {
  it('an unknown tag names the known ones', () => {
    expect(() => selectedTags(['ntp', 'dns'])).toThrow('unknown host-layer tag dns');
    expect(selectedTags([' ntp', 'syslog '])).toEqual(['ntp', 'syslog']);
  });

  it('an unknown node', async () => {
    await expect(applyHostLayer({ cluster: example(), workDir, nodes: ['nope'] })).rejects.toMatchObject({ code: 'unknown-node' });
  });

  it('Kerberos on without a secrets file', async () => {
    await expect(applyHostLayer({ cluster: exampleKerberos(), workDir })).rejects.toMatchObject({ code: 'vault-password-missing' });
  });

  it('Kerberos on with a secret missing names it', async () => {
    const secrets = async () => new Map([['kerberos-master-password', 'x']]);
    await expect(applyHostLayer({ cluster: exampleKerberos(), workDir, secrets })).rejects.toMatchObject({ code: 'secret-missing', message: 'the secrets file has no kerberos-admin-password' });
  });

  it('Kerberos secrets are not needed when the run leaves Kerberos out', async () => {
    // Fails later (the example's hosts are not reachable from here), but not for the secrets.
    const scanned: string[] = [];
    const err = await applyHostLayer({
      cluster: exampleKerberos(),
      workDir,
      tags: ['ntp'],
      nodes: ['masternode'],
      keyScanner: async (address) => {
        scanned.push(address);
        throw new Error('stop here: no network in this test');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('stop here: no network in this test');
    expect(scanned).toEqual(['192.168.4.63']);
  });
});
