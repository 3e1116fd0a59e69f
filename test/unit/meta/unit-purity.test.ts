// The unit project's purity guard (test/setup/unit-purity.ts) can fail: each way of starting a
// process or opening a socket is refused, with the file's new home named, and recorded so a test
// whose code swallows the error still fails (the guard's afterEach; cleared here by takeRefusals).
import childProcess, { exec, execFile, execFileSync, execSync, fork, spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { takeRefusals } from '../../setup/unit-purity.js';

const REFUSED = /a unit test must be pure, but it .*: move the test file to test\/local\/ \(real tools on loopback\) or test\/lab\/ \(root\)/;

describe('unit purity guard', () => {
  afterEach(() => {
    // Each case below tried exactly one thing, and it was recorded.
    expect(takeRefusals()).toHaveLength(1);
  });

  it.each([
    ['spawn', () => spawn('true')],
    ['exec', () => exec('true')],
    ['execFile', () => execFile('true')],
    ['fork', () => fork('/dev/null')],
    ['spawnSync', () => spawnSync('true')],
    ['execSync', () => execSync('true')],
    ['execFileSync', () => execFileSync('true')],
    ['child_process.spawnSync (default import)', () => childProcess.spawnSync('true')],
  ])('refuses %s', (_name, start) => {
    expect(start).toThrow(REFUSED);
  });

  it('names the command', () => {
    expect(() => execFileSync('kubectl', ['version'])).toThrow(/started a process \(kubectl version\)/);
  });

  it.each([
    ['net.connect to loopback', () => net.connect(1, '127.0.0.1')],
    ['an HTTP request', () => http.get('http://127.0.0.1:1/')],
    ['a listening server', () => http.createServer().listen(0, '127.0.0.1')],
    ['a UDP bind', () => dgram.createSocket('udp4').bind(0)],
    ['a UDP send', () => dgram.createSocket('udp4').send(Buffer.from('x'), 9, '127.0.0.1')],
  ])('refuses %s', (_name, open) => {
    expect(open).toThrow(REFUSED);
  });

  it('fetch is refused too (its socket connect is), and the rejection cannot hide it', async () => {
    // (Port 1 would be refused by fetch itself, as a bad port, before any socket.)
    await expect(fetch('http://127.0.0.1:65534/')).rejects.toThrow();
  });
});
