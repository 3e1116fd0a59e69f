// `npm run lab -- up [-f FILE] | down | status | ssh NODE [CMD...] | fault NODE ... | wake NODE`
// The local multi-host test bed; see docs/lab.md.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { addHosts, removeHosts } from './hosts.js';
import { down, labIsUp, up, type LabFixture } from './lifecycle.js';
import { labPaths } from './paths.js';
import { LabError } from './run.js';
import { readRuntime } from './state.js';
import { buildMagicPacket } from './wol/magic-packet.js';
import dgram from 'node:dgram';

const paths = labPaths();

function fixture(): LabFixture {
  try {
    return JSON.parse(readFileSync(paths.fixtureFile, 'utf8')) as LabFixture;
  } catch {
    throw new LabError('the lab is not up', 'start it with `npm run lab -- up`');
  }
}

async function control(path: string, init?: RequestInit): Promise<unknown> {
  const rt = readRuntime(paths);
  if (!rt) throw new LabError('the lab is not up', 'start it with `npm run lab -- up`');
  const r = await fetch(`http://127.0.0.1:${rt.controlPort}${path}`, init);
  const text = await r.text();
  if (!r.ok) throw new LabError(`lab control ${path}: ${r.status} ${text.trim()}`);
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
};

const program = new Command('lab').description('VMStation lab: the seed homelab as systemd-nspawn hosts on this machine');

program
  .command('up')
  .description('build or reuse the root filesystem, start every node, wait until each answers SSH')
  .option('-f, --file <file>', 'cluster file', undefined)
  .option('--boot-delay <ms>', 'delay between a wake signal and the boot', int, 1000)
  .action(async (o: { file?: string; bootDelay: number }) => {
    const r = await up({ ...(o.file ? { file: o.file } : {}), bootDelayMs: o.bootDelay, owner: 'cli' });
    console.log(`lab ${r.reused ? 'was already up' : 'up'} in ${(r.totalMs / 1000).toFixed(1)}s${r.rootfsBuilt ? ` (root filesystem built in ${(r.rootfsMs / 1000).toFixed(1)}s)` : ''}`);
    for (const n of r.fixture.nodes) console.log(`  ${n.name.padEnd(18)} ${n.address.padEnd(12)} ${n.mac}${n.bmc ? `  BMC ${n.bmc.address}` : ''}`);
    console.log(`ssh config: ${r.fixture.sshConfig}\nknown_hosts: ${r.fixture.knownHosts}\nkubeconfig: ${r.fixture.kubeconfig ?? '(no Kubernetes API stand-in yet)'}\ncontrol: ${r.fixture.controlUrl}`);
  });

program
  .command('add')
  .description('add the hosts of a cluster file that the running lab does not have (e.g. a fourth node)')
  .requiredOption('-f, --file <file>', 'cluster file with the extra node(s) on 10.78.0.0/24')
  .action(async (o: { file: string }) => {
    const added = await addHosts(o.file);
    console.log(added.length > 0 ? `added ${added.join(', ')}` : 'nothing to add: every node of the file is a lab host');
  });

program
  .command('remove')
  .description('stop and remove hosts from the running lab (their disk state goes too)')
  .argument('<nodes...>')
  .action(async (nodes: string[]) => {
    await removeHosts(nodes);
  });

program
  .command('down')
  .description('stop every node and remove everything the lab made (idempotent, also after a crash)')
  .action(async () => {
    await down();
    console.log('lab down: no process, link, cgroup, mount or state left');
  });

program
  .command('status')
  .description('power state, PID and memory of every node')
  .option('--json', 'machine-readable')
  .action(async (o: { json?: boolean }) => {
    if (!(await labIsUp(paths))) {
      console.log('the lab is down');
      process.exitCode = 3;
      return;
    }
    const s = (await control('/status')) as { nodes: { name: string; address: string; power: string; pid: number | null; memoryBytes: number | null; boots: number; faults: unknown }[] };
    if (o.json) return console.log(JSON.stringify(s, null, 2));
    for (const n of s.nodes) {
      const mem = n.memoryBytes === null ? '-' : `${(n.memoryBytes / 2 ** 20).toFixed(0)} MiB`;
      console.log(`${n.name.padEnd(18)} ${n.address.padEnd(12)} ${n.power.padEnd(8)} pid ${String(n.pid ?? '-').padEnd(8)} mem ${mem.padEnd(8)} boots ${n.boots} faults ${JSON.stringify(n.faults)}`);
    }
  });

program
  .command('ssh')
  .description('ssh into a node (host-key checking on)')
  .argument('<node>')
  .argument('[command...]')
  .action((node: string, command: string[]) => {
    const f = fixture();
    const r = spawnSync('ssh', ['-F', f.sshConfig, ...(command.length ? [] : ['-t']), node, ...command], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  });

program
  .command('fault')
  .description('inject faults into a node\'s emulated hardware')
  .argument('<node>')
  .option('--drop-magic <n>', 'drop the next N magic packets for it', int)
  .option('--never-wake', 'magic packets never wake it (its BMC still does)')
  .option('--wake', 'undo --never-wake')
  .option('--slow-boot <ms>', 'extra delay on every boot', int)
  .option('--refuse-ssh <ms>', 'sshd refuses connections for this long', int)
  .option('--clear', 'remove every fault')
  .action(async (node: string, o: { dropMagic?: number; neverWake?: boolean; wake?: boolean; slowBoot?: number; refuseSsh?: number; clear?: boolean }) => {
    if (o.clear) return console.log(JSON.stringify(await control(`/nodes/${node}/faults`, { method: 'DELETE' }), null, 2));
    const body: Record<string, unknown> = {};
    if (o.dropMagic !== undefined) body.dropMagicPackets = o.dropMagic;
    if (o.neverWake) body.neverWake = true;
    if (o.wake) body.neverWake = false;
    if (o.slowBoot !== undefined) body.slowBootMs = o.slowBoot;
    if (o.refuseSsh !== undefined) body.refuseSshForMs = o.refuseSsh;
    console.log(JSON.stringify(await control(`/nodes/${node}/faults`, { method: 'POST', body: JSON.stringify(body) }), null, 2));
  });

program
  .command('wake')
  .description('send a real magic packet for a node to the lab broadcast address (UDP port 9)')
  .argument('<node>')
  .action(async (node: string) => {
    const f = fixture();
    const n = f.nodes.find((x) => x.name === node);
    if (!n) throw new LabError(`no lab node ${node}`);
    const s = dgram.createSocket('udp4');
    await new Promise<void>((res) => s.bind(() => res()));
    s.setBroadcast(true);
    await new Promise<void>((res, rej) => s.send(buildMagicPacket(n.mac), 9, f.broadcast, (e) => (e ? rej(e) : res())));
    s.close();
    console.log(`magic packet for ${n.mac} sent to ${f.broadcast}:9`);
  });

program
  .command('events')
  .description('what the power emulator saw and did')
  .action(async () => {
    const e = (await control('/events')) as { events: { at: string; node: string; kind: string; detail?: unknown }[] };
    for (const x of e.events) console.log(`${x.at} ${x.node.padEnd(18)} ${x.kind}${x.detail ? ' ' + JSON.stringify(x.detail) : ''}`);
  });

program.parseAsync().catch((e: unknown) => {
  if (e instanceof LabError) {
    console.error(`error: ${e.message}`);
    for (const d of e.details) console.error(`  ${d}`);
    if (e.hint) console.error(`  hint: ${e.hint}`);
    process.exit(1);
  }
  console.error(e);
  process.exit(70);
});
