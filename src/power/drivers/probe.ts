// Reachability: does anything accept a TCP connection on host:port within the timeout.
import net from 'node:net';

export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<boolean>;

export const tcpProbe: TcpProbe = (host, port, timeoutMs) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
