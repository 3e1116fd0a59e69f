// Reachability: does anything accept a TCP connection on host:port within the timeout.
import net from 'node:net';

export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<boolean>;

/** A connected socket, or undefined when nothing accepted within the timeout. */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.setTimeout(0);
      if (!ok) socket.destroy();
      resolve(ok ? socket : undefined);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const tcpProbe: TcpProbe = async (host, port, timeoutMs) => {
  const socket = await tcpConnect(host, port, timeoutMs);
  socket?.destroy();
  return socket !== undefined;
};
