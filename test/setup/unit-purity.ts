// The `unit` project's promise, enforced: a unit test is pure. It starts no process and opens no
// socket (TCP, UDP or a listening server, loopback included), so it runs in seconds anywhere and
// cannot depend on a tool or a daemon. A test that needs one belongs in `test/local/` (real tools
// on loopback) or `test/lab/` (root). Loaded as a setup file of the `unit` project only.
//
// How: the entry points are replaced in this worker before any test file is imported.
// - processes: ChildProcess.prototype.spawn (behind spawn, exec, execFile and fork) and the three
//   synchronous functions (spawnSync, execSync, execFileSync), republished to `import { ... }`
//   bindings with syncBuiltinESMExports();
// - sockets: net.Socket.prototype.connect (behind net.connect, http, https, fetch, ssh2),
//   net.Server.prototype.listen (behind http.createServer().listen) and dgram's bind and send.
// Each attempt throws where it happens and is also recorded, so a test whose code catches the
// error still fails (afterEach). Gaps: a worker thread, or a native addon opening its own
// descriptors, is not seen; nothing in this repository does either.
import childProcess, { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { afterEach, expect } from 'vitest';

const attempts: string[] = [];

function refuse(what: string): never {
  const message = `a unit test must be pure, but it ${what}: move the test file to test/local/ (real tools on loopback) or test/lab/ (root)`;
  attempts.push(message);
  throw new Error(message);
}

const describeCommand = (file: unknown, args?: unknown): string => [file, ...(Array.isArray(args) ? args : [])].map(String).join(' ').slice(0, 120);

// Not in Node's public types: spawn, exec, execFile and fork all end in ChildProcess#spawn(options).
(ChildProcess.prototype as unknown as { spawn: (options: { file?: string; args?: string[] }) => void }).spawn = function spawnRefused(options) {
  refuse(`started a process (${describeCommand(options?.args?.join(' ') ?? options?.file)})`);
};
const cp = childProcess as unknown as Record<string, unknown>;
cp['spawnSync'] = (file: unknown, args?: unknown) => refuse(`started a process (${describeCommand(file, args)})`);
cp['execFileSync'] = (file: unknown, args?: unknown) => refuse(`started a process (${describeCommand(file, args)})`);
cp['execSync'] = (command: unknown) => refuse(`started a process (${describeCommand(command)})`);

net.Socket.prototype.connect = function connectRefused(...args: unknown[]) {
  const [first] = args;
  const where = typeof first === 'object' && first !== null ? JSON.stringify({ host: (first as { host?: string }).host, port: (first as { port?: number }).port, path: (first as { path?: string }).path }) : String(first);
  refuse(`opened a socket (connect ${where})`);
} as typeof net.Socket.prototype.connect;
net.Server.prototype.listen = function listenRefused() {
  refuse('opened a listening socket');
} as typeof net.Server.prototype.listen;
dgram.Socket.prototype.bind = function bindRefused() {
  refuse('opened a UDP socket (bind)');
} as typeof dgram.Socket.prototype.bind;
dgram.Socket.prototype.send = function sendRefused() {
  refuse('sent a UDP datagram');
} as typeof dgram.Socket.prototype.send;

syncBuiltinESMExports();

/** What was refused since the last call, cleared (the guard's own tests, test/unit/meta/). */
export function takeRefusals(): string[] {
  return attempts.splice(0);
}

afterEach(() => {
  expect(takeRefusals(), 'processes and sockets a unit test tried to use').toEqual([]);
});
