// The maintenance hold seam: deploy (including day-two upgrades and node changes) and etcd
// restore take a hold on the nodes they need awake before they change anything, and release it
// when they finish, also when they fail. Issue 13 section 4 gives the power manager a real hold
// (`vmstation power hold`/`release`: every managed node woken and none put to sleep, with a
// reason and an expiry, so a crashed run cannot hold forever); that implementation plugs in here
// as another HoldProvider. Until then the provider only wakes the nodes first, as deploy always did.
import type { WakeOutcome } from './wake.js';

export interface HoldRequest {
  /** Shown to people (power status, Events): e.g. "vmstation deploy: upgrade to 1.35.4". */
  reason: string;
  nodes: readonly string[];
  /** How long the hold may last before it expires on its own (a crashed run). */
  maxMs: number;
}

export interface MaintenanceHold {
  /** What taking it did, one line per node that was not simply awake. */
  notes: string[];
  release(): Promise<void>;
}

export interface HoldProvider {
  take(request: HoldRequest): Promise<MaintenanceHold>;
}

/**
 * Today's provider: wakes every node of the request (Wake-on-LAN, IPMI, or the power manager's
 * wake request, through `ensureAwake`); nothing keeps the power manager from putting an idle
 * worker back to sleep meanwhile, but every step wakes the hosts it touches again.
 */
export function wakeFirstHolds(ensureAwake: (node: string) => Promise<WakeOutcome>): HoldProvider {
  return {
    async take(request) {
      const woken = await Promise.all(request.nodes.map((n) => ensureAwake(n)));
      return { notes: woken.filter((w) => !w.wasAwake).map((w) => `${w.node}: ${w.message}`), release: () => Promise.resolve() };
    },
  };
}

/** Runs `fn` inside a hold, releasing it whatever happens. */
export async function withHold<T>(provider: HoldProvider | undefined, request: HoldRequest, fn: (hold: MaintenanceHold | undefined) => Promise<T>): Promise<T> {
  if (!provider) return fn(undefined);
  const hold = await provider.take(request);
  try {
    return await fn(hold);
  } finally {
    await hold.release();
  }
}

/** The power manager's hold as deploy sees it (src/power/api/client.ts: PowerClient). */
export interface PowerHolds {
  hold(hold: { id: string; reason: string; until: number }): Promise<void>;
  release(id: string | undefined): Promise<void>;
}

/**
 * The power manager's maintenance hold (`vmstation power hold`): recorded on every managed Node
 * with an expiry of `maxMs`, so the controller wakes them and puts none to sleep until the run
 * releases it (or, after a crash, until it expires). The nodes are still woken first as before, so
 * the run does not start before they answer. Without a power manager (`holds` undefined, or the
 * cluster not answering: a first deploy) it is today's wake-first behaviour, with a note saying so.
 */
export function powerManagerHolds(holds: PowerHolds | undefined, wakeFirst: HoldProvider, opts: { id: string; now: () => number }): HoldProvider {
  return {
    async take(request) {
      const notes: string[] = [];
      let held = false;
      if (holds) {
        try {
          await holds.hold({ id: opts.id, reason: request.reason, until: opts.now() + request.maxMs });
          held = true;
          notes.push(`maintenance hold ${opts.id} taken: no node is put to sleep until the run ends (at most until ${new Date(opts.now() + request.maxMs).toISOString()})`);
        } catch (err) {
          notes.push(`no maintenance hold (the power manager's Nodes did not answer: ${err instanceof Error ? err.message : String(err)}); the nodes are only woken first`);
        }
      }
      const woken = await wakeFirst.take(request);
      return {
        notes: [...notes, ...woken.notes],
        release: async () => {
          await woken.release();
          // A release that fails leaves the hold to expire at its time; the run's own outcome stands.
          if (held) await holds?.release(opts.id).catch(() => undefined);
        },
      };
    },
  };
}
