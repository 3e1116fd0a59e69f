// Sleep and wake as on real hardware: the node's suspend command (over SSH, as the power manager
// calls it) takes the whole host down; only a magic packet carrying its MAC brings it back.
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateText } from '../../src/config/validate.js';
import { buildMagicPacket } from '../wol/magic-packet.js';
import { control, events, waitFor, labFixture, labNode, nodeStatus, sendMagicPacket, sendRawMagicFrame, ssh, sshOk, tcpOpen, waitForPower, waitForSsh, ensureAllAwake } from './lab-fixture.js';
import { sleep } from '../run.js';

const NODE = 'storagenodet3500';
/** Not a lab MAC: a packet for it must wake nobody. */
const STRANGER_MAC = '02:00:0a:4e:00:99';

function suspendCommand(node: string): string {
  const lab = labFixture();
  const cluster = validateText({ file: lab.clusterFile, text: readFileSync(lab.clusterFile, 'utf8') }).cluster;
  const cmd = cluster?.spec.nodes.find((n) => n.name === node)?.power.suspendCommand;
  if (!cmd) throw new Error(`no suspendCommand for ${node}`);
  return cmd;
}

async function suspend(node: string): Promise<void> {
  const r = await ssh(node, suspendCommand(node));
  expect(r.code, r.stderr).toBe(0);
  await waitForPower(node, 'asleep', 30_000);
}

async function faults(node: string, body: Record<string, unknown>): Promise<void> {
  await control(`/nodes/${node}/faults`, { method: body.clear ? 'DELETE' : 'POST', body: JSON.stringify(body) });
}

/** Waits a little longer than the boot delay and checks the node is still down. */
async function staysDown(node: string): Promise<void> {
  await sleep(2500);
  const s = await nodeStatus(node);
  expect(['asleep', 'off']).toContain(s.power);
  expect(await tcpOpen(labNode(node).address)).toBe(false);
}

describe('power emulation', () => {
  beforeAll(() => ensureAllAwake());
  // A failed test must not leave its fault behind for the next one.
  afterEach(() => faults(NODE, { clear: true }));

  it('suspends by the node\'s suspend command, ignores other MACs, wakes on its own magic packet (UDP broadcast)', async () => {
    const node = labNode(NODE);
    const before = await nodeStatus(NODE);
    const from = (await events()).last;

    await suspend(NODE);
    // The whole host is down: no container process, no sshd, no answer on TCP 22.
    const asleep = await nodeStatus(NODE);
    expect(asleep.pid).toBeNull();
    expect(await tcpOpen(node.address)).toBe(false);
    expect((await ssh(NODE, 'true', { timeoutMs: 15_000 })).code).toBe(255);

    // A magic packet for another MAC (a stranger, then another lab node) does not wake it.
    await sendMagicPacket(STRANGER_MAC);
    await sendMagicPacket(labNode('masternode').mac, 7);
    await staysDown(NODE);

    // Its own, sent from the host side to the lab broadcast address, does.
    await sendMagicPacket(node.mac);
    await waitForPower(NODE, 'on', 15_000);
    const sshMs = await waitForSsh(NODE, 60_000);
    expect((await sshOk(NODE, 'hostname')).trim()).toBe(NODE);
    expect((await nodeStatus(NODE)).boots).toBe(before.boots + 1);

    const seen = (await events(from)).events;
    expect(seen.find((e) => e.kind === 'magic-packet-ignored' && e.detail?.mac === STRANGER_MAC)).toBeDefined();
    expect(seen.find((e) => e.kind === 'magic-packet-no-effect' && e.node === 'masternode')).toBeDefined();
    expect(seen.find((e) => e.kind === 'magic-packet-wake' && e.node === NODE && e.detail?.via === 'udp:9')).toBeDefined();
    console.log(`[lab] ${NODE}: SSH back ${sshMs} ms after its wake`);
  });

  it('wakes on a raw EtherType 0x0842 frame carrying its MAC, and not on one carrying another', async () => {
    const node = labNode(NODE);
    const from = (await events()).last;
    await suspend(NODE);
    await sendRawMagicFrame(STRANGER_MAC);
    await staysDown(NODE);
    await sendRawMagicFrame(node.mac);
    await waitForPower(NODE, 'on', 15_000);
    await waitForSsh(NODE);
    const seen = (await events(from)).events;
    expect(seen.find((e) => e.kind === 'magic-packet-ignored' && e.detail?.via === 'ether:0x0842')).toBeDefined();
    expect(seen.find((e) => e.kind === 'magic-packet-wake' && e.detail?.via === 'ether:0x0842')).toBeDefined();
  });

  it('a node inside the lab can wake another by broadcast (as the in-cluster power manager does)', async () => {
    await suspend(NODE);
    const hex = buildMagicPacket(labNode(NODE).mac).toString('hex');
    const py = `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); s.sendto(bytes.fromhex('${hex}'), ('${labFixture().broadcast}', 9))`;
    await sshOk('masternode', `python3 -c "${py}"`);
    await waitForPower(NODE, 'on', 15_000);
    await waitForSsh(NODE);
  });

  it('fault: drops the next N magic packets, then wakes', async () => {
    const from = (await events()).last;
    await suspend(NODE);
    await faults(NODE, { dropMagicPackets: 2 });
    await sendMagicPacket(labNode(NODE).mac);
    await sendMagicPacket(labNode(NODE).mac);
    await staysDown(NODE);
    await sendMagicPacket(labNode(NODE).mac);
    await waitForPower(NODE, 'on', 15_000);
    await waitForSsh(NODE);
    expect((await events(from)).events.filter((e) => e.kind === 'magic-packet-dropped' && e.node === NODE)).toHaveLength(2);
  });

  it('fault: never wakes by magic packet; slow boot delays the wake', async () => {
    await suspend(NODE);
    await faults(NODE, { neverWake: true });
    await sendMagicPacket(labNode(NODE).mac);
    await staysDown(NODE);
    await faults(NODE, { neverWake: false, slowBootMs: 4000 });
    const sent = Date.now();
    await sendMagicPacket(labNode(NODE).mac);
    await waitForPower(NODE, 'booting', 5000);
    await waitForPower(NODE, 'on', 20_000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(4000);
    await waitForSsh(NODE);
    await faults(NODE, { clear: true });
  });

  it('fault: SSH refuses connections for a while, then accepts', async () => {
    const from = (await events()).last;
    await faults(NODE, { refuseSshForMs: 4000 });
    // The supervisor installs the refusing rule asynchronously (nsenter + nft): wait for it to
    // say so (or say why it could not), instead of guessing a delay.
    const applied = await waitFor('the SSH fault to be in place', async () => {
      const e = (await events(from)).events.find((x) => x.node === NODE && (x.kind === 'ssh-refusing' || x.kind === 'fault-error'));
      return e;
    }, 3000, 50);
    expect(applied.kind, JSON.stringify(applied)).toBe('ssh-refusing');
    const refused = await ssh(NODE, 'true', { timeoutMs: 10_000 });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('Connection refused');
    const ms = await waitForSsh(NODE, 20_000);
    expect(ms).toBeGreaterThan(2000);
    await faults(NODE, { clear: true });
  });

  it('a reboot inside comes back by itself (nspawn exit 133 restarts the container)', async () => {
    const before = await nodeStatus(NODE);
    const from = (await events()).last;
    await ssh(NODE, 'systemctl reboot --no-block');
    await waitFor('a new boot', async () => ((await nodeStatus(NODE)).boots > before.boots ? true : undefined), 30_000);
    await waitForSsh(NODE);
    expect((await nodeStatus(NODE)).power).toBe('on');
    expect((await events(from)).events.find((e) => e.kind === 'reboot' && e.node === NODE)).toBeDefined();
  });
});
