// homelab's BMC: ipmi_sim on its own lab address, its chassis power tied to the host's real state.
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../run.js';
import { labNode, labSecrets, nodeStatus, sendMagicPacket, sshOk, tcpOpen, waitForPower, waitForSsh, ensureAllAwake } from './lab-fixture.js';

const NODE = 'homelab';

function ipmitool(args: string[], cipher = 3): Promise<Awaited<ReturnType<typeof run>>> {
  const bmc = labNode(NODE).bmc;
  if (!bmc) throw new Error(`${NODE} has no BMC in the lab file`);
  const secrets = labSecrets();
  // The password goes through the environment (-E), never argv.
  return run('ipmitool', ['-I', 'lanplus', '-C', String(cipher), '-H', bmc.address, '-p', String(bmc.port), '-U', secrets[`${NODE}-bmc-user`] ?? '', '-E', ...args], {
    env: { ...process.env, IPMI_PASSWORD: secrets[`${NODE}-bmc-password`] ?? '' },
    timeoutMs: 30_000,
  });
}

describe('IPMI through ipmi_sim', () => {
  beforeAll(() => ensureAllAwake());

  it('reports power on while the host runs, cuts it off, and powers it on again', async () => {
    expect((await ipmitool(['power', 'status'])).stdout.trim()).toBe('Chassis Power is on');

    const off = await ipmitool(['power', 'off']);
    expect(off.code, off.stderr).toBe(0);
    await waitForPower(NODE, 'off', 15_000);
    expect(await tcpOpen(labNode(NODE).address)).toBe(false);
    expect((await ipmitool(['power', 'status'])).stdout.trim()).toBe('Chassis Power is off');

    const on = await ipmitool(['power', 'on']);
    expect(on.code, on.stderr).toBe(0);
    expect((await ipmitool(['power', 'status'])).stdout.trim()).toBe('Chassis Power is on');
    await waitForPower(NODE, 'on', 15_000);
    await waitForSsh(NODE);
    expect((await sshOk(NODE, 'hostname')).trim()).toBe(NODE);
  });

  it('wakes a host that ignores magic packets (IPMI is the fallback)', async () => {
    const { control } = await import('./lab-fixture.js');
    await control(`/nodes/${NODE}/faults`, { method: 'POST', body: JSON.stringify({ neverWake: true }) });
    try {
      await sshOk(NODE, '/usr/local/sbin/lab-suspend');
      await waitForPower(NODE, 'asleep', 30_000);
      expect((await ipmitool(['power', 'status'])).stdout.trim()).toBe('Chassis Power is off');
      await sendMagicPacket(labNode(NODE).mac);
      await new Promise((r) => setTimeout(r, 2500));
      expect((await nodeStatus(NODE)).power).toBe('asleep');
      expect((await ipmitool(['power', 'on'])).code).toBe(0);
      await waitForPower(NODE, 'on', 15_000);
      await waitForSsh(NODE);
    } finally {
      await control(`/nodes/${NODE}/faults`, { method: 'DELETE' });
    }
  });

  it('refuses a wrong password and cipher suite 17 (as measured with this ipmi_sim)', async () => {
    const bmc = labNode(NODE).bmc;
    const wrong = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', bmc?.address ?? '', '-U', labSecrets()[`${NODE}-bmc-user`] ?? '', '-E', 'power', 'status'], {
      env: { ...process.env, IPMI_PASSWORD: 'not-the-password' },
      timeoutMs: 30_000,
    });
    expect(wrong.code).not.toBe(0);
    expect((await ipmitool(['power', 'status'], 17)).code).not.toBe(0);
  });
});
