// A client connection the wake gateway holds while its app does not answer yet: what the client
// sends is kept (to be forwarded first once the app answers), but never more than the wait buffer.
// Past it the gateway stops reading and TCP backpressure holds the client. A client that hangs up
// after sending more than the buffer cannot be noticed while the gateway does not read: TCP
// delivers its FIN only after the bytes before it. So after a grace period the gateway reads on
// and drops what it reads: the end of the stream means the client has gone; a client still there
// (nothing more arrives for a while, or it keeps sending for too long) can no longer be forwarded
// intact and is cut (outcome "overflow"). "A while" is measured from the last byte, not from the
// start, so a slow read (a busy machine, many clients at once) is not taken for a client that stayed.
import type net from 'node:net';

export interface HoldLimits {
  /** Bytes kept per connection while its app does not answer. */
  waitBufferBytes: number;
  /** How long a connection that filled its buffer is held paused before the gateway reads on. */
  pausedGraceMs: number;
  /** While reading on: a client that sends nothing for this long and has not hung up is still there. */
  drainIdleMs: number;
  /** While reading on: a client still sending after this long is cut (bounds the work per client). */
  drainMaxMs: number;
}

/** How holding ended without the app answering: the client left, or it was cut after overflowing. */
export type HoldEnd = 'client-gone' | 'overflow';

export class HeldClient {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private state: 'holding' | 'paused' | 'draining' | 'released' | 'ended' = 'holding';
  private timer: NodeJS.Timeout | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private resolveEnded!: (end: HoldEnd) => void;
  private readonly waiters = new Set<() => void>();
  /** Resolves when the client left or was cut while held (never once released). */
  readonly ended = new Promise<HoldEnd>((resolve) => (this.resolveEnded = resolve));
  /** Whether the client has sent anything. */
  sentBytes = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly limits: HoldLimits,
    private readonly onFirstBytes: () => void,
  ) {
    socket.on('data', this.onData);
    socket.once('close', this.onClose);
  }

  /** The connection still waits and can be forwarded intact. */
  get forwardable(): boolean {
    return this.state === 'holding' || this.state === 'paused';
  }

  get done(): boolean {
    return this.state === 'ended';
  }

  /** Bytes held now (tests and the memory bound). */
  get heldBytes(): number {
    return this.bytes;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.state === 'draining') {
      this.drainTimer?.refresh(); // read only to reach the end of the stream; still sending
      return;
    }
    if (!this.sentBytes) {
      this.sentBytes = true;
      this.onFirstBytes();
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= this.limits.waitBufferBytes && this.state === 'holding') {
      this.state = 'paused';
      this.socket.pause();
      this.timer = setTimeout(this.drain, this.limits.pausedGraceMs);
    }
  };

  private readonly drain = (): void => {
    if (this.state !== 'paused') return;
    this.state = 'draining';
    this.chunks = [];
    this.bytes = 0;
    this.timer = setTimeout(() => this.finish('overflow'), this.limits.drainMaxMs);
    this.drainTimer = setTimeout(() => this.finish('overflow'), this.limits.drainIdleMs);
    this.socket.resume();
  };

  private readonly onClose = (): void => this.finish('client-gone');

  private finish(end: HoldEnd): void {
    if (this.state === 'ended' || this.state === 'released') return;
    this.state = 'ended';
    this.detach();
    this.chunks = [];
    this.bytes = 0;
    // A cut client sees a reset at once rather than a normal end it could take for a reply.
    if (end === 'overflow') this.socket.resetAndDestroy();
    this.resolveEnded(end);
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves after `ms`, or at once when holding ends (the client left or was cut). */
  waitOrEnd(ms: number): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  /** Cuts a client that can no longer be forwarded intact (the app answered while draining). */
  cut(): void {
    this.finish('overflow');
  }

  /** Stops holding: returns what the client sent so far, to be written first to the app. */
  release(): Buffer[] {
    if (!this.forwardable) throw new Error(`release() of a held connection that is ${this.state}`);
    this.state = 'released';
    this.detach();
    const chunks = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return chunks;
  }

  private detach(): void {
    clearTimeout(this.timer);
    clearTimeout(this.drainTimer);
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
  }
}
