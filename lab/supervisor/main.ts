// The lab's host-side supervisor (started in the background by `lab up`): runs every node's
// container, emulates their power (Wake-on-LAN over UDP 9/7 and raw EtherType 0x0842 frames,
// BMCs through ipmi_sim), injects faults, and answers a small HTTP control API on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { memoryBytes } from '../cgroups.js';
import { inSubnet, type LabNode } from '../lab-config.js';
import { LAB_DIR, labPaths, nodeDir } from '../paths.js';
import { ipmiEmu, ipmiLanConf } from '../render.js';
import { readState, writeRuntime, type LabRuntime } from '../state.js';
import { parseMagicPacket } from '../wol/magic-packet.js';
import { NodeMachine, type Faults } from './node-machine.js';

interface LabEvent {
  seq: number;
  at: string;
  node: string;
  kind: string;
  detail?: Record<string, unknown>;
}

const paths = labPaths();
const maybeState = readState(paths);
if (!maybeState) {
  console.error(`no lab state in ${paths.stateFile}: start the lab with \`npm run lab -- up\``);
  process.exit(1);
}
const state = maybeState;
const events: LabEvent[] = [];
let seq = 0;
const log = (line: string): void => console.log(`${new Date().toISOString()} ${line}`);

function event(node: string, kind: string, detail?: Record<string, unknown>): void {
  const e: LabEvent = { seq: ++seq, at: new Date().toISOString(), node, kind, ...(detail ? { detail } : {}) };
  events.push(e);
  if (events.length > 5000) events.shift();
  log(`${node} ${kind}${detail ? ' ' + JSON.stringify(detail) : ''}`);
}

const runtime: LabRuntime = { supervisorPid: process.pid, controlPort: 0, processes: {} };
let runtimeWrite: Promise<void> = Promise.resolve();
function saveRuntime(): void {
  const snapshot = structuredClone(runtime);
  runtimeWrite = runtimeWrite.then(() => writeRuntime(paths, snapshot)).catch((e: unknown) => log(`cannot write runtime: ${String(e)}`));
}
function recordProcess(key: string, pid: number | undefined, comm: string, role: string): void {
  if (pid === undefined) delete runtime.processes[key];
  else runtime.processes[key] = { pid, comm, role };
  saveRuntime();
}

const machines = new Map<string, NodeMachine>();
const byMac = new Map<string, NodeMachine>();
function addMachine(node: LabNode): NodeMachine {
  const m = new NodeMachine(node, {
    rootfs: state.rootfs,
    bridge: state.bridge,
    nodeDir: nodeDir(paths, node.name),
    logFile: join(paths.logsDir, `${node.name}.console.log`),
    bootDelayMs: state.bootDelayMs,
    event,
    recordPid: (name, pid) => recordProcess(`nspawn:${name}`, pid, 'systemd-nspawn', `container ${name}`),
    now: () => Date.now(),
  });
  machines.set(node.name, m);
  byMac.set(node.mac, m);
  return m;
}
for (const node of state.spec.nodes) addMachine(node);

/** What a NIC does with a frame: wake only when the magic packet carries its own MAC. */
function onMagicPayload(payload: Buffer, via: string, from: string): void {
  const verdict = parseMagicPacket(payload);
  if (!verdict.ok) return event('-', 'magic-packet-invalid', { via, from, reason: verdict.reason });
  const m = byMac.get(verdict.mac);
  if (!m) return event('-', 'magic-packet-ignored', { via, from, mac: verdict.mac, reason: 'no lab node has this MAC' });
  if (m.faults.dropMagicPackets > 0) {
    m.faults.dropMagicPackets--;
    return event(m.node.name, 'magic-packet-dropped', { via, from, left: m.faults.dropMagicPackets });
  }
  const r = m.wake('wol');
  event(m.node.name, r.woke ? 'magic-packet-wake' : 'magic-packet-no-effect', { via, from, reason: r.reason });
}

// UDP magic packets (ports 9 and 7) to the lab's broadcast address, from the host itself or from
// any node on the bridge. Bound to that address only, so other programs keep ports 9/7 elsewhere.
const udpSockets: dgram.Socket[] = [];
for (const port of [9, 7]) {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (msg, rinfo) => {
    if (rinfo.address !== '127.0.0.1' && !inSubnet(rinfo.address, state.spec.subnet)) return;
    onMagicPayload(msg, `udp:${port}`, rinfo.address);
  });
  s.on('error', (e) => log(`udp ${port}: ${e.message}`));
  s.bind(port, state.spec.broadcast);
  udpSockets.push(s);
}

// Raw EtherType 0x0842 frames on the bridge, through the AF_PACKET helper (Node has no raw sockets).
let rawListener: ChildProcess | undefined;
function startRawListener(): void {
  const child = spawn('/usr/bin/python3', [join(LAB_DIR, 'wol', 'raw-frames.py'), 'listen', state.bridge], { stdio: ['ignore', 'pipe', 'inherit'] });
  rawListener = child;
  recordProcess('raw-frames', child.pid, 'python3', 'raw 0x0842 listener');
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const f = JSON.parse(line) as { payload?: string; src?: string; ready?: string };
      if (f.ready) return event('-', 'raw-listener-ready', { iface: f.ready });
      if (f.payload) onMagicPayload(Buffer.from(f.payload, 'hex'), 'ether:0x0842', f.src ?? '?');
    } catch {
      log(`raw listener: ${line}`);
    }
  });
  child.on('exit', (code) => {
    recordProcess('raw-frames', undefined, '', '');
    if (!shuttingDown) {
      log(`raw listener exited (${code}); restarting`);
      setTimeout(startRawListener, 1000);
    }
  });
}

// BMCs: one ipmi_sim per node that has one, on its own lab address, its chassis power tied to the node.
const bmcProcs: ChildProcess[] = [];
async function startBmcs(): Promise<void> {
  const control = join(LAB_DIR, 'bmc', 'chassis-control.sh');
  for (const b of state.bmcs) {
    const dir = join(paths.stateDir, 'bmc', b.node);
    mkdirSync(join(dir, 'state'), { recursive: true });
    const lan = ipmiLanConf({ node: b.node, address: b.address, port: b.port, user: b.username, password: b.password, chassisControl: `${control} http://127.0.0.1:${runtime.controlPort}/nodes/${b.node}/chassis` });
    await writeFile(join(dir, 'lan.conf'), lan, { mode: 0o600 });
    await writeFile(join(dir, 'bmc.emu'), ipmiEmu());
    await chmod(control, 0o755);
    const out = openSync(join(paths.logsDir, `${b.node}.bmc.log`), 'a');
    const child = spawn('/usr/bin/ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n'], { stdio: ['ignore', out, out] });
    closeSync(out);
    bmcProcs.push(child);
    recordProcess(`ipmi_sim:${b.node}`, child.pid, 'ipmi_sim', `BMC of ${b.node} at ${b.address}:${b.port}`);
    event(b.node, 'bmc-started', { address: b.address, port: b.port, pid: child.pid });
  }
}

function nodeStatus(m: NodeMachine): Record<string, unknown> {
  return {
    name: m.node.name,
    address: m.node.address,
    mac: m.node.mac,
    power: m.power,
    since: new Date(m.since).toISOString(),
    boots: m.boots,
    pid: m.pid ?? null,
    memoryBytes: m.power === 'on' ? (memoryBytes(m.node.name) ?? null) : null,
    faults: { ...m.faults, refuseSshUntil: m.faults.refuseSshUntil > Date.now() ? new Date(m.faults.refuseSshUntil).toISOString() : null },
    bmc: state.bmcs.find((b) => b.node === m.node.name)?.address ?? null,
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function parseFaults(raw: unknown): Partial<Faults> & { refuseSshForMs?: number } {
  const o = (raw ?? {}) as Record<string, unknown>;
  const out: Partial<Faults> & { refuseSshForMs?: number } = {};
  const num = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${k} must be a number >= 0`);
    return v;
  };
  const drop = num('dropMagicPackets');
  if (drop !== undefined) out.dropMagicPackets = Math.floor(drop);
  const slow = num('slowBootMs');
  if (slow !== undefined) out.slowBootMs = slow;
  const refuse = num('refuseSshForMs');
  if (refuse !== undefined) out.refuseSshForMs = refuse;
  if (o.neverWake !== undefined) {
    if (typeof o.neverWake !== 'boolean') throw new Error('neverWake must be true or false');
    out.neverWake = o.neverWake;
  }
  return out;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const send = (code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n');
  };
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && url.pathname === '/status') return send(200, { supervisorPid: process.pid, nodes: [...machines.values()].map(nodeStatus) });
  if (req.method === 'GET' && url.pathname === '/events') {
    const since = Number(url.searchParams.get('since') ?? 0);
    return send(200, { last: seq, events: events.filter((e) => e.seq > since) });
  }
  if (req.method === 'POST' && url.pathname === '/shutdown') {
    send(200, { stopping: true });
    void shutdown(0);
    return;
  }
  // A host added to the running lab (`lab add -f FILE` wrote its folder and state first).
  if (req.method === 'POST' && url.pathname === '/nodes') {
    const { name } = JSON.parse((await readBody(req)) || '{}') as { name?: string };
    const node = readState(paths)?.spec.nodes.find((n) => n.name === name);
    if (!node) return send(404, { error: `no node ${name ?? '(none)'} in the lab state` });
    if (machines.has(node.name)) return send(409, { error: `${node.name} is already a lab host` });
    const m = addMachine(node);
    event(node.name, 'host-added', { address: node.address, mac: node.mac });
    await m.start();
    return send(201, nodeStatus(m));
  }
  if (req.method === 'DELETE' && parts[0] === 'nodes' && parts[1] && parts.length === 2) {
    const m = machines.get(parts[1]);
    if (!m) return send(404, { error: `no lab node ${parts[1]}` });
    await m.stop();
    machines.delete(m.node.name);
    byMac.delete(m.node.mac);
    event(m.node.name, 'host-removed');
    return send(200, { removed: m.node.name });
  }
  if (parts[0] === 'nodes' && parts[1]) {
    const m = machines.get(parts[1]);
    if (!m) return send(404, { error: `no lab node ${parts[1]}` });
    const what = parts[2];
    if (what === undefined && req.method === 'GET') return send(200, nodeStatus(m));
    if (what === 'power' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}') as { action?: string };
      if (body.action === 'on') return send(200, m.wake('ipmi'));
      if (body.action === 'off') return send(200, m.powerCut());
      return send(400, { error: 'action must be "on" or "off"' });
    }
    // ipmi_sim's chassis_control script: power is 1 while the host runs or is booting.
    if (what === 'chassis' && req.method === 'GET') return send(200, m.power === 'on' || m.power === 'booting' ? '1' : '0');
    if (what === 'chassis' && req.method === 'POST') {
      const v = (await readBody(req)).trim();
      event(m.node.name, 'bmc-chassis-power', { value: v });
      if (v === '1') m.wake('ipmi');
      else if (v === '0') m.powerCut();
      else return send(400, 'value must be 0 or 1');
      return send(200, 'ok');
    }
    if (what === 'faults' && req.method === 'POST') {
      try {
        m.setFaults(parseFaults(JSON.parse((await readBody(req)) || '{}')));
      } catch (e) {
        return send(400, { error: (e as Error).message });
      }
      return send(200, nodeStatus(m));
    }
    if (what === 'faults' && req.method === 'DELETE') {
      m.clearFaults();
      return send(200, nodeStatus(m));
    }
  }
  send(404, { error: `no route ${req.method ?? ''} ${url.pathname}` });
}

let shuttingDown = false;
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log('stopping the lab');
  await Promise.all([...machines.values()].map((m) => m.stop()));
  for (const p of bmcProcs) p.kill('SIGTERM');
  rawListener?.kill('SIGTERM');
  for (const s of udpSockets) s.close();
  server.close();
  await new Promise((r) => setTimeout(r, 300));
  runtime.processes = {};
  saveRuntime();
  await runtimeWrite;
  log('stopped');
  process.exit(code);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e: unknown) => {
    res.writeHead(500);
    res.end(String(e));
  });
});
process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));

server.listen(0, '127.0.0.1', () => {
  void (async () => {
    const addr = server.address();
    runtime.controlPort = typeof addr === 'object' && addr ? addr.port : 0;
    saveRuntime();
    log(`control API on http://127.0.0.1:${runtime.controlPort}`);
    startRawListener();
    await startBmcs();
    await Promise.all([...machines.values()].map((m) => m.start()));
    saveRuntime();
  })().catch((e: unknown) => {
    log(`start failed: ${String(e)}`);
    void shutdown(1);
  });
});
