// Hosts added to and removed from a running lab, from a cluster file (`lab add -f FILE`, `lab
// remove NODE`): a day-two test grows the seed's three hosts by one and shrinks it back, without
// taking the lab down under other users. A host is made exactly as `up` makes one (its own
// overlay, SSH host key, MAC and address), recorded in state.json before it starts (so `down`
// removes it, also after a crash), and started by the supervisor.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseLabSpec, type LabNode } from './lab-config.js';
import { labIsUp, sshKeygen, waitForSsh, type LabFixture } from './lifecycle.js';
import { withLabLock } from './lock.js';
import { labPaths, nodeDir, type LabPaths } from './paths.js';
import { hostsFile, knownHosts, networkUnit, sshConfig } from './render.js';
import { LabError } from './run.js';
import { readRuntime, readState, writeState } from './state.js';

async function control(paths: LabPaths, path: string, init?: RequestInit): Promise<unknown> {
  const rt = readRuntime(paths);
  if (!rt) throw new LabError('the lab is not up', 'start it with `npm run lab -- up`');
  const r = await fetch(`http://127.0.0.1:${rt.controlPort}${path}`, init);
  const text = await r.text();
  if (!r.ok) throw new LabError(`lab control ${path}: ${r.status} ${text.trim()}`);
  return JSON.parse(text) as unknown;
}

/** known_hosts entries by node, as `up` wrote them (name,address key). */
async function readKnownHosts(paths: LabPaths): Promise<Array<{ node: LabNode; publicKey: string }>> {
  const state = readState(paths);
  const lines = (await readFile(paths.knownHosts, 'utf8')).split('\n').filter(Boolean);
  return lines.flatMap((l) => {
    const [names, type, key] = l.split(/\s+/);
    const node = state?.spec.nodes.find((n) => n.name === names?.split(',')[0]);
    return node && type && key ? [{ node, publicKey: `${type} ${key}` }] : [];
  });
}

async function writeClientFiles(paths: LabPaths, entries: Array<{ node: LabNode; publicKey: string }>): Promise<void> {
  const state = readState(paths)!;
  await writeFile(paths.knownHosts, knownHosts(entries));
  await writeFile(paths.sshConfig, sshConfig(state.spec, paths.clientKey, paths.knownHosts));
  const fixture = JSON.parse(await readFile(paths.fixtureFile, 'utf8')) as LabFixture;
  fixture.nodes = state.spec.nodes.map((n) => ({ name: n.name, address: n.address, mac: n.mac, bmc: n.bmc ?? null }));
  await writeFile(paths.fixtureFile, JSON.stringify(fixture, null, 2) + '\n');
}

/** Adds the hosts of `file` the running lab does not have; returns their names. */
export async function addHosts(file: string, opts: { paths?: LabPaths; log?: (l: string) => void } = {}): Promise<string[]> {
  const paths = opts.paths ?? labPaths();
  const log = opts.log ?? ((l: string) => console.log(l));
  return withLabLock(paths, async () => {
    const state = readState(paths);
    if (!state || !(await labIsUp(paths))) throw new LabError('the lab is not up', 'start it with `npm run lab -- up`');
    const wanted = parseLabSpec(await readFile(resolve(file), 'utf8'), file);
    const fresh = wanted.nodes.filter((n) => !state.spec.nodes.some((o) => o.name === n.name));
    for (const n of fresh) {
      const clash = state.spec.nodes.find((o) => o.address === n.address || o.mac === n.mac || (o.bmc && o.bmc.address === n.address));
      if (clash) throw new LabError(`${n.name}: its address or MAC is ${clash.name}'s`, 'give the new host its own address and MAC on 10.78.0.0/24');
      if (n.bmc) throw new LabError(`${n.name}: a BMC for an added host is not supported`, 'add hosts without power.bmc (BMCs are made by `lab up`)');
    }
    if (fresh.length === 0) return [];
    const entries = await readKnownHosts(paths);
    // Recorded before anything is made, so `down` removes a half-added host.
    state.spec.nodes.push(...fresh);
    await writeState(paths, state);
    const clientPub = await readFile(`${paths.clientKey}.pub`, 'utf8');
    for (const node of fresh) {
      const d = nodeDir(paths, node.name);
      await mkdir(join(d, 'upper', 'etc', 'ssh'), { recursive: true });
      await mkdir(join(d, 'upper', 'root', '.ssh'), { recursive: true, mode: 0o700 });
      await mkdir(join(d, 'power'), { recursive: true });
      entries.push({ node, publicKey: await sshKeygen(join(d, 'upper', 'etc', 'ssh', 'ssh_host_ed25519_key'), `root@${node.name}`) });
      await writeFile(join(d, 'upper', 'root', '.ssh', 'authorized_keys'), clientPub, { mode: 0o600 });
      await writeFile(join(d, 'upper', 'etc', 'hosts'), hostsFile(state.spec, node));
      await writeFile(join(d, '10-lab.network'), networkUnit(state.spec, node));
    }
    await writeClientFiles(paths, entries);
    for (const node of fresh) {
      await control(paths, '/nodes', { method: 'POST', body: JSON.stringify({ name: node.name }) });
      log(`${node.name} (${node.address}) added; answering SSH after ${await waitForSsh(paths, node.name, 90_000)} ms`);
    }
    return fresh.map((n) => n.name);
  });
}

/** Stops and removes hosts added with addHosts (or any host: the lab then runs without it). */
export async function removeHosts(names: readonly string[], opts: { paths?: LabPaths; log?: (l: string) => void } = {}): Promise<void> {
  const paths = opts.paths ?? labPaths();
  const log = opts.log ?? ((l: string) => console.log(l));
  await withLabLock(paths, async () => {
    const state = readState(paths);
    if (!state) throw new LabError('the lab is not up', 'start it with `npm run lab -- up`');
    for (const name of names) {
      if (!state.spec.nodes.some((n) => n.name === name)) continue;
      if (await labIsUp(paths)) await control(paths, `/nodes/${name}`, { method: 'DELETE' }).catch((e: unknown) => log(`${name}: ${String(e)}`));
      const entries = (await readKnownHosts(paths)).filter((e) => e.node.name !== name);
      state.spec.nodes = state.spec.nodes.filter((n) => n.name !== name);
      await writeState(paths, state);
      await writeClientFiles(paths, entries);
      const d = nodeDir(paths, name);
      if (existsSync(d)) await rm(d, { recursive: true, force: true });
      log(`${name} removed from the lab`);
    }
  });
}
