import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import type {
  ActivityNode,
  Assignment,
  ContractCall,
  StartConstraint,
  Ticks,
} from "@consort/core/agent";
import type { AnyMessage, Body } from "@consort/protocol";
import { readJournalFile, replaceJournalFile } from "@consort/protocol/journal";

export { JournalError } from "@consort/protocol/journal";

/** A `csc-peer` message a C-TAEMS agent received (core's `PeerMessage`, and its tick). */
export interface JournalledPeerMessage {
  readonly from: string;
  readonly seq: number;
  /** The tick at which it was sent. */
  readonly tick: number;
  readonly body: Body<"csc-peer">["body"];
}

/**
 * One line of an agent's journal. The journal is the agent's memory across crashes: every
 * commitment is appended (and, by default, flushed to disk) before it is acknowledged or acted
 * on, and a restarted agent rebuilds its state by replaying it.
 */
export type JournalRecord =
  /** A command accepted from the coordinator (its id makes a redelivery a no-op). */
  | { readonly t: "command"; readonly id: string; readonly message: AnyMessage }
  /** The local schedule the agent committed to, for a schedule version. */
  | { readonly t: "schedule"; readonly version: number; readonly slots: Body<"install">["slots"] }
  | {
      readonly t: "start";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly durationTicks: Ticks;
    }
  | {
      readonly t: "complete";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly quality: number;
    }
  | {
      readonly t: "fail";
      readonly activityId: string;
      readonly atTicks: Ticks;
      readonly reason: string;
    }
  /** A message written to the outbox before it is published. */
  | {
      readonly t: "out";
      readonly topic: string;
      readonly message: AnyMessage;
      readonly retain?: boolean;
    }
  /** The next sequence number of the agent's messages (kept when a journal is compacted). */
  | { readonly t: "seq"; readonly next: number }
  /** The broker acknowledged (PUBACK) the outbox message with this sequence number. */
  | { readonly t: "acked"; readonly seq: number }
  /** A session epoch began (every connection of the agent increments it). */
  | {
      readonly t: "epoch";
      readonly epoch: number;
      /** The seq of this session's last will (no later message reuses it). */
      readonly willSeq?: number;
    }
  /**
   * CAMPS: everything a replay of the records before it would rebuild, in one record (written by
   * a compaction, which replaces those records by it). Later records apply on top of it.
   */
  | CampsSnapshot
  /** C-TAEMS: the setup of a run, as received, before the agent acts on it. */
  | {
      readonly t: "csc-setup";
      readonly trial: number;
      readonly strategy: Body<"csc-setup">["strategy"];
      readonly setup: Body<"csc-setup">["setup"];
    }
  /** C-TAEMS: a tick received from the clock master (before it is acknowledged). */
  | ({ readonly t: "csc-tick" } & Body<"csc-tick">)
  /** C-TAEMS: a message received from a peer or the coordinator (before it is acknowledged). */
  | ({ readonly t: "csc-in"; readonly trial: number } & JournalledPeerMessage)
  /**
   * C-TAEMS: a step about to be taken: the tick received last, on these received messages (by
   * sender and seq, in the order given). With the records above it is the step's whole input:
   * replaying them through a fresh agent (a deterministic step function) rebuilds it.
   */
  | {
      readonly t: "csc-step";
      readonly trial: number;
      readonly tick: number;
      readonly inbox: readonly (readonly [from: string, seq: number])[];
    };

/** A CAMPS agent's state as of a compaction (see `SchedulerAgent`). */
export interface CampsSnapshot {
  readonly t: "snapshot";
  /** The session epoch. */
  readonly epoch: number;
  /** The highest coordinator epoch accepted, and the one whose versions `version` counts. */
  readonly coordinatorEpoch: number;
  readonly versionEpoch: number;
  readonly version: number;
  /** The next seq, and the point-to-point messages sent so far (the clock master's count). */
  readonly seq: number;
  readonly sent: number;
  /** Ids of the commands accepted (redeliveries are no-ops; their number is the received count). */
  readonly commands: readonly string[];
  readonly view?: Body<"assign">["view"];
  readonly assignments: readonly Assignment[];
  readonly constraints: readonly StartConstraint[];
  readonly slots: Body<"install">["slots"];
  /** Whether `slots` is a schedule in force (an install came after the last assignment). */
  readonly inForce?: boolean;
  readonly started: readonly (readonly [string, { atTicks: Ticks; durationTicks: Ticks }])[];
  readonly finished: readonly (readonly [
    string,
    { atTicks: Ticks; quality: number; startTicks?: Ticks },
  ])[];
  readonly remoteDone: readonly string[];
  readonly failures: readonly (readonly [string, number])[];
  readonly calls: readonly (readonly [string, { call: ContractCall; node: ActivityNode }])[];
  /** Outbox messages not yet acknowledged by the broker (sent again on start). */
  readonly outbox: readonly Extract<JournalRecord, { t: "out" }>[];
}

export interface JournalOptions {
  /** Flush each record to the disk before returning (survives power loss, not only crashes). */
  readonly sync: boolean;
  /** When to compact, once the owner gives a snapshot source (default `DEFAULT_COMPACTION`). */
  readonly compaction?: CompactionLimits;
}

/**
 * When a journal with a snapshot source (`compactWith`) is compacted: once this many records, or
 * bytes, have been appended since it was last compacted (or, the first time, since it began).
 */
export interface CompactionLimits {
  readonly records: number;
  readonly bytes: number;
}

/** About a day of a busy agent's records, and a few seconds' replay. */
export const DEFAULT_COMPACTION: CompactionLimits = { records: 10_000, bytes: 16 * 1024 * 1024 };

/**
 * An append-only file of JSON lines. Appends are synchronous on purpose: the caller may not act on
 * a commitment before it is on disk. A torn last line (a crash in the middle of a write) is
 * ignored on replay; a damaged line elsewhere is an error.
 */
export class Journal {
  private fd: number;

  /** Records and bytes appended since the last compaction (or held when opened). */
  private sinceRecords: number;
  private sinceBytes: number;
  private compaction:
    | {
        readonly snapshot: () => readonly JournalRecord[];
        readonly limits: CompactionLimits;
        scheduled?: NodeJS.Immediate | undefined;
      }
    | undefined;
  /** Compactions done since the journal was opened. */
  compactions = 0;

  private constructor(
    readonly path: string,
    private readonly options: JournalOptions,
    /** What the journal held when it was opened (appends are not added: memory stays flat). */
    readonly records: readonly JournalRecord[],
    bytes: number,
  ) {
    this.fd = openSync(path, "a");
    this.sinceRecords = records.length;
    this.sinceBytes = bytes;
  }

  /** Opens (creating if needed) and replays a journal. */
  static open(path: string, options: JournalOptions = { sync: true }): Journal {
    const read = readJournalFile<JournalRecord>(path);
    return new Journal(path, options, read.records, read.bytes);
  }

  append(record: JournalRecord): void {
    this.sinceBytes += writeSync(this.fd, `${JSON.stringify(record)}\n`);
    this.sinceRecords++;
    if (this.options.sync) fdatasyncSync(this.fd);
    this.compactIfDue();
  }

  /**
   * Keeps the journal bounded: past the limits, it is rewritten as what `snapshot` returns (the
   * owner's state, which must replay to the same state as every record so far). That happens in
   * a later turn of the event loop, never in the middle of the owner's handling of an event: by
   * then every record appended has been acted on, so the snapshot holds what they did.
   */
  compactWith(
    snapshot: () => readonly JournalRecord[],
    limits: CompactionLimits = this.options.compaction ?? DEFAULT_COMPACTION,
  ): void {
    this.compaction = { snapshot, limits };
    this.compactIfDue();
  }

  private compactIfDue(): void {
    const c = this.compaction;
    if (!c || c.scheduled) return;
    if (this.sinceRecords < c.limits.records && this.sinceBytes < c.limits.bytes) return;
    c.scheduled = setImmediate(() => {
      c.scheduled = undefined;
      if (this.compaction !== c) return;
      this.rewrite(c.snapshot());
      this.compactions++;
    });
  }

  /**
   * Replaces the whole journal by `records` (what a replay still needs), atomically: they are
   * written to a new file, flushed, and renamed over the old one, so a crash leaves one or the
   * other, never a mix.
   */
  rewrite(records: readonly JournalRecord[]): void {
    replaceJournalFile(this.path, records, this.options.sync);
    closeSync(this.fd);
    this.fd = openSync(this.path, "a");
    // What was just written is not counted: a snapshot larger than the limit would otherwise be
    // rewritten again on the next append.
    this.sinceRecords = 0;
    this.sinceBytes = 0;
  }

  close(): void {
    if (this.compaction?.scheduled) clearImmediate(this.compaction.scheduled);
    this.compaction = undefined;
    closeSync(this.fd);
  }
}
