// Sessions through the wake gateway: a connection forwarded to an app is a session of that app
// until it closes, and every byte through it (either way) is activity. The controller reads the
// counts (open now, last byte) and feeds them to decide(), so a paused stream keeps its node awake.
import type net from 'node:net';

/** Connections forwarded to an app now, and the last byte through any of them either way. */
export interface AppSessions {
  open: number;
  lastByteAt?: number | undefined;
}

export class SessionCounter {
  private readonly perApp = new Map<string, AppSessions>();

  constructor(private readonly now: () => number) {}

  /** Counts a forwarded connection until the client side closes (the gateway closes both together). */
  track(app: string, client: net.Socket, upstream: net.Socket): void {
    let s = this.perApp.get(app);
    if (!s) this.perApp.set(app, (s = { open: 0 }));
    const session = s;
    session.open += 1;
    session.lastByteAt = this.now();
    const touch = () => (session.lastByteAt = this.now());
    client.on('data', touch);
    upstream.on('data', touch);
    client.once('close', () => (session.open -= 1));
  }

  snapshot(apps: readonly string[]): Record<string, AppSessions> {
    const out: Record<string, AppSessions> = {};
    for (const app of apps) out[app] = { ...(this.perApp.get(app) ?? { open: 0 }) };
    return out;
  }
}
