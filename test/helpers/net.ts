// Loopback helpers for tests that run real servers: a free TCP port, and an sshd_config for a
// test sshd (key-only root login, its own pid file, quiet log).
import { writeFileSync } from 'node:fs';
import net from 'node:net';

/** A port nothing listens on now: 0 lets the kernel pick; with `range`, a random free one inside it. */
export async function freePort(host = '127.0.0.1', range?: [number, number]): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const want = range ? range[0] + Math.floor(Math.random() * (range[1] - range[0])) : 0;
    const port = await new Promise<number | undefined>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(undefined));
      s.listen(want, host, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (port !== undefined) return port;
  }
  throw new Error(`no free port on ${host}${range ? ` in ${range.join('-')}` : ''}`);
}

export function writeSshdConfig(file: string, o: { port: number; address: string; hostKey: string; authorizedKeys: string; pidFile: string }): void {
  writeFileSync(
    file,
    [
      `Port ${o.port}`,
      `ListenAddress ${o.address}`,
      `HostKey ${o.hostKey}`,
      `AuthorizedKeysFile ${o.authorizedKeys}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${o.pidFile}`,
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
}
