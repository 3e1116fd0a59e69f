// The power manager's own SSH key (issue 17 §4), against a real OpenSSH server on 127.0.0.1:
// the key is created in (or taken from) the secrets store, authorized with the line the host
// layer renders (restrict, from=, command=; sshd(8) "AUTHORIZED_KEYS FILE FORMAT"), and then
// runs the suspend program and nothing else. (The node in the file is 127.0.0.2, the sshd listens
// on 127.0.0.1: the SSH target is given directly; the control plane, where the key may come
// from, is 127.0.0.1.) The forced program here is the rendered suspend
// program with a suspend command that only appends to a marker file.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConnection, SshError, type SshTarget } from '../../../src/adapters/ssh/index.js';
import type { Cluster } from '../../../src/config/model.js';
import { ensurePowerKey, powerPublicKey } from '../../../src/host/power-key.js';
import { POWER_KEY_COMMENT, POWER_KEY_SECRET, powerAuthorizedKeyLine, renderPowerSuspendScript } from '../../../src/render/ansible/power-key.js';
import { sshCheck, suspendOverSsh } from '../../../src/power/drivers/suspend.js';
import { clusterFromText } from '../../unit/deploy/helpers.js';
import { startSshd, type SshdFixture } from './sshd-fixture.js';

function memoryVault(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  const writes: string[] = [];
  return {
    values,
    writes,
    get: (name: string) => values.get(name),
    put: async (name: string, value: string) => {
      writes.push(name);
      values.set(name, value);
    },
  };
}

function clusterOn(port: number, controlPlane = '127.0.0.1'): Cluster {
  return clusterFromText(`apiVersion: vmstation.io/v1alpha1
kind: Cluster
metadata: { name: loop }
spec:
  network: { subnet: 127.0.0.0/8 }
  ssh: { user: root, port: ${port} }
  nodes:
    - { name: cp, address: ${controlPlane}, os: debian-12, roles: [control-plane] }
    - name: sleeper
      address: 127.0.0.2
      mac: "02:00:00:00:00:11"
      os: debian-12
      roles: [worker]
      power: { autoSleep: true, wake: [wol], watts: { awake: 80, asleep: 3 } }
  monitoring: { enabled: false }
`);
}

describe('the power manager key in the secrets store', () => {
  it('is created once (ed25519, OpenSSH format) and then reused', async () => {
    const vault = memoryVault();
    const first = await ensurePowerKey(vault);
    expect(first.created).toBe(true);
    expect(vault.writes).toEqual([POWER_KEY_SECRET]);
    expect(vault.values.get(POWER_KEY_SECRET)).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(first.publicKey).toMatch(new RegExp(`^ssh-ed25519 [A-Za-z0-9+/=]+ ${POWER_KEY_COMMENT}$`));
    const again = await ensurePowerKey(vault);
    expect(again).toEqual({ publicKey: first.publicKey, created: false });
    expect(vault.writes).toHaveLength(1);
  });

  it('refuses a stored value that is not an unencrypted private key, saying how to fix it', async () => {
    await expect(ensurePowerKey(memoryVault({ [POWER_KEY_SECRET]: 'not a key' }))).rejects.toMatchObject({ code: 'power-key-invalid' });
    expect(() => powerPublicKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK vmstation')).toThrow(/not an unencrypted OpenSSH private key/);
  });
});

describe('the restricted key against a real sshd on 127.0.0.1', () => {
  let sshd: SshdFixture;
  let cluster: Cluster;
  let target: SshTarget;
  let marker: string;
  let authorizedLine: string;
  const authorized = () => path.join(sshd.dir, 'authorized_keys');

  beforeAll(async () => {
    sshd = await startSshd();
    cluster = clusterOn(sshd.port);
    marker = path.join(sshd.dir, 'suspended');
    // The rendered suspend program, with a suspend command that leaves a trace instead of suspending.
    const sleeper = cluster.spec.nodes.find((n) => n.name === 'sleeper')!;
    const script = path.join(sshd.dir, 'power-suspend');
    writeFileSync(script, renderPowerSuspendScript({ ...sleeper, power: { ...sleeper.power, suspendCommand: `echo suspended >> ${marker}` } }));
    chmodSync(script, 0o755);
    const vault = memoryVault();
    const { publicKey } = await ensurePowerKey(vault);
    const keyFile = path.join(sshd.dir, 'power_key');
    writeFileSync(keyFile, vault.values.get(POWER_KEY_SECRET)!, { mode: 0o600 });
    authorizedLine = powerAuthorizedKeyLine(cluster, publicKey, script);
    writeFileSync(authorized(), `${authorizedLine}\n`, { mode: 0o600 });
    target = { host: '127.0.0.1', port: sshd.port, username: 'root', privateKeyPath: keyFile, knownHostsPath: sshd.knownHosts };
  });
  afterAll(async () => sshd.stop());

  const suspends = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0);

  it('is authorized with restrict, from= the control planes and command= the suspend program', () => {
    expect(authorizedLine).toMatch(new RegExp(`^restrict,from="127\\.0\\.0\\.1",command="${sshd.dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/power-suspend" ssh-ed25519 \\S+ ${POWER_KEY_COMMENT}$`));
  });

  it('runs the suspend program when the controller suspends the node', async () => {
    const before = suspends();
    const r = await suspendOverSsh(target, 'systemctl suspend');
    expect(r.exitCode).toBe(0);
    expect(suspends()).toBe(before + 1);
  });

  it('any other command runs the suspend program instead, never the command', async () => {
    const before = suspends();
    const conn = await SshConnection.open(target);
    try {
      const pwned = path.join(sshd.dir, 'pwned');
      const r = await conn.exec(`cat /etc/passwd; touch ${pwned}`);
      expect(r.stdout).not.toContain('root:');
      expect(existsSync(pwned)).toBe(false);
    } finally {
      conn.close();
    }
    expect(suspends()).toBe(before + 1);
  });

  it('the after-wake SSH check authenticates without running anything (no suspend)', async () => {
    const before = suspends();
    await sshCheck(target);
    await sshCheck(target);
    expect(suspends()).toBe(before);
  });

  it('refuses port forwarding (direct-tcpip) and a PTY', async () => {
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: sshd.port, username: 'root', privateKey: readFileSync(target.privateKeyPath), hostVerifier: () => true });
    });
    try {
      const forward = await new Promise<Error | undefined>((resolve) => client.forwardOut('127.0.0.1', 40000, '127.0.0.1', sshd.port, (err, stream) => (err ? resolve(err) : (stream.close(), resolve(undefined)))));
      expect(forward?.message).toMatch(/administratively prohibited|open failed/i);
      const pty = await new Promise<Error | undefined>((resolve) => client.shell({ term: 'xterm' }, (err, stream) => (err ? resolve(err) : (stream.close(), resolve(undefined)))));
      expect(pty?.message).toMatch(/pseudo-terminal/i);
    } finally {
      client.end();
    }
  });

  it('is refused from an address that is not a control-plane node (from=)', async () => {
    const elsewhere = clusterOn(sshd.port, '127.0.0.3');
    writeFileSync(authorized(), `${powerAuthorizedKeyLine(elsewhere, authorizedLine.split(' ').slice(1).join(' '), path.join(sshd.dir, 'power-suspend'))}\n`, { mode: 0o600 });
    try {
      const err = (await sshCheck(target, { timeoutMs: 5000 }).catch((e: unknown) => e)) as SshError;
      expect(err).toBeInstanceOf(SshError);
      expect(err.kind).toBe('auth');
    } finally {
      writeFileSync(authorized(), `${authorizedLine}\n`, { mode: 0o600 });
    }
  });
});
