/**
 * Leases and fencing (issue 12): when a coordinator's lease has lapsed, the epoch a new leader
 * takes, and the check agents make on every command. Pure, with no imports, so the agent's
 * small entry point (`@consort/core/agent`) can carry it.
 */

/** A lease as a follower saw it: renewed at `renewedAtMs` on the follower's own clock. */
export interface LeaseSeen {
  readonly epoch: number;
  readonly leaseMs: number;
  /** When the last renewal arrived, on the observer's clock (never the holder's: clocks differ). */
  readonly renewedAtMs: number;
  /** The holder said it is gone (its last will, or a clean stop). */
  readonly released?: boolean;
}

/** Whether the lease has lapsed at `nowMs`: released, or no renewal for longer than the lease. */
export function leaseLapsed(lease: LeaseSeen | undefined, nowMs: number): boolean {
  if (!lease) return true;
  if (lease.released) return true;
  return nowMs - lease.renewedAtMs > lease.leaseMs;
}

/**
 * The epoch a coordinator taking over uses: above every epoch it has seen on the lease channel
 * and on the journal it resumes from, so its commands fence off every earlier leader's.
 */
export function takeoverEpoch(seenEpoch: number, journalNextEpoch: number): number {
  return Math.max(seenEpoch + 1, journalNextEpoch);
}

/** An agent's verdict on a coordinator command carrying fencing epoch `epoch`. */
export type FenceVerdict =
  | { readonly accept: true; readonly highest: number }
  | { readonly accept: false; readonly highest: number; readonly reason: string };

/**
 * Fencing: a command from an epoch below the highest one the agent has seen comes from a leader
 * that has been replaced (paused, partitioned, or its queue flushed late) and is refused. Equal
 * or higher is accepted, and a higher one becomes the highest.
 */
export function fenceEpoch(highest: number, epoch: number | undefined): FenceVerdict {
  const e = epoch ?? 0;
  if (e < highest)
    return {
      accept: false,
      highest,
      reason: `stale epoch: command from coordinator epoch ${e}, epoch ${highest} is in force`,
    };
  return { accept: true, highest: e };
}
