import type { Ticks } from "../model/types.js";

/**
 * What one agent tells a neighbour about a child of a task they share (CSC §3.1.3): its profile
 * for the current schedule (`p`, `v`), its potential profile (`pp`, `pv`), its expected busy
 * ticks, and what has already happened to it.
 */
export interface ChildReport {
  readonly id: string;
  readonly p: number;
  readonly v: number;
  readonly pp: number;
  readonly pv: number;
  /** Expected ticks of resource time the current schedule still spends on it. */
  readonly busy: number;
  /** Start tick, once a method (or the earliest method of a task) started. */
  readonly s?: Ticks;
  /**
   * A method scheduled and not started: the earliest its owner plans to start it (its planned
   * start, or the expected end of the work ahead of it where that runs past it). Without it,
   * the others could only count it from its window's release, and would expect what it enables
   * too early.
   */
  readonly e?: Ticks;
  /** Tick at which it accrued positive quality, once it has. */
  readonly acc?: Ticks;
  /** True once its final quality is known (then `p` is 0 or 1). */
  readonly final?: boolean;
}

/** The bodies agents and the deliberative scheduler exchange during a C-TAEMS run. */
export type PeerBody =
  /** Profiles of the children of `node` that the sender sees (to the agents that share `node`). */
  | { readonly type: "report"; readonly node: string; readonly children: readonly ChildReport[] }
  /** Execution controller: an enables source accrued quality at `at`, or can no longer. */
  | {
      readonly type: "enabler";
      readonly node: string;
      readonly at?: Ticks;
      readonly failed?: true;
      /** Its current probability of accruing in time, while it has not. */
      readonly p?: number;
      /** Its potential probability (if everything that could still be done for it were). */
      readonly pp?: number;
      /** When it is expected to accrue (mean durations of what is planned), while it has not. */
      readonly eta?: Ticks;
    }
  /**
   * Execution controller: ready to start its method of synchronized group `group` since `at`;
   * waiting for the others past `by` would cost that method part of its chance of ending in time.
   */
  | { readonly type: "ready"; readonly group: string; readonly at: Ticks; readonly by?: Ticks }
  /** Execution controller: leaves a synchronized group (its method was dropped). */
  | { readonly type: "withdraw"; readonly group: string }
  /** To the deliberative scheduler: `node`'s scheduled probability fell below its threshold. */
  | {
      readonly type: "escalate";
      readonly node: string;
      readonly p: number;
      readonly threshold: number;
      /** Profiles of the node's children, as the sender knows them. */
      readonly children: readonly ChildReport[];
    }
  /** From the deliberative scheduler: run `activity` inside a start window, at high priority. */
  | {
      readonly type: "install";
      readonly lock: number;
      readonly activity: string;
      readonly earliest: Ticks;
      readonly latest: Ticks;
      /**
       * A proactive install the scheduler expects to raise the root's expected quality clearly
       * (`VOUCH_SHARE`), through what its owner cannot see (what it enables, what others do):
       * the owner takes it unless it cannot, even if its own view prices it lower.
       */
      readonly vouched?: boolean;
      /**
       * Scheduled methods of the owner the install replaces (a proactive swap): dropped from its
       * schedule when it takes the install, given back if the install is withdrawn.
       */
      readonly replaces?: readonly string[];
    }
  /**
   * From the deliberative scheduler: an install of transaction `lock` is withdrawn (another
   * owner refused its part of an all-or-nothing option), or a scheduled method is dropped (it
   * earns nothing once a swap of that transaction was taken).
   */
  | { readonly type: "cancel"; readonly lock: number; readonly activity: string }
  /**
   * Answer to an install: whether the window was taken, and for which method (a transaction may
   * give one owner several; an answer without it stands for all of them).
   */
  | {
      readonly type: "installed";
      readonly lock: number;
      readonly ok: boolean;
      readonly activity?: string;
    }
  /**
   * Hierarchical clustering: a cell leader's one message to the coordinator for a tick, carrying
   * what its cell's members escalated and answered since its last one.
   */
  | {
      readonly type: "summary";
      readonly escalations: readonly {
        readonly node: string;
        readonly p: number;
        readonly threshold: number;
        readonly children: readonly ChildReport[];
      }[];
      readonly installed: readonly {
        readonly agent: string;
        readonly lock: number;
        readonly ok: boolean;
        readonly activity?: string;
      }[];
    };

export interface PeerMessage {
  readonly from: string;
  readonly to: string;
  /** Per-sender sequence number: messages are handled in (from, seq) order. */
  readonly seq: number;
  readonly body: PeerBody;
}

/** Orders an inbox deterministically, whatever order the transport delivered it in. */
export function sortInbox(messages: PeerMessage[]): PeerMessage[] {
  return messages.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.seq - b.seq));
}
